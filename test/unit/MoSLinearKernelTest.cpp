// The BinaryMoS kernel (__sinter_mos_linear, sinter_bnn.c), generic and
// compiled for this machine's widest vectors, against a double-precision
// reference of the same formula on the same packed bits: one row and many,
// one expert and four, K a multiple of 32 and not even of 8, with and
// without bias, on 1 and 2 threads, fp32 activations to 1e-5 and int8
// activations within their rounding bound.
#include "sinter/Dialect/BNN/BNNDialect.h"

#include "llvm/ADT/APFloat.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <ostream>
#include <random>
#include <vector>

extern "C" {
#include "sinter_internal.h"
void __sinter_mos_linear(intptr_t x, intptr_t y, int64_t rows, int64_t k, int64_t n, int64_t e, intptr_t bits,
                         intptr_t s_in, intptr_t s_out, intptr_t router, intptr_t bias, int64_t act_bits,
                         int64_t bits_layout, int64_t scale_bits);
void __sinter_mos_linear_host(intptr_t x, intptr_t y, int64_t rows, int64_t k, int64_t n, int64_t e,
                              intptr_t bits, intptr_t s_in, intptr_t s_out, intptr_t router, intptr_t bias,
                              int64_t act_bits, int64_t bits_layout, int64_t scale_bits);
void __sinter_mos_linear_avx2(intptr_t x, intptr_t y, int64_t rows, int64_t k, int64_t n, int64_t e,
                              intptr_t bits, intptr_t s_in, intptr_t s_out, intptr_t router, intptr_t bias,
                              int64_t act_bits, int64_t bits_layout, int64_t scale_bits);
}

