// The GSE-INT linear kernel (__sinter_gse_linear, sinter_gse.c), generic C,
// AVX2 alone and this machine's widest build (VNNI where present), on weights packed
// as the compiler packs them, against the format's C++ quantizer and an
// exact sum per group pair: activations quantized identically, the int32
// sums exact, only the f32 accumulation of the scaled group sums rounding.
#include "sinter/Dialect/GSE/Quantize.h"

#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

extern "C" {
#include "sinter_internal.h"
void __sinter_gse_linear(intptr_t x, intptr_t y, int64_t rows, int64_t k, int64_t n, int64_t group,
                         int64_t a_bits, int64_t exp_lo, int64_t exp_hi, intptr_t w, intptr_t we, int64_t w_nibbles);
void __sinter_gse_linear_host(intptr_t x, intptr_t y, int64_t rows, int64_t k, int64_t n, int64_t group,
                              int64_t a_bits, int64_t exp_lo, int64_t exp_hi, intptr_t w, intptr_t we,
                              int64_t w_nibbles);
void __sinter_gse_linear_avx2(intptr_t x, intptr_t y, int64_t rows, int64_t k, int64_t n, int64_t group,
                              int64_t a_bits, int64_t exp_lo, int64_t exp_hi, intptr_t w, intptr_t we,
                              int64_t w_nibbles);
#define SINTER_GSE_TRANSPOSED(name)                                                                                  \
  void name(intptr_t x, intptr_t y, int64_t rows, int64_t w_rows, int64_t w_cols, int64_t group, int64_t a_bits,     \
            int64_t exp_lo, int64_t exp_hi, intptr_t w, intptr_t we, int64_t w_nibbles, int64_t w_bits,              \
            int64_t w_exp_lo, int64_t w_exp_hi);
SINTER_GSE_TRANSPOSED(__sinter_gse_linear_transposed)
SINTER_GSE_TRANSPOSED(__sinter_gse_linear_transposed_host)
SINTER_GSE_TRANSPOSED(__sinter_gse_linear_transposed_avx2)
}

