/* The runtime's GEMM kernel on its own, one thread, packed weights: best
 * GFLOP/s of 20 runs of C[128, N] += A[128, K] · B[K, N]. Build against the
 * runtime sources for one variant, e.g. AVX-512:
 *   clang-22 -O3 -mavx512f -mavx2 -mfma -fno-strict-aliasing -DSINTER_VL=16 -DSINTER_MR=8 \
 *     -Ilib/Runtime bench/sgemm_kernel.c lib/Runtime/sinter_sgemm.c lib/Runtime/sinter_threads.c \
 *     -o build/sgemm_kernel -lpthread && build/sgemm_kernel 768 2304
 * (the packed layout needs N rounded up to the panel width; B here is
 * simply large enough). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "sinter_internal.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: sgemm_kernel K N\n");
    return 2;
  }
  int64_t m = 128, k = atoll(argv[1]), n = atoll(argv[2]);
  int64_t panel = __sinter_gemm_panel_width, padded = (n + panel - 1) / panel * panel;
  float *a = aligned_alloc(64, m * k * 4), *b = aligned_alloc(64, k * padded * 4),
        *c = aligned_alloc(64, m * n * 4);
  if (k < 1 || n < 1 || !a || !b || !c)
    return 2;
  for (int64_t i = 0; i < m * k; i++)
    a[i] = 1e-3f * (float)(i % 7);
  for (int64_t i = 0; i < k * padded; i++)
    b[i] = 1e-3f * (float)(i % 5);
  __sinter_set_num_threads(1);
  double best = 1e9;
  for (int r = 0; r < 20; r++) {
    double t = now();
    __sinter_sgemm_packed(1, m, n, k, (int64_t)(intptr_t)a, 0, k, 1, (int64_t)(intptr_t)b,
                          (int64_t)(intptr_t)c, 0, n, 1);
    t = now() - t;
    best = t < best ? t : best;
  }
  printf("tile %d rows x %d columns, 128x%lldx%lld: %.1f GFLOP/s (1 thread)\n", SINTER_MR,
         (int)panel, (long long)k, (long long)n, 2.0 * m * k * n / best / 1e9);
  return 0;
}
