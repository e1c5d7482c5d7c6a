/* The spiking linear kernel (__sinter_spike_linear, sinter_spike.c) with
 * each of its product paths forced: best ms of 7 rounds of 20 calls of a
 * k→n layer over T steps of `rows` rows, currents drawn so that a chosen
 * fraction of neuron-steps fire. "event" adds the weight rows of the
 * spikes; "sgemm" multiplies the spikes as floats (the SGEMM built as the
 * object's AVX-512 variant is). The kernel switches at a 20% rate, where
 * this harness puts the crossover. Build after `make build`:
 *   for p in event:2.0f sgemm:0.0f; do clang-22 -O3 -march=native -c -Ilib/Runtime -DDENSE_RATE=${p#*:} \
 *     -D__sinter_spike_linear=spike_${p%%:*} -D__sinter_spike_values=spike_values_${p%%:*} \
 *     lib/Runtime/sinter_spike.c -o build/spike_${p%%:*}.o; done
 *   clang-22 -O3 -march=native -DSINTER_VL=16 -DSINTER_MR=8 -c -Ilib/Runtime -Iinclude lib/Runtime/sinter_sgemm.c \
 *     -o build/spike_sgemm_host.o
 *   clang-22 -O2 -Ilib/Runtime bench/spike_kernel.c build/spike_event.o build/spike_sgemm.o build/spike_sgemm_host.o \
 *     build/lib/Runtime/libSinterRuntimeKernels.a -lm -lpthread -o build/spike_kernel && build/spike_kernel 768 192 128 8 1
 * (arguments: k n rows steps threads). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "sinter_internal.h"

typedef void (*spike_fn)(intptr_t, intptr_t, int64_t, int64_t, int64_t, intptr_t, int64_t, intptr_t, int64_t,
                         int64_t, intptr_t);
void spike_event(intptr_t, intptr_t, int64_t, int64_t, int64_t, intptr_t, int64_t, intptr_t, int64_t, int64_t,
                 intptr_t);
void spike_sgemm(intptr_t, intptr_t, int64_t, int64_t, int64_t, intptr_t, int64_t, intptr_t, int64_t, int64_t,
                 intptr_t);
void spike_values_event(intptr_t, intptr_t, int64_t, int64_t, int64_t, intptr_t, int64_t, intptr_t, int64_t);

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static float uniform(void) { return (float)rand() / (float)RAND_MAX; }

static double best_ms(spike_fn fn, const float *x, float *y, int64_t rows, int64_t steps, int64_t k, int64_t n,
                      const float *theta, const float *v0, const float *w) {
  double best = 1e30;
  for (int round = 0; round < 7; ++round) {
    double t0 = now();
    for (int i = 0; i < 20; ++i)
      fn((intptr_t)x, (intptr_t)y, rows * steps, steps, k, (intptr_t)theta, 1, (intptr_t)v0, 0, n, (intptr_t)w);
    double ms = (now() - t0) * 1e3 / 20;
    best = ms < best ? ms : best;
  }
  return best;
}

int main(int argc, char **argv) {
  int64_t k = argc > 1 ? atoll(argv[1]) : 768, n = argc > 2 ? atoll(argv[2]) : 192;
  int64_t rows = argc > 3 ? atoll(argv[3]) : 128, steps = argc > 4 ? atoll(argv[4]) : 8;
  __sinter_set_num_threads(argc > 5 ? atoi(argv[5]) : 1);
  float *x = malloc(sizeof(float) * rows * steps * k), *y = malloc(sizeof(float) * rows * steps * n);
  float *values = malloc(sizeof(float) * rows * steps * k);
  float *w = malloc(sizeof(float) * k * n), *theta = malloc(sizeof(float) * k), *v0 = malloc(sizeof(float) * k);
  for (int64_t i = 0; i < k * n; ++i)
    w[i] = uniform() - 0.5f;
  for (int64_t j = 0; j < k; ++j)
    theta[j] = 1.0f, v0[j] = uniform(); /* spread, so that low rates are not all 0 */
  printf("k=%lld n=%lld rows=%lld steps=%lld\nrate (measured)  event_ms  sgemm_ms  sgemm/event\n", (long long)k, (long long)n,
         (long long)rows, (long long)steps);
  const float rates[] = {0.01f, 0.03f, 0.05f, 0.1f, 0.2f, 0.3f, 0.5f};
  for (size_t r = 0; r < sizeof rates / sizeof *rates; ++r) {
    /* Currents around rate · θ fire about that fraction of the steps (a
     * constant z fires z/θ of them); the rate printed is counted. */
    for (int64_t i = 0; i < rows * steps * k; ++i)
      x[i] = 2.0f * rates[r] * uniform();
    spike_values_event((intptr_t)x, (intptr_t)values, rows * steps, steps, k, (intptr_t)theta, 1, (intptr_t)v0, 0);
    int64_t fired = 0;
    for (int64_t i = 0; i < rows * steps * k; ++i)
      fired += values[i] != 0.0f;
    double e = best_ms(spike_event, x, y, rows, steps, k, n, theta, v0, w);
    double s = best_ms(spike_sgemm, x, y, rows, steps, k, n, theta, v0, w);
    printf("%.3f  %8.3f  %8.3f  %6.2f\n", (double)fired / (rows * steps * k), e, s, s / e);
  }
  return 0;
}
