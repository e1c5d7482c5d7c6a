// The NVIDIA GPU target (--target=nvptx64-nvidia-cuda): which triples and
// chips it takes, and a model's kernels as PTX.
#ifndef SINTER_TARGET_GPUTARGET_H
#define SINTER_TARGET_GPUTARGET_H

#include "mlir/IR/BuiltinOps.h"

#include <string>

namespace sinter {

/// Whether `triple` names the NVIDIA GPU target.
bool isNVPTXTriple(llvm::StringRef triple);

/// Checks a --mcpu for it: sm_80 or newer.
mlir::LogicalResult checkNVPTXChip(llvm::StringRef chip, std::string &error);

/// The GPU kernels of a model lowered to linalg on tensors, as one PTX
/// module for `chip` (buildLinalgToNVPTXPipeline), and how many kernel
/// launches the host side makes.
struct PTXKernels {
  std::string ptx;
  int64_t launches = 0;
};
mlir::FailureOr<PTXKernels> lowerToPTX(mlir::ModuleOp module, llvm::StringRef chip);

} // namespace sinter

#endif
