// The activation-sparsity kernel (__sinter_sparse_ffn, sinter_sparse_ffn.c)
// on random weights, for each of its paths — one token split over neuron
// chunks, a few rows gathered row by row, many rows by GEMM and mask —
// against a double-precision reference that makes the same choice of
// neurons. Rows whose choice is within rounding of a tie are left out.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <ostream>
#include <random>
#include <vector>

extern "C" {
#include "sinter_internal.h"
void __sinter_sparse_ffn(intptr_t x, intptr_t out, int64_t rows, int64_t d, int64_t h, int64_t d_out,
                         intptr_t up, intptr_t up_bias, intptr_t gate, intptr_t gate_bias, intptr_t down,
                         intptr_t p_in, intptr_t p_out, intptr_t p_bias, int64_t rank, int64_t kept,
                         int64_t threshold_bits, int64_t act, int64_t dense_rows);
// The same kernel compiled for this machine's widest vectors (lib/Runtime/CMakeLists.txt).
void __sinter_sparse_ffn_host(intptr_t x, intptr_t out, int64_t rows, int64_t d, int64_t h, int64_t d_out,
                              intptr_t up, intptr_t up_bias, intptr_t gate, intptr_t gate_bias, intptr_t down,
                              intptr_t p_in, intptr_t p_out, intptr_t p_bias, int64_t rank, int64_t kept,
                              int64_t threshold_bits, int64_t act, int64_t dense_rows);
}

namespace {

using Kernel = decltype(&__sinter_sparse_ffn);

enum Act { Relu = 0, Gelu = 1, Silu = 2 };

double activation(double z, int act) {
  if (act == Gelu)
    return 0.5 * z * (1 + std::erf(z / std::sqrt(2.0)));
  if (act == Silu)
    return z / (1 + std::exp(-z));
  return z > 0 ? z : 0;
}

struct Layer {
  int64_t d = 37, h = 96, dOut = 21, rank = 6; // odd sizes: the vector tails run too
  bool gated = false, predicted = false;
  int act = Gelu;
  Kernel kernel = __sinter_sparse_ffn;
  int64_t kept = 20;
  float threshold = 0.3f;
  double tieMargin = 1e-4; // how near a tie a choice may be left to the kernel's rounding
  std::vector<float> up, upBias, gate, gateBias, down, pIn, pOut, pBias;

  void fill(uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> n(0.f, 1.f / std::sqrt((float)d));
    auto make = [&](std::vector<float> &v, int64_t count) {
      v.resize(count);
      for (float &x : v)
        x = n(rng);
    };
    make(up, h * d), make(upBias, h), make(down, h * dOut);
    if (gated)
      make(gate, h * d), make(gateBias, h);
    if (predicted)
      make(pIn, d * rank), make(pOut, rank * h), make(pBias, h);
  }

  /// h_i of row x, in double.
  double neuron(const float *x, int64_t i) const {
    double z = upBias[i];
    for (int64_t j = 0; j < d; ++j)
      z += (double)up[i * d + j] * x[j];
    if (!gated)
      return activation(z, act);
    double g = gateBias[i];
    for (int64_t j = 0; j < d; ++j)
      g += (double)gate[i * d + j] * x[j];
    return activation(g, act) * z;
  }

  /// The reference of one row; false when the choice is within rounding
  /// of a tie (the kernel's float sums may pick either side).
  bool reference(const float *x, std::vector<double> &out) const {
    std::vector<double> hv(h);
    for (int64_t i = 0; i < h; ++i)
      hv[i] = neuron(x, i);
    std::vector<bool> keep(h);
    if (predicted) {
      std::vector<double> t(rank, 0.0), logits(pBias.begin(), pBias.end());
      for (int64_t r = 0; r < rank; ++r)
        for (int64_t j = 0; j < d; ++j)
          t[r] += (double)x[j] * pIn[j * rank + r];
      for (int64_t i = 0; i < h; ++i)
        for (int64_t r = 0; r < rank; ++r)
          logits[i] += t[r] * pOut[r * h + i];
      std::vector<int64_t> order(h);
      std::iota(order.begin(), order.end(), 0);
      std::sort(order.begin(), order.end(),
                [&](int64_t a, int64_t b) { return logits[a] != logits[b] ? logits[a] > logits[b] : a < b; });
      if (logits[order[kept - 1]] - logits[order[kept]] < tieMargin)
        return false;
      for (int64_t k = 0; k < kept; ++k)
        keep[order[k]] = true;
    } else {
      for (int64_t i = 0; i < h; ++i) {
        if (std::abs(std::abs(hv[i]) - threshold) < tieMargin)
          return false;
        keep[i] = std::abs(hv[i]) > threshold;
      }
    }
    out.assign(dOut, 0.0);
    for (int64_t i = 0; i < h; ++i)
      if (keep[i])
        for (int64_t j = 0; j < dOut; ++j)
          out[j] += hv[i] * down[i * dOut + j];
    return true;
  }

