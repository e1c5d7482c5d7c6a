// Calibration profiles: per-layer, per-neuron statistics of FFN
// pre-activations, collected once (sinter-compile --calibration) and reused
// by every compile that names them (--profile). Format: docs/compression.md.
#ifndef SINTER_COMPRESSION_PROFILE_H
#define SINTER_COMPRESSION_PROFILE_H

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sinter {

struct LayerProfile {
  std::string name;       // the FFN's up-projection node
  std::string activation; // σ: "gelu", "relu" or "silu"
  bool gated = false;     // h = σ(x·Wg + bg) ⊙ (x·Wu + bu); the statistics are of the gate's input
  int64_t neurons = 0;
  int64_t samples = 0;     // tokens seen
  std::vector<float> mean; // [neurons]
  /// [neurons][levels]: quantile q of neuron n at level j/(levels-1), as
  /// numpy's default (linear) interpolation of the sorted samples gives it.
  std::vector<float> quantiles;
  /// Optional: the first calibration rows of the FFN's input x,
  /// [rows][inputWidth], on which passes can try what they build.
  int64_t inputWidth = 0;
  std::vector<float> inputs;
  /// Optional, for activation sparsity: the mean of |h_i| (h: what the
  /// down projection reads) [neurons], the layer-wide distribution of |h|
  /// [levels], and a mean importance score per neuron (larger: keep),
  /// e.g. attribution from python/sinter/attribution.py.
  std::vector<float> magnitude, magnitudeQuantiles, score;

  /// Optional: a low-rank predictor of which neurons matter per token,
  /// logits = (x · in) · out + bias with in [d][rank], out [rank][neurons],
  /// trained on the per-token top neurons by score (python/sinter/attribution.py).
  struct Predictor {
    int64_t rank = 0, inputWidth = 0;
    std::vector<float> in, out, bias;
    double labelSparsity = 0; // the labels: the top (1 − p) neurons per token
    double recall = -1;       // on held-out tokens, at labelSparsity; -1 unknown
  } predictor;

  int64_t inputRows() const { return inputWidth ? (int64_t)inputs.size() / inputWidth : 0; }

  const float *neuronQuantiles(int64_t n, int64_t levels) const { return quantiles.data() + n * levels; }
};

struct Profile {
  static constexpr int kVersion = 1;
  static constexpr int64_t kDefaultLevels = 201; // steps of 0.5%
  std::string source; // the calibration file
  std::string scoreMethod; // how the layers' `score` was made; empty when none is
  int64_t tokens = 0;
  int64_t levels = kDefaultLevels;
  std::vector<LayerProfile> layers;

  const LayerProfile *find(llvm::StringRef name) const;
};

/// Writes `profile` as JSON; false with `error` set on failure.
bool writeProfile(const Profile &profile, llvm::StringRef path, std::string &error);
/// Reads a profile, checking its version and every array's length.
std::optional<Profile> readProfile(llvm::StringRef path, std::string &error);
/// The same from the file's contents (`path` names it in errors).
std::optional<Profile> parseProfile(llvm::StringRef text, llvm::StringRef path, std::string &error);

/// The quantiles at `levels` evenly spaced levels of `samples` (sorted in
/// place), numpy's linear interpolation.
void computeQuantiles(std::vector<float> &samples, int64_t levels, float *out);

} // namespace sinter

#endif
