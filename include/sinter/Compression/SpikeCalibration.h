// Coarse calibration of spiking conversion (FAS stage 2): per-layer scales
// of the neurons' thresholds chosen on calibration text by running the
// spiking model against its ANN (docs/compression.md, "spike").
#ifndef SINTER_COMPRESSION_SPIKECALIBRATION_H
#define SINTER_COMPRESSION_SPIKECALIBRATION_H

#include "sinter/Dialect/Spike/SpikeDialect.h"

#include "mlir/IR/BuiltinOps.h"

#include <string>
#include <vector>

namespace sinter {

struct SpikeCalibrationOptions {
  std::string textPath;       // calibration text, each byte a token id
  int64_t tokens = 1024;      // tokens to run, in windows of `window`
  int64_t window = 128;
  double membrane = 0.5;      // initial membrane, a fraction of the threshold
  std::vector<double> grid;   // candidate scales per layer
  int sweeps = 2;             // passes of coordinate search over the layers
};

struct SpikeCalibration {
  std::vector<double> scales;  // per layer, in the order of the neurons given
  std::vector<double> rates;   // firing rate per layer with those scales
  double klBits = 0;           // mean KL(ANN ‖ SNN) per token, bits, with them
  double klBitsUnscaled = 0;   // the same with every scale 1
  int64_t tokens = 0;
};

/// Chooses a threshold scale per layer of `neurons` (the spike.if ops of
/// `snn`'s entry, thresholds and membranes constant, their spikes read by
/// spike.values) that minimises the mean KL(ANN ‖ SNN) of the next-token
/// distributions on the calibration text, by coordinate search over
/// `grid`. `ann` is the model before conversion. Neither module is
/// modified: each is copied and built into a library for this machine
/// (the SNN's with its thresholds and membranes as inputs).
std::optional<SpikeCalibration> calibrateSpiking(mlir::ModuleOp ann, mlir::ModuleOp snn,
                                                 llvm::ArrayRef<spike::IFOp> neurons,
                                                 const SpikeCalibrationOptions &opts, std::string &error);

} // namespace sinter

#endif
