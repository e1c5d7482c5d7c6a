// The LayerNorm kernel (lib/Runtime/sinter_layer_norm.c), built for the
// host, against a double-precision reference.
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

std::vector<float> run(int64_t rows, int64_t d, const std::vector<float> &x, const std::vector<float> &scale,
                       const std::vector<float> *bias, float eps) {
  std::vector<float> out(rows * d, NAN);
  uint32_t bits;
  std::memcpy(&bits, &eps, sizeof(bits));
  auto addr = [](const float *p) { return (int64_t)(intptr_t)p; };
  __sinter_layer_norm(rows, d, addr(x.data()), addr(scale.data()), bias ? addr(bias->data()) : 0,
                      addr(out.data()), bits);
  return out;
}

TEST(LayerNormKernel, MatchesReference) {
  // d off the vector width (a tail), one wide row set split over threads,
  // a row of constant values (variance 0: only ε), with and without bias.
  std::mt19937 rng(5);
  std::normal_distribution<float> dist(1.f, 3.f);
  for (auto [rows, d, withBias] : {std::tuple{1, 768, true}, {300, 77, true}, {5, 3, false}, {64, 1024, false}}) {
    std::vector<float> x(rows * d), scale(d), bias(d);
    for (float &v : x)
      v = dist(rng);
    for (int64_t j = 0; j < d; ++j)
      x[j] = 2.5f; // row 0 constant
    for (float &v : scale)
      v = dist(rng);
    for (float &v : bias)
      v = dist(rng);
    float eps = 1e-5f;
    std::vector<float> got = run(rows, d, x, scale, withBias ? &bias : nullptr, eps);
    double err = 0;
    for (int64_t r = 0; r < rows; ++r) {
      double mean = 0, var = 0;
      for (int64_t j = 0; j < d; ++j)
        mean += x[r * d + j];
      mean /= d;
      for (int64_t j = 0; j < d; ++j)
        var += (x[r * d + j] - mean) * (x[r * d + j] - mean);
      var /= d;
      for (int64_t j = 0; j < d; ++j) {
        double want = (x[r * d + j] - mean) / std::sqrt(var + eps) * scale[j] + (withBias ? bias[j] : 0.0);
        err = std::max(err, std::fabs(want - got[r * d + j]) / (1.0 + std::fabs(want)));
      }
    }
    EXPECT_LT(err, 1e-5) << "rows " << rows << " d " << d;
  }
}

TEST(LayerNormKernel, IsBitwiseIdenticalForAnyThreadCount) {
  int64_t rows = 257, d = 96;
  std::mt19937 rng(9);
  std::normal_distribution<float> dist(0.f, 1.f);
  std::vector<float> x(rows * d), scale(d, 1.5f), bias(d, -0.25f);
  for (float &v : x)
    v = dist(rng);
  __sinter_set_num_threads(1);
  std::vector<float> one = run(rows, d, x, scale, &bias, 1e-5f);
  __sinter_set_num_threads(3);
  std::vector<float> three = run(rows, d, x, scale, &bias, 1e-5f);
  __sinter_set_num_threads(0);
  EXPECT_EQ(0, std::memcmp(one.data(), three.data(), one.size() * sizeof(float)));
}

} // namespace
