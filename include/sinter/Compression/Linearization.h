// The arithmetic of FFN linearization (TARDIS, docs/compression.md): fitting
// each neuron's activation by a line on its frequent range, and the low-bit
// predictor of when a neuron leaves that range. Kept apart from the pass so
// that tests and the numpy reference can follow it step by step.
#ifndef SINTER_COMPRESSION_LINEARIZATION_H
#define SINTER_COMPRESSION_LINEARIZATION_H

#include "sinter/Compression/FFNBlocks.h"

#include <cstdint>

namespace sinter {

struct NeuronFit {
  float lower = 0, upper = 0;      // the range holding `coverage` of the samples
  float slope = 0, intercept = 0;  // σ(z) ≈ slope·z + intercept on it
  double outsideError = 0;         // E[(σ(z) − fit)² ; z outside the range]
};

/// Fits one neuron from its calibration quantiles (`levels` of them, evenly
/// spaced, ascending). The range is the narrowest [Q_j, Q_{j+k}] with
/// k = round(coverage·(levels−1)) quantile steps; the line is the least
/// squares fit of σ over the samples in it, each quantile step taken as
/// equal mass spread evenly (8 points per step).
NeuronFit fitNeuron(const float *quantiles, int64_t levels, double coverage, FFNActivation activation);

/// The value of predictor code `k`: the odd level 2k − (2^bits − 1).
inline int predictorLevel(int k, int bits) { return 2 * k - ((1 << bits) - 1); }

/// Bytes of one predictor row: `bits` bit planes of ceil(n/8) bytes each.
inline int64_t predictorRowBytes(int64_t n, int bits) { return bits * ((n + 7) / 8); }

/// The code of weight i in a predictor row of n weights.
inline int predictorCode(const uint8_t *row, int64_t n, int bits, int64_t i) {
  int64_t planeBytes = (n + 7) / 8;
  int code = 0;
  for (int p = 0; p < bits; ++p)
    code |= ((row[p * planeBytes + i / 8] >> (i % 8)) & 1) << p;
  return code;
}

/// How a predictor does on sample rows: the share of (row, neuron) pairs it
/// sends to the exact path, the share truly outside the range, and the
/// share of those it catches.
struct PredictorStats {
  int64_t rows = 0;
  double predicted = 0, outside = 0, recall = 1;
};

/// Quantizes `n` weights (`w[i·stride]`) to `bits`-bit codes stored as bit
/// planes in `codes` (predictorRowBytes bytes: bit t of byte B of plane p
/// is bit p of weight 8B + t's code); returns the scale, chosen from a grid
/// to minimise the squared error.
float quantizePredictorRow(const float *w, int64_t n, int64_t stride, int bits, uint8_t *codes);

} // namespace sinter

#endif
