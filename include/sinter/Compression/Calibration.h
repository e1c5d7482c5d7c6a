// Calibration: run an instrumented build of the model on calibration text
// and record what the compression passes need (docs/compression.md).
#ifndef SINTER_COMPRESSION_CALIBRATION_H
#define SINTER_COMPRESSION_CALIBRATION_H

#include "sinter/Compression/Profile.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"

#include <optional>
#include <string>

namespace sinter {

struct CalibrationOptions {
  std::string dataPath;     // text (each byte a token id) or a .pb TensorProto of int64 ids
  int64_t window = 128;     // tokens per sequence (at most the model's context)
  int64_t maxTokens = 8192; // tokens to run, from the start of the text
  int64_t batch = 8;        // sequences per run
  bool progress = true;     // report progress on stderr
};

/// Compiles a copy of `module` (nn level, not modified) whose entry also
/// returns every FFN pre-activation, runs it on the calibration text as
/// windows of token ids (text bytes, or the rows of an int64 TensorProto
/// [sequences, length] in a .pb file), and summarises each FFN neuron. The
/// model must take one int64 input [batch, sequence].
std::optional<Profile> calibrate(mlir::ModuleOp module, const CalibrationOptions &opts,
                                 std::string &error);

/// Appends `extra` to the results of `entry`, each with the result
/// attributes of `attrs` (its tensor name): how an instrumented copy of a
/// model exposes inner values to the code that runs it.
void appendEntryResults(mlir::func::FuncOp entry, mlir::ArrayRef<mlir::Value> extra,
                        mlir::ArrayRef<mlir::DictionaryAttr> attrs);

} // namespace sinter

#endif
