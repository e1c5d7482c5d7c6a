// The GSE number format (sinter/Dialect/GSE/Quantize.h): the properties
// the folders and kernels rely on, over random groups of every format the
// dialect allows — mantissas in range, each group's largest value keeping
// m − 1 significant bits, an error of at most half a step, and
// requantizing dequantized values reproducing them exactly (which makes
// gse.quantize(gse.dequantize(q)) → q sound).
#include "sinter/Dialect/GSE/Quantize.h"

#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace {

using sinter::gse::FormatAttr;

struct Format {
  int64_t group, mantissa, exponent;
};

class GSEQuantize : public ::testing::TestWithParam<Format> {
protected:
  mlir::MLIRContext ctx;
  GSEQuantize() { ctx.loadDialect<sinter::gse::GSEDialect>(); }
  FormatAttr format() {
    const Format &f = GetParam();
    return FormatAttr::get(&ctx, f.group, f.mantissa, f.exponent);
  }
};

/// Rows of 100 values (partial last groups) at magnitudes from 2^-20 to
/// 2^20, some groups all zero and some single spikes.
std::vector<float> samples(uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::uniform_int_distribution<int> scale(-20, 20);
  std::vector<float> v(40 * 100);
  for (size_t row = 0; row < 40; ++row) {
    float s = std::ldexp(1.0f, scale(rng));
    for (size_t i = 0; i < 100; ++i)
      v[row * 100 + i] = row % 7 == 3 ? 0.0f : s * normal(rng);
    if (row % 5 == 1)
      v[row * 100 + 17] *= 1000.0f;
  }
  return v;
}

TEST_P(GSEQuantize, KeepsItsRangesAndHalfAStep) {
  FormatAttr f = format();
  std::vector<float> x = samples(3);
  auto q = sinter::gse::quantize(f, x, 100);
  int64_t groups = f.groupsOf(100);
  ASSERT_EQ(q.exponents.size(), 40u * groups);
  std::vector<float> back = sinter::gse::dequantize(f, q.mantissas, q.exponents, 100);
  for (size_t i = 0; i < x.size(); ++i) {
    int64_t e = q.exponents[(i / 100) * groups + (i % 100) / f.getGroup()];
    ASSERT_LE(std::abs(q.mantissas[i]), f.maxMantissa());
    ASSERT_GE(e, f.minExponent());
    ASSERT_LE(e, f.maxExponent());
    // Within half a step unless the mantissa saturated (exponent clamped).
    if (std::abs(q.mantissas[i]) < f.maxMantissa())
      ASSERT_LE(std::fabs(back[i] - x[i]), std::ldexp(0.5f, e)) << "value " << i;
  }
}

TEST_P(GSEQuantize, LargestOfEachGroupKeepsItsBits) {
  FormatAttr f = format();
  std::vector<float> x = samples(5);
  auto q = sinter::gse::quantize(f, x, 100);
  int64_t groups = f.groupsOf(100);
  for (int64_t r = 0; r < 40; ++r)
    for (int64_t g = 0; g < groups; ++g) {
      int top = 0;
      for (int64_t i = g * f.getGroup(); i < std::min<int64_t>(100, (g + 1) * f.getGroup()); ++i)
        top = std::max(top, std::abs((int)q.mantissas[r * 100 + i]));
      int64_t e = q.exponents[r * groups + g];
      if (top == 0 || e == f.minExponent() || e == f.maxExponent())
        continue; // zero group, or the exponent clamped
      EXPECT_GE(top, 1 << (f.getMantissa() - 2)) << "row " << r << " group " << g;
    }
}

TEST_P(GSEQuantize, RequantizingDequantizedValuesIsExact) {
  FormatAttr f = format();
  std::vector<float> x = samples(7);
  auto q = sinter::gse::quantize(f, x, 100);
  auto again = sinter::gse::quantize(f, sinter::gse::dequantize(f, q.mantissas, q.exponents, 100), 100);
  // Bit for bit, zero groups and clamped exponents included.
  EXPECT_EQ(again.mantissas, q.mantissas);
  EXPECT_EQ(again.exponents, q.exponents);
}

TEST(GSEQuantizeEdges, NaNIsZeroAndInfinitySaturates) {
  mlir::MLIRContext ctx;
  ctx.loadDialect<sinter::gse::GSEDialect>();
  FormatAttr f = FormatAttr::get(&ctx, 4, 8, 5);
  auto q = sinter::gse::quantize(f, {NAN, 1.0f, INFINITY, -INFINITY}, 4);
  EXPECT_EQ(q.exponents[0], 15);
  EXPECT_EQ(q.mantissas[0], 0);
  EXPECT_EQ(q.mantissas[2], 127);
  EXPECT_EQ(q.mantissas[3], -127);
}

INSTANTIATE_TEST_SUITE_P(Formats, GSEQuantize,
                         ::testing::Values(Format{32, 8, 5}, Format{32, 4, 5}, Format{32, 6, 5}, Format{32, 8, 8},
                                           Format{16, 5, 4}, Format{7, 2, 3}, Format{128, 8, 2}),
                         [](const auto &info) {
                           const Format &f = info.param;
                           return "g" + std::to_string(f.group) + "m" + std::to_string(f.mantissa) + "e" +
                                  std::to_string(f.exponent);
                         });

} // namespace