namespace {

using sinter::gse::FormatAttr;

/// The kernel's builds: generic C, AVX2 alone, and this machine's widest.
enum class Build { Generic, AVX2, Host };

struct Case {
  int64_t rows, k, n, group, wBits, aBits, exponent;
  Build build;
  int threads;
};

std::ostream &operator<<(std::ostream &os, const Case &c) {
  return os << c.rows << "x" << c.k << "->" << c.n << " g" << c.group << " w" << c.wBits << "a" << c.aBits << "e"
            << c.exponent << (c.build == Build::Host ? " host" : c.build == Build::AVX2 ? " avx2" : " generic")
            << " threads=" << c.threads;
}

class GSELinearKernel : public ::testing::TestWithParam<Case> {
protected:
  mlir::MLIRContext ctx;
  GSELinearKernel() { ctx.loadDialect<sinter::gse::GSEDialect>(); }
  void SetUp() override {
    if (GetParam().build == Build::AVX2 && !__builtin_cpu_supports("avx2"))
      GTEST_SKIP() << "this CPU has no AVX2";
  }
  void TearDown() override { __sinter_set_num_threads(0); }
  FormatAttr weights(const Case &c) { return FormatAttr::get(&ctx, c.group, c.wBits, c.exponent); }
  FormatAttr activations(const Case &c) { return FormatAttr::get(&ctx, c.group, c.aBits, c.exponent); }
};

TEST_P(GSELinearKernel, MatchesExactGroupSums) {
  const Case &c = GetParam();
  FormatAttr wf = weights(c), af = activations(c);
  std::mt19937 rng(c.k * 31 + c.n);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> w(c.n * c.k), x(c.rows * c.k);
  for (float &v : w)
    v = normal(rng) / std::sqrt((float)c.k);
  for (int64_t r = 0; r < c.rows; ++r)
    for (int64_t i = 0; i < c.k; ++i)
      x[r * c.k + i] = std::ldexp(normal(rng), (int)(r % 9) * 3 - 12); // rows at many magnitudes
  if (c.rows > 2)
    std::fill(x.begin() + 2 * c.k, x.begin() + 2 * c.k + std::min(c.k, c.group), 0.0f); // a zero group
  if (c.rows > 1 && c.k > 9) {
    x[c.k + 5] = NAN;       // quantizes to 0
    x[c.k + 9] = -INFINITY; // saturates, its group at the largest exponent
  }
  auto qw = sinter::gse::quantize(wf, w, c.k);
  auto qa = sinter::gse::quantize(af, x, c.k);
  int64_t groups = wf.groupsOf(c.k);
  bool nibbles = c.wBits <= 4;
  std::vector<uint8_t> panels = sinter::gse::panelMantissas(qw.mantissas, c.n, c.k, c.group, nibbles);
  std::vector<int8_t> exps = sinter::gse::panelExponents(qw.exponents, c.n, groups);
  std::vector<float> y(c.rows * c.n, NAN);
  __sinter_set_num_threads(c.threads);
  auto kernel = c.build == Build::Host   ? __sinter_gse_linear_host
                : c.build == Build::AVX2 ? __sinter_gse_linear_avx2
                                         : __sinter_gse_linear;
  kernel((intptr_t)x.data(), (intptr_t)y.data(), c.rows, c.k, c.n, c.group, c.aBits, af.minExponent(),
         af.maxExponent(), (intptr_t)panels.data(), (intptr_t)exps.data(), nibbles);
  for (int64_t r = 0; r < c.rows; ++r)
    for (int64_t j = 0; j < c.n; ++j) {
      double want = 0, magnitude = 0;
      for (int64_t g = 0; g < groups; ++g) {
        int64_t dot = 0;
        for (int64_t i = g * c.group; i < std::min(c.k, (g + 1) * c.group); ++i)
          dot += (int64_t)qa.mantissas[r * c.k + i] * qw.mantissas[j * c.k + i];
        double term = std::ldexp((double)dot, qa.exponents[r * groups + g] + qw.exponents[j * groups + g]);
        want += term;
        magnitude += std::fabs(term);
      }
      if (!std::isfinite((float)want)) // ±∞ in, or beyond f32 (MX's 2^127 exponents)
        ASSERT_EQ(y[r * c.n + j], (float)want) << "row " << r << " output " << j;
      else
        ASSERT_NEAR(y[r * c.n + j], want, 1e-6 * magnitude + 1e-30) << "row " << r << " output " << j;
    }
}

// dY · W through W's own panels (the backward of a frozen linear) is,
// bit for bit, the forward kernel over the panels the compiler would pack
// for Wᵀ requantized along N (gse.transpose's meaning); here the case's
// "k" is W's columns (the outputs) and "n" its rows (the sums' length).
TEST_P(GSELinearKernel, TransposedMatchesRequantizedTranspose) {
  const Case &c = GetParam();
  FormatAttr wf = weights(c), af = activations(c);
  std::mt19937 rng(c.k * 17 + c.n);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> w(c.n * c.k), dy(c.rows * c.n);
  for (int64_t i = 0; i < c.n; ++i) // rows of W at many magnitudes: exponents differ along N
    for (int64_t j = 0; j < c.k; ++j)
      w[i * c.k + j] = std::ldexp(normal(rng), (int)(i % 7) - 3) / std::sqrt((float)c.k);
  if (c.n > 1)
    std::fill(w.begin() + c.k, w.begin() + c.k + std::min(c.k, c.group), 0.0f); // a zero group of W
  for (float &v : dy)
    v = normal(rng) * 1e-3f;
  auto qw = sinter::gse::quantize(wf, w, c.k);
  bool nibbles = c.wBits <= 4;
  std::vector<uint8_t> panels = sinter::gse::panelMantissas(qw.mantissas, c.n, c.k, c.group, nibbles);
  std::vector<int8_t> exps = sinter::gse::panelExponents(qw.exponents, c.n, wf.groupsOf(c.k));
  // What the compiler would store for Wᵀ: dequantized, transposed, quantized along N.
  std::vector<float> wd = sinter::gse::dequantize(wf, qw.mantissas, qw.exponents, c.k), wt(wd.size());
  for (int64_t i = 0; i < c.n; ++i)
    for (int64_t j = 0; j < c.k; ++j)
      wt[j * c.n + i] = wd[i * c.k + j];
  auto qt = sinter::gse::quantize(wf, wt, c.n);
  std::vector<uint8_t> tPanels = sinter::gse::panelMantissas(qt.mantissas, c.k, c.n, c.group, false);
  std::vector<int8_t> tExps = sinter::gse::panelExponents(qt.exponents, c.k, wf.groupsOf(c.n));
  std::vector<float> want(c.rows * c.k, NAN), got(c.rows * c.k, NAN);
  __sinter_set_num_threads(c.threads);
  auto forward = c.build == Build::Host   ? __sinter_gse_linear_host
                 : c.build == Build::AVX2 ? __sinter_gse_linear_avx2
                                          : __sinter_gse_linear;
  auto transposed = c.build == Build::Host   ? __sinter_gse_linear_transposed_host
                    : c.build == Build::AVX2 ? __sinter_gse_linear_transposed_avx2
                                             : __sinter_gse_linear_transposed;
  forward((intptr_t)dy.data(), (intptr_t)want.data(), c.rows, c.n, c.k, c.group, c.aBits, af.minExponent(),
          af.maxExponent(), (intptr_t)tPanels.data(), (intptr_t)tExps.data(), 0);
  transposed((intptr_t)dy.data(), (intptr_t)got.data(), c.rows, c.n, c.k, c.group, c.aBits, af.minExponent(),
             af.maxExponent(), (intptr_t)panels.data(), (intptr_t)exps.data(), nibbles, c.wBits, wf.minExponent(),
             wf.maxExponent());
  for (int64_t i = 0; i < c.rows * c.k; ++i)
    ASSERT_EQ(got[i], want[i]) << "row " << i / c.k << " output " << i % c.k;
}

std::vector<Case> cases() {
  std::vector<Case> out;
  for (Build host : {Build::Generic, Build::AVX2, Build::Host})
    for (int threads : {1, 2}) {
      out.push_back({1, 768, 64, 32, 8, 8, 5, host, threads});
      out.push_back({7, 100, 33, 32, 4, 8, 5, host, threads});  // nibbles; partial group and panel
      out.push_back({9, 64, 16, 32, 3, 8, 5, host, threads});   // nibbles, 3 bits; two chunks of 4 rows + 1
      out.push_back({2, 20, 5, 12, 2, 8, 5, host, threads});    // nibbles, a group padded to 16
      out.push_back({20, 96, 80, 32, 6, 8, 8, host, threads});  // MX exponents; two row chunks
      out.push_back({3, 30, 9, 7, 5, 7, 4, host, threads});     // a group that is no multiple of 4
      out.push_back({2, 256, 130, 128, 8, 8, 5, host, threads}); // wide groups; 3 blocks of panels
      out.push_back({2100, 40, 70, 32, 4, 8, 5, host, threads}); // transposed: two chunks of rows (2048 + 52)
    }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Shapes, GSELinearKernel, ::testing::ValuesIn(cases()));

} // namespace
