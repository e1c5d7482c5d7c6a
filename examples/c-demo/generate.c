/* A C program that links a Sinter-compiled language model (model.o and the
 * generated model.h) and generates bytes greedily from a prompt, printing
 * each step's time. The model maps input_ids int64[batch, seq] to logits
 * float32[batch, seq, 256]; bytes are tokens. */
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  const char *prompt = argc > 1 ? argv[1] : "In the beginning";
  int steps = argc > 2 ? atoi(argv[2]) : 24;
  int context = argc > 3 ? atoi(argv[3]) : 64;
  const sinter_model *m = MODEL_GETTER();
  printf("model '%s': %d input(s), %d output(s)\n", m->name, m->num_inputs, m->num_outputs);
  for (int i = 0; i < m->num_inputs; ++i) {
    printf("  input  %s: dtype %d [", m->inputs[i].name, m->inputs[i].dtype);
    for (int d = 0; d < m->inputs[i].rank; ++d)
      printf(d ? ", %s" : "%s", m->inputs[i].dims[d] < 0 ? m->inputs[i].dim_names[d] : "static");
    printf("]\n");
  }

  int64_t ids[4096];
  int n = (int)strlen(prompt);
  if (n < 1 || n + steps > context || context > 4096) {
    fprintf(stderr, "prompt plus steps must fit the context (%d bytes)\n", context);
    return 2;
  }
  for (int i = 0; i < n; ++i)
    ids[i] = (unsigned char)prompt[i];
  printf("prompt: \"%s\"\n", prompt);
  double total = 0;
  for (int s = 0; s < steps; ++s) {
    int64_t in_shape[2] = {1, n}, out_shape[3];
    float *logits = NULL; /* let the model allocate; freed below */
    sinter_error err;
    double t0 = now_ms();
    int status = MODEL_RUN(ids, in_shape, &logits, 0, out_shape, &err);
    double dt = now_ms() - t0;
    if (status != SINTER_OK) {
      fprintf(stderr, "run failed (%d): %s\n", status, err.message);
      return 1;
    }
    const float *last = logits + (size_t)(n - 1) * 256;
    int best = 0;
    for (int v = 1; v < 256; ++v)
      if (last[v] > last[best])
        best = v;
    printf("step %2d: seq %2d -> byte %3d '%c'  logit %8.4f  %7.3f ms\n", s, n, best,
           best >= 32 && best < 127 ? best : '?', last[best], dt);
    total += dt;
    m->free_output(logits);
    ids[n++] = best;
  }
  printf("generated: \"");
  for (int i = 0; i < n; ++i)
    putchar(ids[i] >= 32 && ids[i] < 127 ? (int)ids[i] : '?');
  printf("\"\n%d forward passes, %.3f ms total, %.3f ms mean\n", steps, total, total / steps);
  return 0;
}
