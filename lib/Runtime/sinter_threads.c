/* A small fork-join thread pool for the kernels of one emitted object.
 *
 * Workers start on the first parallel call (one fewer than the cores this
 * process may run on), spin for a while after each job (2 ms, or
 * SINTER_SPIN_US microseconds) so that the kernels of one forward pass, with
 * the serial work between them, do not pay a wake-up each, then sleep on a
 * futex. Waking a sleeping worker costs up to a quarter of a millisecond in a
 * VM, and a forward pass has dozens of parallel kernels. The caller runs
 * chunks too and, once none are left, waits only for the workers that
 * joined the job: a worker that the OS has not scheduled yet (another
 * process busy on its core) joins a later job instead of delaying this
 * one. Each worker has its own wake word, so a job wakes only
 * the workers it uses. One job runs at a time; a parallel_for that finds the
 * pool busy (another thread's run, or a nested call) runs serially, which is
 * always correct. When the object is unloaded (dlclose) or the process
 * exits, a destructor stops and joins the workers: they must not be left
 * running in code that is about to be unmapped. The object needs only
 * pthread_create, pthread_join and syscall from libc. */
#include "sinter_internal.h"

typedef unsigned long pthread_t;
int pthread_create(pthread_t *thread, const void *attr, void *(*start)(void *), void *arg);
int pthread_join(pthread_t thread, void **result);
long syscall(long number, ...);
int sched_getaffinity(int pid, size_t size, void *mask);
char *getenv(const char *name);
struct sinter_timespec {
  long tv_sec, tv_nsec;
};
int clock_gettime(int clock, struct sinter_timespec *t);

#if defined(__x86_64__)
#define SYS_FUTEX 202
#else
#define SYS_FUTEX 98 /* aarch64 */
#endif
#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129
#define MAX_WORKERS 255
#define CLOCK_MONOTONIC 1
#define DEFAULT_SPIN_US 2000
#define PAUSES_PER_CLOCK_READ 64

#define JOB_CLOSED 0x80000000u
#define JOB_ACTIVE 0x7fffffffu
#define LOAD(p) __atomic_load_n(p, __ATOMIC_ACQUIRE)
#define STORE(p, v) __atomic_store_n(p, v, __ATOMIC_RELEASE)

typedef struct worker_slot {
  uint32_t go;       /* futex word: bumped to hand the worker a job */
  uint32_t sleeping; /* set while the worker may be in futex_wait */
  char pad[56];      /* one cache line per worker */
} worker_slot;

static struct {
  int32_t state; /* 0 not started, 1 starting, 2 ready, 3 shut down */
  int32_t stop;  /* set by the destructor: workers return when woken */
  int32_t workers;
  int32_t busy;
  int32_t cap; /* 0: default */
  int32_t default_threads;
  int64_t spin_ns; /* how long an idle worker spins before it sleeps */
  /* The current job; written before the workers' go words are bumped. */
  sinter_task_fn fn;
  void *ctx;
  int64_t n, grain;
  int64_t next;
  /* The job's state, one word so that joining and closing cannot cross:
   * epoch << 32 | JOB_CLOSED | the number of workers in it. */
  uint64_t job;
  uint32_t epoch;
  worker_slot slot[MAX_WORKERS];
  pthread_t thread[MAX_WORKERS];
} pool;

static void futex_wait(uint32_t *addr, uint32_t expected) {
  syscall(SYS_FUTEX, addr, FUTEX_WAIT_PRIVATE, expected, (void *)0, (void *)0, 0);
}

static void futex_wake(uint32_t *addr) {
  syscall(SYS_FUTEX, addr, FUTEX_WAKE_PRIVATE, 1, (void *)0, (void *)0, 0);
}

