// The spike dialect's kernels (sinter_spike.c): IF neurons over T steps
// and the accumulate-only product they feed, against a direct C++
// transcription of the neuron rule and a float64 sum of the weight rows the
// spikes select. The neurons must match exactly (same f32 operations);
// the product to 1e-5 of the sum of the terms' magnitudes. Cases cover
// unsigned and signed neurons, thresholds per layer and per neuron, firing
// rates on both sides of the event-driven / SGEMM switch, widths that are
// no multiple of the 64-output tile and 1 or 2 threads.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

extern "C" {
#include "sinter_internal.h"
void __sinter_spike_linear(intptr_t current, intptr_t out, int64_t rows, int64_t steps, int64_t k, intptr_t theta,
                           int64_t per_neuron, intptr_t membrane, int64_t bound, int64_t n, intptr_t weight);
void __sinter_spike_values(intptr_t current, intptr_t out, int64_t rows, int64_t steps, int64_t k, intptr_t theta,
                           int64_t per_neuron, intptr_t membrane, int64_t bound);
}

namespace {

struct Case {
  int64_t perStep, steps, k, n;
  bool perNeuron;
  int64_t bound; // 0: unsigned
  float drive;   // mean current in thresholds: sets the firing rate
  int threads;
};

std::ostream &operator<<(std::ostream &os, const Case &c) {
  return os << c.perStep << " rows x " << c.steps << " steps, k=" << c.k << " n=" << c.n
            << (c.perNeuron ? " per-neuron" : " per-layer") << " bound=" << c.bound << " drive=" << c.drive
            << " threads=" << c.threads;
}

/// The neuron rule, step by step: spikes [steps·rows][k].
std::vector<int8_t> referenceSpikes(const Case &c, const std::vector<float> &x, const std::vector<float> &theta,
                                    const std::vector<float> &v0) {
  std::vector<int8_t> s(c.steps * c.perStep * c.k);
  for (int64_t r = 0; r < c.perStep; ++r)
    for (int64_t j = 0; j < c.k; ++j) {
      float th = theta[c.perNeuron ? j : 0], v = v0[c.perNeuron ? j : 0];
      int64_t count = 0;
      for (int64_t t = 0; t < c.steps; ++t) {
        int64_t i = (t * c.perStep + r) * c.k + j;
        float m = v + x[i];
        int8_t f = 0;
        if (m >= th && (!c.bound || count < c.bound))
          f = 1;
        else if (c.bound && m < 0.0f && count > 0)
          f = -1;
        v = f > 0 ? m - th : f < 0 ? m + th : m;
        count += f;
        s[i] = f;
      }
    }
  return s;
}

class SpikeKernel : public ::testing::TestWithParam<Case> {
protected:
  void TearDown() override { __sinter_set_num_threads(0); }
};

TEST_P(SpikeKernel, MatchesTheNeuronRuleAndTheSelectedWeightRows) {
  const Case c = GetParam();
  __sinter_set_num_threads(c.threads);
  std::mt19937 rng(c.k * 131 + c.n * 7 + c.steps);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> uniform(0.5f, 2.0f);
  const int64_t rows = c.steps * c.perStep;
  std::vector<float> theta(c.perNeuron ? c.k : 1), v0(theta.size());
  for (size_t j = 0; j < theta.size(); ++j)
    theta[j] = uniform(rng), v0[j] = 0.5f * theta[j];
  std::vector<float> x(rows * c.k), w(c.k * c.n);
  for (int64_t i = 0; i < rows * c.k; ++i)
    x[i] = (c.drive + 0.6f * normal(rng)) * theta[c.perNeuron ? i % c.k : 0];
  for (float &v : w)
    v = normal(rng);

  std::vector<int8_t> spikes = referenceSpikes(c, x, theta, v0);
  std::vector<float> y(rows * c.n, NAN), values(rows * c.k, NAN);
  __sinter_spike_linear((intptr_t)x.data(), (intptr_t)y.data(), rows, c.steps, c.k, (intptr_t)theta.data(),
                        c.perNeuron, (intptr_t)v0.data(), c.bound, c.n, (intptr_t)w.data());
  __sinter_spike_values((intptr_t)x.data(), (intptr_t)values.data(), rows, c.steps, c.k, (intptr_t)theta.data(),
                        c.perNeuron, (intptr_t)v0.data(), c.bound);
  int64_t fired = 0, negative = 0;
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < c.k; ++j) {
      int8_t s = spikes[i * c.k + j];
      fired += s != 0, negative += s < 0;
      ASSERT_EQ(values[i * c.k + j], (float)s * theta[c.perNeuron ? j : 0]) << "row " << i << " neuron " << j;
    }
    for (int64_t o = 0; o < c.n; ++o) {
      double sum = 0, scale = 0;
      for (int64_t j = 0; j < c.k; ++j)
        if (int8_t s = spikes[i * c.k + j])
          sum += s * (double)w[j * c.n + o], scale += std::fabs(w[j * c.n + o]);
      ASSERT_NEAR(y[i * c.n + o], sum, 1e-5 * scale + 1e-30) << "row " << i << " output " << o;
    }
  }
  double rate = (double)fired / (rows * c.k);
  // The cases are built to run each kernel path: check that they do.
  if (c.drive < 0.2f)
    EXPECT_LT(rate, 0.2) << "meant for the event-driven path";
  if (c.drive > 0.8f)
    EXPECT_GT(rate, 0.2) << "meant for the SGEMM path";
  if (c.bound)
    EXPECT_GT(negative, 0) << "signed cases should fire negative spikes";
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, SpikeKernel,
    ::testing::Values(Case{16, 8, 96, 64, true, 0, -0.1f, 1}, Case{16, 8, 96, 64, true, 0, 1.2f, 1},
                      Case{7, 4, 37, 70, false, 0, -0.1f, 2}, Case{7, 4, 37, 70, false, 0, 1.2f, 2},
                      Case{5, 6, 50, 130, true, 6, -0.15f, 1}, Case{5, 6, 50, 130, true, 3, 1.2f, 2},
                      Case{33, 1, 20, 1, false, 0, 0.0f, 2}, Case{1, 16, 8, 200, true, 0, 0.05f, 1}));

TEST(SpikeKernelEdges, EmptyAndZeroWidth) {
  float x = 1.0f, theta = 0.5f, v0 = 0.25f, w = 2.0f, y = NAN;
  // No rows: nothing written.
  __sinter_spike_linear((intptr_t)&x, (intptr_t)&y, 0, 1, 1, (intptr_t)&theta, 0, (intptr_t)&v0, 0, 1, (intptr_t)&w);
  EXPECT_TRUE(std::isnan(y));
  // No neurons: the product is empty, so zero.
  __sinter_spike_linear((intptr_t)&x, (intptr_t)&y, 1, 1, 0, (intptr_t)&theta, 0, (intptr_t)&v0, 0, 1, (intptr_t)&w);
  EXPECT_EQ(y, 0.0f);
  // One neuron, one step: 0.25 + 1 ≥ 0.5 fires, so y = w.
  __sinter_spike_linear((intptr_t)&x, (intptr_t)&y, 1, 1, 1, (intptr_t)&theta, 0, (intptr_t)&v0, 0, 1, (intptr_t)&w);
  EXPECT_EQ(y, 2.0f);
}

} // namespace
