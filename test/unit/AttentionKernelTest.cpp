// The fused attention kernel (lib/Runtime/sinter_attention.c), built for
// the host, against a double-precision softmax(scale·QKᵀ + mask)·V.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

extern "C" {
#include "sinter_internal.h"
}

namespace {

struct Shape {
  int64_t batch, t, s, heads, dk, dv;
  bool causal;
};

/// Q, K, V as slices of wider rows (as split from a fused projection): row
/// strides exceed the data each row holds, so the kernel must honour them.
struct Inputs {
  std::vector<float> q, k, v;
  int64_t qts, kts, vts;
};

Inputs makeInputs(const Shape &c, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.f, 1.f);
  Inputs in;
  in.qts = c.heads * c.dk + 5;
  in.kts = c.heads * c.dk + 3;
  in.vts = c.heads * c.dv + 7;
  in.q.resize(c.batch * c.t * in.qts);
  in.k.resize(c.batch * c.s * in.kts);
  in.v.resize(c.batch * c.s * in.vts);
  for (auto *buf : {&in.q, &in.k, &in.v})
    for (float &x : *buf)
      x = dist(rng);
  return in;
}

std::vector<double> reference(const Shape &c, const Inputs &in, float scale) {
  std::vector<double> out(c.batch * c.t * c.heads * c.dv, 0.0);
  for (int64_t b = 0; b < c.batch; ++b)
    for (int64_t h = 0; h < c.heads; ++h)
      for (int64_t t = 0; t < c.t; ++t) {
        int64_t seen = c.causal ? std::min(c.s, t + c.s - c.t + 1) : c.s;
        std::vector<double> p(seen);
        double top = -INFINITY, sum = 0;
        for (int64_t s = 0; s < seen; ++s) {
          double dot = 0;
          for (int64_t d = 0; d < c.dk; ++d)
            dot += (double)in.q[(b * c.t + t) * in.qts + h * c.dk + d] *
                   in.k[(b * c.s + s) * in.kts + h * c.dk + d];
          p[s] = dot * scale;
          top = std::max(top, p[s]);
        }
        for (double &x : p)
          sum += (x = std::exp(x - top));
        for (int64_t e = 0; e < c.dv; ++e) {
          double acc = 0;
          for (int64_t s = 0; s < seen; ++s)
            acc += p[s] / sum * in.v[(b * c.s + s) * in.vts + h * c.dv + e];
          out[((b * c.t + t) * c.heads + h) * c.dv + e] = acc;
        }
      }
  return out;
}

std::vector<float> run(const Shape &c, const Inputs &in, float scale) {
  int64_t ots = c.heads * c.dv;
  std::vector<float> out(c.batch * c.t * ots, NAN); // the kernel writes every element
  uint32_t bits;
  std::memcpy(&bits, &scale, sizeof(bits));
  auto addr = [](const float *p) { return (int64_t)(intptr_t)p; };
  __sinter_attention(c.batch, c.t, c.s, c.heads, c.dk, c.dv, addr(in.q.data()), c.t * in.qts, in.qts,
                     addr(in.k.data()), c.s * in.kts, in.kts, addr(in.v.data()), c.s * in.vts, in.vts,
                     addr(out.data()), c.t * ots, ots, bits, c.causal);
  return out;
}

TEST(AttentionKernel, MatchesReferenceOnEdgeShapes) {
  // Rows past one task's block (33, 70), keys past one panel, head sizes
  // off the vector width, decode (t = 1), cross attention (s > t) with and
  // without the causal offset, several batches.
  const Shape shapes[] = {
      {1, 128, 128, 12, 64, 64, true}, {1, 1, 1, 4, 64, 64, true},   {2, 33, 33, 3, 16, 16, true},
      {1, 70, 70, 2, 7, 9, false},     {1, 5, 40, 2, 8, 8, true},    {2, 17, 50, 1, 32, 24, false},
      {1, 3, 3, 1, 1, 1, true},        {1, 40, 1000, 2, 8, 8, false},
      {1, 6, 6, 2, 0, 4, true}, // no query/key features: uniform over the visible keys
  };
  uint32_t seed = 1;
  for (const Shape &c : shapes) {
    Inputs in = makeInputs(c, seed++);
    float scale = c.dk ? 1.0f / std::sqrt((float)c.dk) : 1.0f;
    std::vector<float> got = run(c, in, scale);
    std::vector<double> want = reference(c, in, scale);
    double err = 0;
    for (size_t i = 0; i < got.size(); ++i)
      err = std::max(err, std::fabs(got[i] - want[i]));
    EXPECT_LT(err, 2e-5) << "batch " << c.batch << " t " << c.t << " s " << c.s << " heads " << c.heads
                         << " dk " << c.dk << " dv " << c.dv << " causal " << c.causal;
  }
}

TEST(AttentionKernel, CausalQueriesIgnoreLaterKeys) {
  // Changing the last key and value must leave every earlier query's
  // output bitwise unchanged.
  Shape c{1, 40, 40, 2, 16, 16, true};
  Inputs in = makeInputs(c, 7);
  std::vector<float> before = run(c, in, 0.25f);
  for (int64_t j = 0; j < in.kts; ++j)
    in.k[39 * in.kts + j] += 3.0f;
  for (int64_t j = 0; j < in.vts; ++j)
    in.v[39 * in.vts + j] -= 5.0f;
  std::vector<float> after = run(c, in, 0.25f);
  int64_t row = c.heads * c.dv;
  EXPECT_EQ(0, std::memcmp(before.data(), after.data(), 39 * row * sizeof(float)));
  EXPECT_NE(0, std::memcmp(before.data() + 39 * row, after.data() + 39 * row, row * sizeof(float)));
}

TEST(AttentionKernel, IsBitwiseIdenticalForAnyThreadCount) {
  Shape c{2, 100, 100, 4, 32, 32, true};
  Inputs in = makeInputs(c, 11);
  __sinter_set_num_threads(1);
  std::vector<float> one = run(c, in, 0.2f);
  __sinter_set_num_threads(3);
  std::vector<float> three = run(c, in, 0.2f);
  __sinter_set_num_threads(0);
  EXPECT_EQ(0, std::memcmp(one.data(), three.data(), one.size() * sizeof(float)));
}

} // namespace