static int64_t now_ns(void) {
  struct sinter_timespec t = {0, 0};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void run_chunks(void) {
  for (;;) {
    int64_t begin = __atomic_fetch_add(&pool.next, pool.grain, __ATOMIC_RELAXED);
    if (begin >= pool.n)
      return;
    int64_t end = begin + pool.grain < pool.n ? begin + pool.grain : pool.n;
    pool.fn(pool.ctx, begin, end);
  }
}

/* Takes part in the open job, if any: a worker that wakes after the caller
 * has run out of chunks and closed the job stays out, so a descheduled
 * worker (a busy sibling core) never holds up the caller's return. */
static void join_job(void) {
  uint64_t job = LOAD(&pool.job);
  while (!(job & JOB_CLOSED)) {
    if (__atomic_compare_exchange_n(&pool.job, &job, job + 1, 1, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
      run_chunks();
      __atomic_fetch_sub(&pool.job, 1, __ATOMIC_RELEASE);
      return;
    }
  }
}

static void *worker_main(void *arg) {
  worker_slot *s = (worker_slot *)arg;
  uint32_t seen = 0;
  for (;;) {
    int64_t spin_until = now_ns() + pool.spin_ns;
    for (uint32_t spin = 1; LOAD(&s->go) == seen; ++spin) {
      if (spin % PAUSES_PER_CLOCK_READ != 0 || now_ns() < spin_until) {
        SINTER_CPU_RELAX();
        continue;
      }
      /* Announce the sleep before re-checking `go` (both sequentially
       * consistent), so a job posted meanwhile is seen or woken. */
      __atomic_store_n(&s->sleeping, 1, __ATOMIC_SEQ_CST);
      if (__atomic_load_n(&s->go, __ATOMIC_SEQ_CST) == seen)
        futex_wait(&s->go, seen);
      __atomic_store_n(&s->sleeping, 0, __ATOMIC_SEQ_CST);
    }
    if (LOAD(&pool.stop))
      return 0;
    seen = LOAD(&s->go);
    join_job();
  }
  return 0;
}

/* A decimal count below 10^8, or -1 (unset, empty or not a number). */
static int32_t parse_count(const char *s) {
  int32_t v = 0;
  if (!s || !*s)
    return -1;
  for (; *s >= '0' && *s <= '9' && v < 10000000; ++s)
    v = v * 10 + (*s - '0');
  return *s == 0 ? v : -1;
}

/* The cores this process may run on (glibc's sched_getaffinity returns 0
 * and fills the mask). */
static int32_t online_cores(void) {
  uint64_t mask[16] = {0};
  if (sched_getaffinity(0, sizeof(mask), mask) != 0)
    return 1;
  int32_t count = 0;
  for (int i = 0; i < 16; ++i)
    count += __builtin_popcountll(mask[i]);
  return count > 0 ? count : 1;
}

/* Starts the workers once; callers that lose the race run serially. */
static int pool_ready(void) {
  int32_t state = LOAD(&pool.state);
  if (state == 2)
    return 1;
  int32_t expected = 0;
  if (state != 0 ||
      !__atomic_compare_exchange_n(&pool.state, &expected, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
    return 0;
  int32_t env = parse_count(getenv("SINTER_NUM_THREADS"));
  int32_t spin_us = parse_count(getenv("SINTER_SPIN_US"));
  pool.spin_ns = (int64_t)(spin_us >= 0 ? spin_us : DEFAULT_SPIN_US) * 1000;
  int32_t cores = online_cores();
  pool.default_threads = env > 0 ? env : cores;
  int32_t want = (env > cores ? env : cores) - 1;
  if (want > MAX_WORKERS)
    want = MAX_WORKERS;
  pool.job = JOB_CLOSED; /* before any worker can look at it */
  int32_t started = 0;
  for (; started < want; ++started) {
    if (pthread_create(&pool.thread[started], 0, worker_main, &pool.slot[started]) != 0)
      break;
  }
  pool.workers = started;
  STORE(&pool.state, 2);
  return 1;
}

int32_t __sinter_set_num_threads(int32_t n) {
  STORE(&pool.cap, n > 0 ? n : 0);
  return __sinter_available_threads();
}

int32_t __sinter_available_threads(void) {
  if (!pool_ready())
    return 1;
  int32_t cap = LOAD(&pool.cap);
  int32_t t = cap > 0 ? cap : pool.default_threads;
  return t < pool.workers + 1 ? t : pool.workers + 1;
}

void __sinter_parallel_for(int64_t n, int64_t grain, sinter_task_fn fn, void *ctx) {
  if (n <= 0)
    return;
  if (grain < 1)
    grain = 1;
  int64_t chunks = (n + grain - 1) / grain;
  int32_t threads = chunks > 1 ? __sinter_available_threads() : 1;
  int32_t expected = 0;
  if (threads <= 1 ||
      !__atomic_compare_exchange_n(&pool.busy, &expected, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
    fn(ctx, 0, n);
    return;
  }
  int32_t helpers = (int64_t)threads - 1 < chunks - 1 ? threads - 1 : (int32_t)(chunks - 1);
  pool.fn = fn;
  pool.ctx = ctx;
  pool.n = n;
  pool.grain = grain;
  pool.next = 0;
  STORE(&pool.job, (uint64_t)++pool.epoch << 32); /* open, nobody in it yet */
  for (int32_t i = 0; i < helpers; ++i) {
    worker_slot *s = &pool.slot[i];
    __atomic_fetch_add(&s->go, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&s->sleeping, __ATOMIC_SEQ_CST))
      futex_wake(&s->go);
  }
  run_chunks();
  /* Close the job, then wait only for the workers that joined it. */
  __atomic_fetch_or(&pool.job, JOB_CLOSED, __ATOMIC_ACQ_REL);
  while ((LOAD(&pool.job) & JOB_ACTIVE) != 0)
    SINTER_CPU_RELAX();
  STORE(&pool.busy, 0);
}

/* Runs at dlclose and at exit. Taking `busy` first waits out a job in
 * flight on another thread and leaves later calls to run serially, so no
 * worker is ever waited for again. */
__attribute__((destructor)) static void pool_shutdown(void) {
  if (LOAD(&pool.state) != 2)
    return;
  int32_t expected = 0;
  while (!__atomic_compare_exchange_n(&pool.busy, &expected, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
    expected = 0;
    SINTER_CPU_RELAX();
  }
  __atomic_store_n(&pool.stop, 1, __ATOMIC_SEQ_CST);
  for (int32_t i = 0; i < pool.workers; ++i) {
    __atomic_fetch_add(&pool.slot[i].go, 1, __ATOMIC_SEQ_CST);
    futex_wake(&pool.slot[i].go);
  }
  for (int32_t i = 0; i < pool.workers; ++i)
    pthread_join(pool.thread[i], 0);
  pool.workers = 0;
  STORE(&pool.state, 3);
}