  void run(const std::vector<float> &x, int64_t rows, int64_t denseRows, std::vector<float> &out) const {
    out.assign(rows * dOut, -7.0f); // the kernel must overwrite, not accumulate
    uint32_t bits;
    std::memcpy(&bits, &threshold, 4);
    auto addr = [](const std::vector<float> &v) { return v.empty() ? (intptr_t)0 : (intptr_t)v.data(); };
    kernel((intptr_t)x.data(), (intptr_t)out.data(), rows, d, h, dOut, addr(up), addr(upBias),
           addr(gate), addr(gateBias), addr(down), addr(pIn), addr(pOut), addr(pBias), predicted ? rank : 0,
           predicted ? kept : 0, bits, act, denseRows);
  }
};

struct Variant {
  bool gated, predicted;
  int act;
  bool host; // the build for this machine's widest vectors, else the generic one
};

/// How ctest lists a case (instead of the parameter's bytes).
void PrintTo(const Variant &v, std::ostream *os) {
  const char *acts[] = {"relu", "gelu", "silu"};
  *os << (v.gated ? "gated " : "plain ") << (v.predicted ? "predictor " : "threshold ") << acts[v.act]
      << (v.host ? " host" : " generic");
}

/// Runs every path of the kernel on `layer` and compares each row whose
/// choice is not within rounding of a tie with the reference.
void expectEveryPathMatches(const Layer &layer) {
  std::mt19937 rng(3);
  std::normal_distribution<float> n(0.f, 1.f);
  // rows = 1: neuron chunks; 3 rows below dense_rows: per row; 40 rows: GEMM.
  for (auto [rows, denseRows] : {std::pair<int64_t, int64_t>(1, 4), {3, 4}, {40, 4}, {40, 1000}}) {
    std::vector<float> x(rows * layer.d), out;
    for (float &v : x)
      v = n(rng);
    layer.run(x, rows, denseRows, out);
    int64_t checked = 0;
    for (int64_t r = 0; r < rows; ++r) {
      std::vector<double> want;
      if (!layer.reference(&x[r * layer.d], want))
        continue;
      ++checked;
      double scale = 1e-3;
      for (double v : want)
        scale = std::max(scale, std::abs(v));
      for (int64_t j = 0; j < layer.dOut; ++j)
        ASSERT_NEAR(out[r * layer.dOut + j], want[j], 2e-5 * scale)
            << "rows " << rows << " dense_rows " << denseRows << " row " << r << " output " << j;
    }
    EXPECT_GE(checked, (rows + 1) / 2) << "too many near-ties to test";
  }
}

class SparseFFNKernel : public ::testing::TestWithParam<Variant> {
protected:
  /// `layer` set to the case's variant and filled from `seed`.
  void configure(Layer &layer, uint32_t seed) {
    layer.gated = GetParam().gated;
    layer.predicted = GetParam().predicted;
    layer.act = GetParam().act;
    layer.kernel = GetParam().host ? __sinter_sparse_ffn_host : __sinter_sparse_ffn;
    layer.fill(seed + layer.gated + 2 * layer.predicted + 4 * layer.act);
  }
};

TEST_P(SparseFFNKernel, EveryPathEqualsTheReference) {
  Layer layer;
  configure(layer, 7);
  expectEveryPathMatches(layer);
}

TEST_P(SparseFFNKernel, WideLayerEqualsTheReference) {
  // Enough neurons that every chunk of one token runs full groups of four
  // and crosses the kernel's blocks of 64.
  Layer layer;
  layer.d = 70, layer.h = 1203, layer.dOut = 45, layer.rank = 9, layer.kept = 601;
  layer.threshold = 0.05f;
  layer.tieMargin = 1e-5; // a thousand neurons: some lie within 1e-4 of the threshold
  configure(layer, 11);
  expectEveryPathMatches(layer);
}

// (Braces do not protect commas inside a macro's arguments.)
const Variant kVariants[] = {{false, true, Gelu, false}, {false, false, Relu, false}, {true, true, Silu, false},
                             {true, false, Silu, false}, {true, false, Gelu, false}, {false, true, Gelu, true},
                             {false, false, Relu, true},  {true, true, Silu, true},    {true, false, Silu, true},
                             {true, false, Gelu, true}};

std::string variantName(const ::testing::TestParamInfo<Variant> &info) {
  const char *acts[] = {"relu", "gelu", "silu"};
  return std::string(info.param.gated ? "gated_" : "plain_") + (info.param.predicted ? "predictor_" : "threshold_") +
         acts[info.param.act] + (info.param.host ? "_host" : "_generic");
}

INSTANTIATE_TEST_SUITE_P(Variants, SparseFFNKernel, ::testing::ValuesIn(kVariants), variantName);

TEST(SparseFFNKernelSelection, TiesGoToTheLowerIndex) {
  // A predictor whose logits are all equal: the first `kept` neurons win.
  Layer layer;
  layer.predicted = true;
  layer.act = Relu;
  layer.fill(1);
  std::fill(layer.pOut.begin(), layer.pOut.end(), 0.0f);
  std::fill(layer.pBias.begin(), layer.pBias.end(), 1.0f);
  std::vector<float> x(layer.d, 0.5f), out;
  for (auto [kernel, denseRows] : {std::pair<Kernel, int64_t>(__sinter_sparse_ffn, 1000), {__sinter_sparse_ffn, 1},
                                   {__sinter_sparse_ffn_host, 1000}, {__sinter_sparse_ffn_host, 1}}) {
    layer.kernel = kernel; // the generic and the host build; the gather path and the GEMM path
    layer.run(x, 1, denseRows, out);
    std::vector<double> want(layer.dOut, 0.0);
    for (int64_t i = 0; i < layer.kept; ++i)
      for (int64_t j = 0; j < layer.dOut; ++j)
        want[j] += layer.neuron(x.data(), i) * layer.down[i * layer.dOut + j];
    for (int64_t j = 0; j < layer.dOut; ++j)
      EXPECT_NEAR(out[j], want[j], 1e-5) << "dense_rows " << denseRows;
  }
}

TEST(SparseFFNKernelSelection, NaNLogitsRankLastAndSignedZerosTie) {
  // Logits = the bias: NaN for the first neurons, then −0 and +0 (equal, so
  // the lower index wins), the rest negative; kept covers one of the zeros.
  Layer layer;
  layer.predicted = true;
  layer.act = Relu;
  layer.kept = 1;
  layer.fill(2);
  std::fill(layer.pOut.begin(), layer.pOut.end(), 0.0f);
  for (int64_t i = 0; i < layer.h; ++i)
    layer.pBias[i] = i < 10 ? std::nanf("") : -1.0f - (float)i;
  layer.pBias[40] = -0.0f, layer.pBias[41] = 0.0f;
  std::vector<float> x(layer.d, 0.5f), out;
  for (auto [kernel, denseRows] : {std::pair<Kernel, int64_t>(__sinter_sparse_ffn, 1000), {__sinter_sparse_ffn, 1},
                                   {__sinter_sparse_ffn_host, 1000}, {__sinter_sparse_ffn_host, 1}}) {
    layer.kernel = kernel;
    layer.run(x, 1, denseRows, out);
    for (int64_t j = 0; j < layer.dOut; ++j)
      EXPECT_NEAR(out[j], layer.neuron(x.data(), 40) * layer.down[40 * layer.dOut + j], 1e-5)
          << "dense_rows " << denseRows;
  }
}

TEST(SparseFFNKernelSelection, CrowdedBinsStillChooseTheTopK) {
  // One logit in six in [2, 3), taken whole; the rest within 1% of 1.0, so
  // that they share the first histogram's bin and most its second: the
  // last step orders hundreds of candidates below 500 already taken.
  Layer layer;
  layer.predicted = true;
  layer.act = Relu;
  layer.d = 16, layer.h = 3000, layer.dOut = 5, layer.kept = 1000;
  layer.fill(5);
  std::fill(layer.pOut.begin(), layer.pOut.end(), 0.0f);
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> near(1.0f, 1.01f), high(2.0f, 3.0f);
  for (int64_t i = 0; i < layer.h; ++i)
    layer.pBias[i] = i % 6 == 0 ? high(rng) : near(rng);
  std::vector<int64_t> order(layer.h);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return layer.pBias[a] != layer.pBias[b] ? layer.pBias[a] > layer.pBias[b] : a < b;
  });
  std::vector<float> x(layer.d, 0.5f), out;
  std::vector<double> want(layer.dOut, 0.0);
  for (int64_t k = 0; k < layer.kept; ++k)
    for (int64_t j = 0; j < layer.dOut; ++j)
      want[j] += layer.neuron(x.data(), order[k]) * layer.down[order[k] * layer.dOut + j];
  for (auto [kernel, denseRows] : {std::pair<Kernel, int64_t>(__sinter_sparse_ffn, 1000), {__sinter_sparse_ffn, 1},
                                   {__sinter_sparse_ffn_host, 1000}, {__sinter_sparse_ffn_host, 1}}) {
    layer.kernel = kernel;
    layer.run(x, 1, denseRows, out);
    for (int64_t j = 0; j < layer.dOut; ++j)
      EXPECT_NEAR(out[j], want[j], 1e-4 * std::max(1.0, std::abs(want[j]))) << "dense_rows " << denseRows;
  }
}

} // namespace