namespace {

using Kernel = decltype(&__sinter_mos_linear);

/// The kernel's builds: generic C, AVX2 alone, and this machine's widest.
enum class Build { Generic, AVX2, Host };

Kernel kernelOf(Build b) {
  if (b == Build::Host)
    return __sinter_mos_linear_host;
  return b == Build::AVX2 ? __sinter_mos_linear_avx2 : __sinter_mos_linear;
}

bool runs(Build b) {
  return b != Build::AVX2 ||
         (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"));
}

struct Shape {
  int64_t rows, k, n, e;
  bool bias;
  Build build;
  int threads;
  int actBits = 32;
  bool tiles = false; // bits in tiles of 16 outputs (else rows_of_inputs)
  bool half = false;  // scales and router in IEEE half
};

std::ostream &operator<<(std::ostream &os, const Shape &s) {
  return os << s.rows << "x" << s.k << "->" << s.n << " E=" << s.e << (s.bias ? " bias" : "")
            << (s.build == Build::Host ? " host" : s.build == Build::AVX2 ? " avx2" : " generic")
            << " threads=" << s.threads << " act_bits=" << s.actBits
            << (s.tiles ? " tiles" : " rows") << (s.half ? " f16" : "");
}

struct Layer {
  int64_t k, n, e;
  std::vector<float> w, sIn, sOut, router, bias;
  std::vector<uint8_t> bits, tiled;
  std::vector<uint16_t> sInHalf, sOutHalf, routerHalf; // with `half`: the tables, which then hold their values

  Layer(const Shape &s, uint32_t seed) : k(s.k), n(s.n), e(s.e), half(s.half) {
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
    std::vector<int8_t> t = sinter::bnn::tileSignRows({(const int8_t *)bits.data(), bits.size()}, k, n);
    tiled.assign(t.begin(), t.end());
    if (half) {
      toHalves(sIn, sInHalf);
      toHalves(sOut, sOutHalf);
      toHalves(router, routerHalf);
    }
  }

  /// Rounds `v` to halves (nearest even) into `out`, and `v` to their values.
  static void toHalves(std::vector<float> &v, std::vector<uint16_t> &out) {
    out.resize(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
      bool lost;
      llvm::APFloat h(v[i]);
      h.convert(llvm::APFloat::IEEEhalf(), llvm::APFloat::rmNearestTiesToEven, &lost);
      out[i] = (uint16_t)h.bitcastToAPInt().getZExtValue();
      v[i] = h.convertToFloat();
    }
  }

  bool half;
  intptr_t scaleIn() const { return half ? (intptr_t)sInHalf.data() : (intptr_t)sIn.data(); }
  intptr_t scaleOut() const { return half ? (intptr_t)sOutHalf.data() : (intptr_t)sOut.data(); }
  intptr_t routerTable() const { return half ? (intptr_t)routerHalf.data() : (intptr_t)router.data(); }

  const uint8_t *signs(bool tiles) const { return tiles ? tiled.data() : bits.data(); }

  /// The layer's formula in double precision, reading sign(W) from W; sets
  /// `bound` to each output's int8 rounding bound K · max|x'| / 254 · |s_out|.
  std::vector<double> reference(const std::vector<float> &x, int64_t rows, std::vector<double> &bound) const {
    std::vector<double> y(rows * n);
    bound.assign(rows * n, 0.0);
    for (int64_t r = 0; r < rows; ++r) {
      const float *xr = &x[r * k];
      std::vector<double> g(e, 0.0);
      for (int64_t i = 0; i < k; ++i)
        for (int64_t j = 0; j < e; ++j)
          g[j] += double(xr[i]) * router[i * e + j];
      double gmax = *std::max_element(g.begin(), g.end()), sum = 0;
      for (double &v : g)
        sum += (v = std::exp(v - gmax));
      for (double &v : g)
        v /= sum;
      std::vector<double> xs(k);
      double top = 0;
      for (int64_t i = 0; i < k; ++i) {
        for (int64_t q = 0; q < e; ++q)
          xs[i] += g[q] * sIn[q * k + i];
        xs[i] *= xr[i];
        top = std::max(top, std::abs(xs[i]));
      }
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0, scale = 0;
        for (int64_t i = 0; i < k; ++i)
          acc += xs[i] * (w[i * n + j] >= 0 ? 1.0 : -1.0);
        for (int64_t q = 0; q < e; ++q)
          scale += g[q] * sOut[q * n + j];
        y[r * n + j] = acc * scale + (bias.empty() ? 0.0 : bias[j]);
        bound[r * n + j] = k * top / 254.0 * std::abs(scale);
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
  if (!runs(s.build))
    GTEST_SKIP() << "this CPU has no AVX2, FMA and F16C";
  Layer layer(s, 7 + s.k + s.n);
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> x(s.rows * s.k);
  for (float &v : x)
    v = normal(rng);
  std::vector<float> y(s.rows * s.n, NAN);
  __sinter_set_num_threads(s.threads);
  Kernel kernel = kernelOf(s.build);
  kernel((intptr_t)x.data(), (intptr_t)y.data(), s.rows, s.k, s.n, s.e, (intptr_t)layer.signs(s.tiles),
         layer.scaleIn(), layer.scaleOut(), layer.routerTable(), s.bias ? (intptr_t)layer.bias.data() : 0,
         s.actBits, s.tiles, s.half ? 16 : 32);
  std::vector<double> bound;
  std::vector<double> ref = layer.reference(x, s.rows, bound);
  // fp32 sums of K signed terms: bound the error by 1e-5 of the row's
  // largest output (the cancellation in 2·Σ_{bit=1} − Σ is relative to it).
  // int8: the rounding bound, and a typical error far inside it (rounding
  // errors of K values are independent, so they add like √K, not K).
  double squared = 0, boundSquared = 0;
  for (int64_t r = 0; r < s.rows; ++r) {
    double top = 0;
    for (int64_t j = 0; j < s.n; ++j)
      top = std::max(top, std::abs(ref[r * s.n + j]));
    for (int64_t j = 0; j < s.n; ++j) {
      int64_t o = r * s.n + j;
      double tol = 1e-5 * top + (s.actBits == 8 ? bound[o] : 0.0);
      ASSERT_NEAR(y[o], ref[o], tol) << "row " << r << " output " << j;
      squared += (y[o] - ref[o]) * (y[o] - ref[o]);
      boundSquared += bound[o] * bound[o];
    }
  }
  if (s.actBits == 8)
    EXPECT_LT(std::sqrt(squared), 4.0 / std::sqrt((double)s.k) * std::sqrt(boundSquared));
}

std::vector<Shape> shapes() {
  std::vector<Shape> out;
  for (int bits : {32, 8})
    for (bool tiles : {false, true})
      for (Build host : {Build::Generic, Build::AVX2, Build::Host})
        for (int threads : {1, 2}) {
          out.push_back({1, 256, 64, 4, true, host, threads, bits, tiles});
          out.push_back({1, 77, 13, 1, false, host, threads, bits, tiles}); // K not a multiple of 8, N of 4
          out.push_back({5, 200, 37, 4, true, host, threads, bits, tiles}); // K: 6 whole 32-steps + 8
          out.push_back({33, 768, 96, 3, false, host, threads, bits, tiles}); // three chunks of rows
          out.push_back({2, 1000, 20, 2, true, host, threads, bits, tiles}); // int8: 7 whole 128-steps + 104
          out.push_back({6, 64, 150, 4, true, host, threads, bits, tiles}); // N: 2 blocks + 22, 10 tiles
          out.push_back({3, 200, 37, 4, true, host, threads, bits, tiles, true}); // f16 tables
          out.push_back({2, 77, 21, 1, false, host, threads, bits, tiles, true}); // f16, one expert
        }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Shapes, MoSLinearKernel, ::testing::ValuesIn(shapes()));

// Half tables are widened exactly, subnormals, signed zeros and both
// signs included, by F16C and by the generic bit moves alike: with every
// bit set and row i of x one-hot at i, y[i][j] = s_in[i] · s_out[j].
TEST(MoSLinearKernelHalves, WidenEveryKindOfHalf) {
  const uint16_t halves[] = {0x0001, 0x03ff, 0x0400, 0x3c00, 0x7bff, 0x8001, 0x83ff, 0x8000,
                             0x0000, 0xbc00, 0x3555, 0x1234, 0x0200, 0xc800, 0x2e66, 0x5640};
  const int64_t k = 16, n = 2;
  std::vector<uint16_t> sOut = {0x3c00, 0x4000}; // 1, 2
  std::vector<uint16_t> router(k, 0);
  std::vector<uint8_t> rows(n * 2, 0xff);
  std::vector<int8_t> tiled = sinter::bnn::tileSignRows({(const int8_t *)rows.data(), rows.size()}, k, n);
  std::vector<float> x(k * k, 0.0f);
  for (int64_t i = 0; i < k; ++i)
    x[i * k + i] = 1.0f;
  for (Build build : {Build::Generic, Build::AVX2, Build::Host})
    for (int tiles : {0, 1}) {
      if (!runs(build))
        continue;
      Kernel kernel = kernelOf(build);
      std::vector<float> y(k * n, NAN);
      kernel((intptr_t)x.data(), (intptr_t)y.data(), k, k, n, 1, tiles ? (intptr_t)tiled.data() : (intptr_t)rows.data(),
             (intptr_t)halves, (intptr_t)sOut.data(), (intptr_t)router.data(), 0, 32, tiles, 16);
      for (int64_t i = 0; i < k; ++i) {
        float want = llvm::APFloat(llvm::APFloat::IEEEhalf(), llvm::APInt(16, halves[i])).convertToFloat();
        EXPECT_EQ(y[i * n], want) << "half 0x" << std::hex << halves[i];
        EXPECT_EQ(y[i * n + 1], 2 * want) << "half 0x" << std::hex << halves[i];
      }
    }
}

// The thread count changes only who computes a block, never the sums.
TEST(MoSLinearKernelThreads, SameResultOnAnyThreadCount) {
  Shape s{9, 300, 70, 4, true, Build::Host, 1};
  Layer layer(s, 11);
  std::vector<float> x(s.rows * s.k, 0.25f);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = std::sin(0.37f * i);
  for (int bits : {32, 8})
    for (bool tiles : {false, true}) {
      std::vector<float> y1(s.rows * s.n), y2(s.rows * s.n);
      for (auto [threads, y] : {std::pair{1, &y1}, std::pair{2, &y2}}) {
        __sinter_set_num_threads(threads);
        __sinter_mos_linear_host((intptr_t)x.data(), (intptr_t)y->data(), s.rows, s.k, s.n, s.e,
                                 (intptr_t)layer.signs(tiles), (intptr_t)layer.sIn.data(),
                                 (intptr_t)layer.sOut.data(), (intptr_t)layer.router.data(),
                                 (intptr_t)layer.bias.data(), bits, tiles, 32);
      }
      EXPECT_EQ(y1, y2) << "act_bits " << bits << (tiles ? " tiles" : " rows");
    }
  __sinter_set_num_threads(0);
}

} // namespace
