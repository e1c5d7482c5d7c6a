#include "sinter/Compression/Linearization.h"

#include <algorithm>
#include <cmath>

namespace sinter {

namespace {
constexpr int kPointsPerStep = 8;

/// Calls fn(z, weight) for the spread-out points of quantile steps
/// [first, last), each step's mass 1/(levels−1).
template <typename Fn>
void forEachPoint(const float *q, int64_t levels, int64_t first, int64_t last, Fn fn) {
  double w = 1.0 / ((levels - 1) * kPointsPerStep);
  for (int64_t t = first; t < last; ++t)
    for (int s = 0; s < kPointsPerStep; ++s)
      fn(q[t] + (s + 0.5) / kPointsPerStep * ((double)q[t + 1] - q[t]), w);
}
} // namespace

NeuronFit fitNeuron(const float *q, int64_t levels, double coverage, FFNActivation act) {
  int64_t steps = levels - 1;
  int64_t k = std::clamp<int64_t>(std::llround(coverage * steps), 1, steps);
  int64_t best = 0;
  for (int64_t j = 1; j + k <= steps; ++j)
    if ((double)q[j + k] - q[j] < (double)q[best + k] - q[best])
      best = j;
  NeuronFit fit;
  fit.lower = q[best];
  fit.upper = q[best + k];
  double sw = 0, sz = 0, szz = 0, sy = 0, szy = 0;
  forEachPoint(q, levels, best, best + k, [&](double z, double w) {
    double y = applyActivation(act, z);
    sw += w, sz += w * z, szz += w * z * z, sy += w * y, szy += w * z * y;
  });
  double var = sw * szz - sz * sz;
  double slope = var > 1e-12 * sw * szz ? (sw * szy - sz * sy) / var : 0.0;
  fit.slope = (float)slope;
  fit.intercept = (float)((sy - slope * sz) / sw);
  auto error = [&](double z, double w) {
    double e = applyActivation(act, z) - (fit.slope * z + fit.intercept);
    fit.outsideError += w * e * e;
  };
  forEachPoint(q, levels, 0, best, error);
  forEachPoint(q, levels, best + k, steps, error);
  return fit;
}

float quantizePredictorRow(const float *w, int64_t n, int64_t stride, int bits, uint8_t *codes) {
  int top = (1 << bits) - 1; // largest level
  double maxAbs = 0;
  for (int64_t i = 0; i < n; ++i)
    maxAbs = std::max(maxAbs, (double)std::abs(w[i * stride]));
  int64_t planeBytes = (n + 7) / 8;
  std::fill(codes, codes + predictorRowBytes(n, bits), 0);
  if (maxAbs == 0)
    return 0.0f;
  auto codeOf = [&](double v, double scale) {
    // Nearest odd level: k = round((v/scale + top) / 2), clamped.
    return (int)std::clamp<double>(std::round((v / scale + top) / 2), 0, top);
  };
  double bestScale = maxAbs / top, bestErr = INFINITY;
  for (int g = 1; g <= 40; ++g) {
    double scale = maxAbs / top * g / 40.0;
    double err = 0;
    for (int64_t i = 0; i < n; ++i) {
      double v = w[i * stride], e = v - scale * predictorLevel(codeOf(v, scale), bits);
      err += e * e;
    }
    if (err < bestErr)
      bestErr = err, bestScale = scale;
  }
  float scale = (float)bestScale;
  for (int64_t i = 0; i < n; ++i) {
    int code = codeOf(w[i * stride], scale);
    for (int p = 0; p < bits; ++p)
      codes[p * planeBytes + i / 8] |= (uint8_t)(((code >> p) & 1) << (i % 8));
  }
  return scale;
}

} // namespace sinter
