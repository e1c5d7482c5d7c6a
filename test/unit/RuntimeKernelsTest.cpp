// The runtime's GEMM kernel and thread pool, built for the host
// (SinterRuntimeKernels), against a double-precision reference.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <cstdlib>
#include <sched.h>
#include <random>
#include <thread>
#include <vector>

extern "C" {
#include "sinter_internal.h"
}

namespace {

/// One strided batch of matrices in a buffer, with its reference product.
struct Case {
  int64_t batch, m, n, k;
  bool transA, transB, broadcastB;
};

struct Operand {
  std::vector<float> data;
  int64_t bs, rs, cs;
};

Operand makeOperand(int64_t batch, int64_t rows, int64_t cols, bool trans, bool broadcast,
                    std::mt19937 &rng) {
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  Operand o;
  int64_t stored = broadcast ? 1 : batch;
  o.data.resize(stored * rows * cols);
  for (float &v : o.data)
    v = dist(rng);
  o.bs = broadcast ? 0 : rows * cols;
  o.rs = trans ? 1 : cols;
  o.cs = trans ? rows : 1;
  return o;
}

/// Runs the kernel on `c` (pre-filled) and returns the max error against
/// the reference, relative to the largest reference magnitude.
double runCase(const Case &t, std::vector<float> &c, uint32_t seed) {
  std::mt19937 rng(seed);
  Operand a = makeOperand(t.batch, t.m, t.k, t.transA, false, rng);
  Operand b = makeOperand(t.batch, t.k, t.n, t.transB, t.broadcastB, rng);
  c.assign(t.batch * t.m * t.n, 0.5f); // accumulates into what is there
  std::vector<double> ref(c.begin(), c.end());
  for (int64_t bi = 0; bi < t.batch; ++bi)
    for (int64_t i = 0; i < t.m; ++i)
      for (int64_t j = 0; j < t.n; ++j) {
        double s = 0;
        for (int64_t p = 0; p < t.k; ++p)
          s += (double)a.data[bi * a.bs + i * a.rs + p * a.cs] * b.data[bi * b.bs + p * b.rs + j * b.cs];
        ref[(bi * t.m + i) * t.n + j] += s;
      }
  __sinter_sgemm(t.batch, t.m, t.n, t.k, (int64_t)(intptr_t)a.data.data(), a.bs, a.rs, a.cs,
                 (int64_t)(intptr_t)b.data.data(), b.bs, b.rs, b.cs, (int64_t)(intptr_t)c.data(),
                 t.m * t.n, t.n, 1);
  double maxErr = 0, scale = 1e-6;
  for (size_t i = 0; i < c.size(); ++i) {
    maxErr = std::max(maxErr, std::abs(c[i] - ref[i]));
    scale = std::max(scale, std::abs(ref[i]));
  }
  return maxErr / scale;
}

TEST(RuntimeKernels, SgemmMatchesReferenceOnEdgeShapes) {
  // Sizes straddle the tile (up to 8 rows × 32 columns), the K block (256)
  // and the in-place path for up to 4 rows.
  std::vector<Case> cases;
  for (int64_t m : {1, 3, 4, 5, 8, 13, 64})
    for (int64_t n : {1, 7, 32, 33, 100})
      for (int64_t k : {1, 17, 256, 300})
        cases.push_back({1, m, n, k, false, false, false});
  cases.push_back({3, 9, 40, 70, true, false, false});
  cases.push_back({2, 5, 31, 64, false, true, false});
  cases.push_back({4, 16, 48, 33, false, false, true});
  cases.push_back({2, 2, 70, 40, true, true, true});
  uint32_t seed = 1;
  std::vector<float> c;
  for (const Case &t : cases) {
    double err = runCase(t, c, seed++);
    // f32 accumulation over k ≤ 300 terms of magnitude ≤ 1.
    EXPECT_LT(err, 1e-5) << "batch " << t.batch << " m " << t.m << " n " << t.n << " k " << t.k
                         << " transA " << t.transA << " transB " << t.transB;
  }
}

TEST(RuntimeKernels, SgemmIsBitwiseIdenticalForAnyThreadCount) {
  // Each element is summed by one task in a fixed order, so thread count
  // must not change a single bit.
  Case t{2, 70, 200, 300, false, false, false};
  std::vector<float> one, four;
  __sinter_set_num_threads(1);
  runCase(t, one, 7);
  __sinter_set_num_threads(4);
  runCase(t, four, 7);
  __sinter_set_num_threads(0);
  ASSERT_EQ(one.size(), four.size());
  EXPECT_EQ(0, std::memcmp(one.data(), four.data(), one.size() * sizeof(float)));
}

TEST(RuntimeKernels, SgemmEmptyDimsAreNoOps) {
  float c = 3.f, a = 1.f, b = 1.f;
  auto addr = [](float *p) { return (int64_t)(intptr_t)p; };
  __sinter_sgemm(1, 1, 1, 0, addr(&a), 0, 1, 1, addr(&b), 0, 1, 1, addr(&c), 0, 1, 1);
  __sinter_sgemm(0, 1, 1, 1, addr(&a), 0, 1, 1, addr(&b), 0, 1, 1, addr(&c), 0, 1, 1);
  EXPECT_EQ(c, 3.f);
}

struct CountCtx {
  std::vector<std::atomic<int>> *hits;
};

void countRange(void *ctx, int64_t begin, int64_t end) {
  auto *hits = static_cast<CountCtx *>(ctx)->hits;
  for (int64_t i = begin; i < end; ++i)
    (*hits)[i].fetch_add(1);
}

TEST(RuntimeKernels, ParallelForCoversEveryIndexOnce) {
  // The pool sizes itself from the CPU affinity mask (unless
  // SINTER_NUM_THREADS says otherwise); a cap limits it, 1 means serial.
  cpu_set_t mask;
  ASSERT_EQ(sched_getaffinity(0, sizeof(mask), &mask), 0);
  bool fromEnv = std::getenv("SINTER_NUM_THREADS") != nullptr;
  int32_t all = __sinter_set_num_threads(0);
  if (!fromEnv)
    EXPECT_EQ(all, CPU_COUNT(&mask));
  EXPECT_EQ(__sinter_set_num_threads(1), 1);
  int32_t three = __sinter_set_num_threads(3);
  EXPECT_GE(three, 1);
  EXPECT_LE(three, 3);
  if (!fromEnv)
    EXPECT_EQ(three, std::min<int32_t>(3, all));
  for (int64_t n : {1, 2, 7, 64, 1000})
    for (int64_t grain : {1, 3, 64}) {
      std::vector<std::atomic<int>> hits(n);
      CountCtx ctx{&hits};
      __sinter_parallel_for(n, grain, countRange, &ctx);
      for (int64_t i = 0; i < n; ++i)
        ASSERT_EQ(hits[i].load(), 1) << "n " << n << " grain " << grain << " index " << i;
    }
  __sinter_set_num_threads(0);
}

struct Slice {
  CountCtx *all;
  int64_t base;
};

void countSlice(void *ctx, int64_t begin, int64_t end) {
  auto *s = static_cast<Slice *>(ctx);
  countRange(s->all, s->base + begin, s->base + end);
}

/// Rows of 4 indices, each row counted by an inner parallel_for.
void nestedTask(void *ctx, int64_t begin, int64_t end) {
  for (int64_t row = begin; row < end; ++row) {
    Slice s{static_cast<CountCtx *>(ctx), row * 4};
    __sinter_parallel_for(4, 1, countSlice, &s);
  }
}

TEST(RuntimeKernels, ConcurrentAndNestedCallsStayCorrect) {
  // Several threads share one pool: whoever finds it busy runs serially.
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 50; ++rep) {
        std::vector<std::atomic<int>> hits(257);
        CountCtx ctx{&hits};
        __sinter_parallel_for(257, 5 + t, countRange, &ctx);
        for (auto &h : hits)
          bad += h.load() != 1;
      }
    });
  for (auto &t : threads)
    t.join();
  EXPECT_EQ(bad.load(), 0);
  // A parallel_for inside a task runs on that task's thread.
  std::vector<std::atomic<int>> hits(40);
  CountCtx all{&hits};
  __sinter_parallel_for(10, 1, nestedTask, &all);
  for (auto &h : hits)
    EXPECT_EQ(h.load(), 1);
}

} // namespace
