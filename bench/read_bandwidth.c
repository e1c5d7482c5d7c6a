/* The machine's read bandwidth for a buffer of a given size: T threads each
 * sum their slice (integer adds, which the compiler vectorizes), every
 * repetition a sweep of the whole buffer between two barriers, after one
 * untimed sweep. The threads live across repetitions, as a model's pool
 * does across decode steps (creating them for every sweep measured
 * 13–17 GB/s where decode streamed 40). Prints the median GB/s over the
 * reps. Usage: read_bandwidth BYTES THREADS REPS */
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
  int first; /* thread 0 times the sweeps */
} slice;

static pthread_barrier_t barrier;
static int reps;
static double *seconds;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static uint64_t sum_words(const uint64_t *p, size_t n) {
  uint64_t acc[8] = {0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j)
      acc[j] += p[i + j];
  for (; i < n; ++i)
    acc[0] += p[i];
  return acc[0] + acc[1] + acc[2] + acc[3] + acc[4] + acc[5] + acc[6] + acc[7];
}

/* A thread's sweeps of its slice, the first untimed. */
static void *sweep(void *arg) {
  slice *s = arg;
  for (int r = -1; r < reps; ++r) {
    pthread_barrier_wait(&barrier);
    double t0 = now();
    s->sum += sum_words(s->p, s->n);
    pthread_barrier_wait(&barrier);
    if (s->first && r >= 0)
      seconds[r] = now() - t0;
  }
  return NULL;
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
  int threads = atoi(argv[2]);
  reps = atoi(argv[3]);
  if (bytes < 64 || threads < 1 || threads > 256 || reps < 1) {
    fprintf(stderr, "read_bandwidth: bad arguments\n");
    return 2;
  }
  size_t words = bytes / 8;
  uint64_t *buf = aligned_alloc(64, words * 8);
  seconds = malloc(sizeof(double) * reps);
  if (!buf || !seconds) {
    fprintf(stderr, "read_bandwidth: out of memory\n");
    return 1;
  }
  for (size_t i = 0; i < words; ++i)
    buf[i] = i;
  pthread_barrier_init(&barrier, NULL, threads);
  pthread_t tid[256];
  slice s[256];
  for (int t = 0; t < threads; ++t) {
    size_t lo = words * t / threads, hi = words * (t + 1) / threads;
    s[t] = (slice){buf + lo, hi - lo, 0, t == 0};
    if (t > 0)
      pthread_create(&tid[t], NULL, sweep, &s[t]);
  }
  sweep(&s[0]);
  uint64_t check = s[0].sum;
  for (int t = 1; t < threads; ++t) {
    pthread_join(tid[t], NULL);
    check += s[t].sum;
  }
  double *gbs = malloc(sizeof(double) * reps);
  for (int r = 0; r < reps; ++r)
    gbs[r] = words * 8 / seconds[r] / 1e9;
  qsort(gbs, reps, sizeof(double), cmp);
  printf("{\"bytes\": %zu, \"threads\": %d, \"median_gb_s\": %.3f, \"max_gb_s\": %.3f, \"check\": %llu}\n",
         words * 8, threads, gbs[reps / 2], gbs[reps - 1], (unsigned long long)(check & 1));
  pthread_barrier_destroy(&barrier);
  free(gbs);
  free(seconds);
  free(buf);
  return 0;
}
