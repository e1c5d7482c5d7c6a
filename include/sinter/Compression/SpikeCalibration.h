// Coarse-to-fine calibration of spiking conversion (FAS stage 2) on
// calibration text, running the spiking model against its ANN: per-layer
// threshold scales, then each neuron's threshold and initial membrane
// (docs/compression.md, "spike").
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
  bool fine = true;           // then fit each neuron's threshold and membrane
};

struct SpikeCalibration {
  std::vector<double> scales;                  // coarse: per layer, in the order of the neurons given
  std::vector<bool> fitted;                    // fine: whether the layer kept its per-neuron fit
  std::vector<std::vector<float>> thresholds;  // the result, per layer and neuron
  std::vector<std::vector<float>> membranes;
  std::vector<double> rates;                   // firing rate per layer with them
  double klBitsUnscaled = 0, klBitsCoarse = 0, klBits = 0; // mean KL(ANN ‖ SNN) per token, bits
  int64_t tokens = 0;
};

/// Calibrates `neurons` (the spike.if ops of `snn`'s entry, thresholds and
/// membranes constant, their spikes read by spike.values). Coarse: a
/// threshold scale per layer from `grid` minimising the mean KL(ANN ‖ SNN)
/// of the next-token distributions on the text, by coordinate search.
/// Fine: layer by layer, each neuron's threshold (×0.8 … 1.25) and
/// membrane (0.3 … 0.7 of it) minimising the squared error between its
/// mean output over the steps and the ANN's QCFS activation, kept when the
/// KL drops. `ann` is the model before conversion. Neither module is
/// modified: each is copied and built into a library for this machine
/// (the SNN's with its thresholds and membranes as inputs).
std::optional<SpikeCalibration> calibrateSpiking(mlir::ModuleOp ann, mlir::ModuleOp snn,
                                                 llvm::ArrayRef<spike::IFOp> neurons,
                                                 const SpikeCalibrationOptions &opts, std::string &error);

} // namespace sinter

#endif
