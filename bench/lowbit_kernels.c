/* The BinaryMoS and GSE-INT kernels on their own, in each of their builds
 * (generic C, AVX2 alone, this machine's widest): best ms of 7 rounds of 50
 * calls of one k→n layer over `rows` rows, random operands in the layouts
 * the compiler passes (BinaryMoS: tiles of 16 outputs with fp32
 * activations, rows with int8; GSE: w8 byte panels, exponents as a 5-bit
 * format gives them). Build after `make build`, which makes the library:
 *   clang-22 -O2 -Ilib/Runtime bench/lowbit_kernels.c build/lib/Runtime/libSinterRuntimeKernels.a \
 *     -lm -lpthread -o build/lowbit_kernels && build/lowbit_kernels 4096 4096 1 1
 * (arguments: k n rows threads). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "sinter_internal.h"

typedef void (*mos_fn)(intptr_t, intptr_t, int64_t, int64_t, int64_t, int64_t, intptr_t, intptr_t, intptr_t,
                       intptr_t, intptr_t, int64_t, int64_t, int64_t);
typedef void (*gse_fn)(intptr_t, intptr_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, intptr_t,
                       intptr_t, int64_t);
#define MOS_DECL(name)                                                                                           \
  void name(intptr_t, intptr_t, int64_t, int64_t, int64_t, int64_t, intptr_t, intptr_t, intptr_t, intptr_t,      \
            intptr_t, int64_t, int64_t, int64_t);
#define GSE_DECL(name)                                                                                           \
  void name(intptr_t, intptr_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, intptr_t, intptr_t, \
            int64_t);
MOS_DECL(__sinter_mos_linear)
MOS_DECL(__sinter_mos_linear_avx2)
MOS_DECL(__sinter_mos_linear_host)
GSE_DECL(__sinter_gse_linear)
GSE_DECL(__sinter_gse_linear_avx2)
GSE_DECL(__sinter_gse_linear_host)

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static void *filled(size_t bytes) {
  unsigned char *p = malloc(bytes);
  for (size_t i = 0; i < bytes; ++i)
    p[i] = (unsigned char)rand();
  return p;
}

static float *floats(size_t count, float lo, float hi) {
  float *p = malloc(count * sizeof(float));
  for (size_t i = 0; i < count; ++i)
    p[i] = lo + (hi - lo) * (float)rand() / (float)RAND_MAX;
  return p;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s k n rows threads\n", argv[0]);
    return 2;
  }
  int64_t k = atoll(argv[1]), n = atoll(argv[2]), rows = atoll(argv[3]), e = 4, groups = (k + 31) / 32;
  __sinter_set_num_threads(atoi(argv[4]));
  float *x = floats(rows * k, -1, 1), *y = malloc(rows * n * sizeof(float));
  float *s_in = floats(e * k, 0.5f, 1.5f), *s_out = floats(e * n, 0.5f, 1.5f), *router = floats(k * e, -0.01f, 0.01f);
  void *bits = filled(((n + 15) / 16 * 16) * ((k + 7) / 8)); /* enough for rows and tiles */
  void *panels = filled(((n + 15) / 16 * 16) * groups * 32);
  signed char *exps = malloc(((n + 15) / 16 * 16) * groups);
  for (int64_t i = 0; i < ((n + 15) / 16 * 16) * groups; ++i)
    exps[i] = (signed char)-(rand() % 8);
  const char *names[] = {"generic", "avx2", "host"};
  mos_fn mos[] = {__sinter_mos_linear, __sinter_mos_linear_avx2, __sinter_mos_linear_host};
  gse_fn gse[] = {__sinter_gse_linear, __sinter_gse_linear_avx2, __sinter_gse_linear_host};
  for (int b = 0; b < 3; ++b)
    for (int kernel = 0; kernel < 3; ++kernel) {
      double best = 1e30;
      for (int round = 0; round < 8; ++round) { /* round 0 warms up */
        double t = now();
        for (int it = 0; it < 50; ++it) {
          if (kernel == 2)
            gse[b]((intptr_t)x, (intptr_t)y, rows, k, n, 32, 8, -16, 15, (intptr_t)panels, (intptr_t)exps, 0);
          else
            mos[b]((intptr_t)x, (intptr_t)y, rows, k, n, e, (intptr_t)bits, (intptr_t)s_in, (intptr_t)s_out,
                   (intptr_t)router, 0, kernel == 0 ? 32 : 8, kernel == 0 ? 1 : 0, 32);
        }
        t = (now() - t) / 50;
        if (round > 0 && t < best)
          best = t;
      }
      const char *what[] = {"BinaryMoS fp32 act", "BinaryMoS int8 act", "GSE w8a8"};
      printf("%-8s %-19s %ldx%ld, %ld rows: %8.4f ms\n", names[b], what[kernel], (long)k, (long)n, (long)rows,
             best * 1e3);
    }
  return 0;
}
