/* The machine's read bandwidth for a buffer of a given size: T threads each
 * sum their slice (integer adds, which the compiler vectorizes), after one
 * untimed pass so the pages exist. Prints the median GB/s over the reps.
 * Usage: read_bandwidth BYTES THREADS REPS */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct slice {
  const uint64_t *p;
  size_t n;
  uint64_t sum;
} slice;

static void *sum_slice(void *arg) {
  slice *s = arg;
  uint64_t acc[8] = {0};
  size_t i = 0;
  for (; i + 8 <= s->n; i += 8)
    for (int j = 0; j < 8; ++j)
      acc[j] += s->p[i + j];
  for (; i < s->n; ++i)
    acc[0] += s->p[i];
  s->sum = acc[0] + acc[1] + acc[2] + acc[3] + acc[4] + acc[5] + acc[6] + acc[7];
  return NULL;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: read_bandwidth BYTES THREADS REPS\n");
    return 2;
  }
  size_t bytes = strtoull(argv[1], NULL, 10);
  int threads = atoi(argv[2]), reps = atoi(argv[3]);
  if (bytes < 64 || threads < 1 || threads > 256 || reps < 1) {
    fprintf(stderr, "read_bandwidth: bad arguments\n");
    return 2;
  }
  size_t words = bytes / 8;
  uint64_t *buf = aligned_alloc(64, words * 8);
  if (!buf) {
    fprintf(stderr, "read_bandwidth: out of memory\n");
    return 1;
  }
  for (size_t i = 0; i < words; ++i)
    buf[i] = i;
  double *gbs = malloc(sizeof(double) * reps);
  uint64_t check = 0;
  for (int r = -1; r < reps; ++r) {
    pthread_t tid[256];
    slice s[256];
    double t0 = now();
    for (int t = 0; t < threads; ++t) {
      size_t lo = words * t / threads, hi = words * (t + 1) / threads;
      s[t] = (slice){buf + lo, hi - lo, 0};
      pthread_create(&tid[t], NULL, sum_slice, &s[t]);
    }
    for (int t = 0; t < threads; ++t) {
      pthread_join(tid[t], NULL);
      check += s[t].sum;
    }
    double dt = now() - t0;
    if (r >= 0)
      gbs[r] = words * 8 / dt / 1e9;
  }
  qsort(gbs, reps, sizeof(double), cmp);
  printf("{\"bytes\": %zu, \"threads\": %d, \"median_gb_s\": %.3f, \"max_gb_s\": %.3f, \"check\": %llu}\n",
         words * 8, threads, gbs[reps / 2], gbs[reps - 1], (unsigned long long)(check & 1));
  free(gbs);
  free(buf);
  return 0;
}
