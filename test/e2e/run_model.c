/* Links a Sinter-emitted object (model.o + its header) and runs it on raw
 * tensors: run_model IN.bin DIM... -- OUT.bin. The input is int64 token ids
 * of the given shape; the first output is written raw. Used by the
 * end-to-end test to check the .o path through a real C program. */
#include MODEL_HEADER

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  if (argc < 5 || strcmp(argv[argc - 2], "--")) {
    fprintf(stderr, "usage: %s IN.bin DIM... -- OUT.bin\n", argv[0]);
    return 2;
  }
  const sinter_model *m = MODEL_GETTER();
  sinter_tensor in = {0}, out = {0};
  in.dtype = SINTER_INT64;
  in.rank = argc - 4;
  int64_t n = 1;
  for (int i = 0; i < in.rank; ++i)
    n *= in.shape[i] = atoll(argv[2 + i]);
  int64_t *ids = malloc(sizeof(int64_t) * (n ? n : 1));
  FILE *f = fopen(argv[1], "rb");
  if (!f || fread(ids, sizeof(int64_t), n, f) != (size_t)n) {
    fprintf(stderr, "cannot read %s\n", argv[1]);
    return 2;
  }
  fclose(f);
  in.data = ids;
  sinter_error err;
  int status = m->run(&in, 1, &out, 1, &err);
  if (status != SINTER_OK) {
    fprintf(stderr, "run failed (%d): %s\n", status, err.message);
    return 1;
  }
  int64_t numel = 1;
  for (int i = 0; i < out.rank; ++i)
    numel *= out.shape[i];
  f = fopen(argv[argc - 1], "wb");
  fwrite(out.data, sinter_dtype_size(out.dtype), numel, f);
  fclose(f);
  m->free_output(out.data);
  free(ids);
  return 0;
}
