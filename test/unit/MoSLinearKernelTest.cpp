// The BinaryMoS kernel (__sinter_mos_linear, sinter_bnn.c), generic and
// compiled for this machine's widest vectors, against a double-precision
// reference of the same formula on the same packed bits: one row and many,
// one expert and four, K a multiple of 32 and not even of 8, with and
// without bias, on 1 and 2 threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <ostream>
#include <random>
#include <vector>

extern "C" {
#include "sinter_internal.h"
void __sinter_mos_linear(intptr_t x, intptr_t y, int64_t rows, int64_t k, int64_t n, int64_t e, intptr_t bits,
                         intptr_t s_in, intptr_t s_out, intptr_t router, intptr_t bias);
void __sinter_mos_linear_host(intptr_t x, intptr_t y, int64_t rows, int64_t k, int64_t n, int64_t e,
                              intptr_t bits, intptr_t s_in, intptr_t s_out, intptr_t router, intptr_t bias);
}

namespace {

using Kernel = decltype(&__sinter_mos_linear);

struct Shape {
  int64_t rows, k, n, e;
  bool bias, host;
  int threads;
};

std::ostream &operator<<(std::ostream &os, const Shape &s) {
  return os << s.rows << "x" << s.k << "->" << s.n << " E=" << s.e << (s.bias ? " bias" : "")
            << (s.host ? " host" : " generic") << " threads=" << s.threads;
}

struct Layer {
  int64_t k, n, e;
  std::vector<float> w, sIn, sOut, router, bias;
  std::vector<uint8_t> bits;

  Layer(const Shape &s, uint32_t seed) : k(s.k), n(s.n), e(s.e) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.f, 1.f);
    std::uniform_real_distribution<float> positive(0.5f, 1.5f);
    auto fill = [&](std::vector<float> &v, int64_t count, auto &dist, float scale) {
      v.resize(count);
      for (float &x : v)
        x = scale * dist(rng);
    };
    fill(w, k * n, normal, 1.f);
    fill(sIn, e * k, positive, 1.f);
    fill(sOut, e * n, positive, 1.f / std::sqrt((float)k));
    fill(router, k * e, normal, 1.f / std::sqrt((float)k));
    if (s.bias)
      fill(bias, n, normal, 1.f);
    int64_t bytes = (k + 7) / 8;
    bits.assign(n * bytes, 0);
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < n; ++j)
        if (w[i * n + j] >= 0)
          bits[j * bytes + i / 8] |= uint8_t(1u << (i % 8));
  }

  /// The layer's formula in double precision, reading sign(W) from W.
  std::vector<double> reference(const std::vector<float> &x, int64_t rows) const {
    std::vector<double> y(rows * n);
    for (int64_t r = 0; r < rows; ++r) {
      const float *xr = &x[r * k];
      std::vector<double> g(e, 0.0);
      for (int64_t i = 0; i < k; ++i)
        for (int64_t j = 0; j < e; ++j)
          g[j] += double(xr[i]) * router[i * e + j];
      double top = *std::max_element(g.begin(), g.end()), sum = 0;
      for (double &v : g)
        sum += (v = std::exp(v - top));
      for (double &v : g)
        v /= sum;
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0, scale = 0;
        for (int64_t i = 0; i < k; ++i) {
          double s = 0;
          for (int64_t q = 0; q < e; ++q)
            s += g[q] * sIn[q * k + i];
          acc += xr[i] * s * (w[i * n + j] >= 0 ? 1.0 : -1.0);
        }
        for (int64_t q = 0; q < e; ++q)
          scale += g[q] * sOut[q * n + j];
        y[r * n + j] = acc * scale + (bias.empty() ? 0.0 : bias[j]);
      }
    }
    return y;
  }
};

class MoSLinearKernel : public ::testing::TestWithParam<Shape> {
protected:
  void TearDown() override { __sinter_set_num_threads(0); }
};

TEST_P(MoSLinearKernel, MatchesReference) {
  const Shape &s = GetParam();
  Layer layer(s, 7 + s.k + s.n);
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> x(s.rows * s.k);
  for (float &v : x)
    v = normal(rng);
  std::vector<float> y(s.rows * s.n, NAN);
  __sinter_set_num_threads(s.threads);
  Kernel kernel = s.host ? __sinter_mos_linear_host : __sinter_mos_linear;
  kernel((intptr_t)x.data(), (intptr_t)y.data(), s.rows, s.k, s.n, s.e, (intptr_t)layer.bits.data(),
         (intptr_t)layer.sIn.data(), (intptr_t)layer.sOut.data(), (intptr_t)layer.router.data(),
         s.bias ? (intptr_t)layer.bias.data() : 0);
  std::vector<double> ref = layer.reference(x, s.rows);
  // fp32 sums of K signed terms: bound the error by 1e-5 of the row's
  // largest output (the cancellation in 2·Σ_{bit=1} − Σ is relative to it).
  for (int64_t r = 0; r < s.rows; ++r) {
    double top = 0;
    for (int64_t j = 0; j < s.n; ++j)
      top = std::max(top, std::abs(ref[r * s.n + j]));
    for (int64_t j = 0; j < s.n; ++j)
      ASSERT_NEAR(y[r * s.n + j], ref[r * s.n + j], 1e-5 * top) << "row " << r << " output " << j;
  }
}

std::vector<Shape> shapes() {
  std::vector<Shape> out;
  for (bool host : {false, true})
    for (int threads : {1, 2}) {
      out.push_back({1, 256, 64, 4, true, host, threads});
      out.push_back({1, 77, 13, 1, false, host, threads});  // K not a multiple of 8, N of 4
      out.push_back({5, 200, 37, 4, true, host, threads});  // K: 6 whole 32-steps + 8
      out.push_back({33, 768, 96, 3, false, host, threads});
    }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Shapes, MoSLinearKernel, ::testing::ValuesIn(shapes()));

// The thread count changes only who computes a block, never the sums.
TEST(MoSLinearKernelThreads, SameResultOnAnyThreadCount) {
  Shape s{9, 300, 70, 4, true, true, 1};
  Layer layer(s, 11);
  std::vector<float> x(s.rows * s.k, 0.25f), y1(s.rows * s.n), y2(s.rows * s.n);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = std::sin(0.37f * i);
  for (auto [threads, y] : {std::pair{1, &y1}, std::pair{2, &y2}}) {
    __sinter_set_num_threads(threads);
    __sinter_mos_linear_host((intptr_t)x.data(), (intptr_t)y->data(), s.rows, s.k, s.n, s.e,
                             (intptr_t)layer.bits.data(), (intptr_t)layer.sIn.data(), (intptr_t)layer.sOut.data(),
                             (intptr_t)layer.router.data(), (intptr_t)layer.bias.data());
  }
  __sinter_set_num_threads(0);
  EXPECT_EQ(y1, y2);
}

} // namespace
