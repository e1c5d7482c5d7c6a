// The NVIDIA GPU target (--target=nvptx64-nvidia-cuda): which triples and
// chips it takes, the CUDA toolkit that makes cubins, and a model's kernels
// as one CUDA image.
#ifndef SINTER_TARGET_GPUTARGET_H
#define SINTER_TARGET_GPUTARGET_H

#include "mlir/IR/BuiltinOps.h"

#include <string>

namespace sinter {

/// Whether `triple` names the NVIDIA GPU target.
bool isNVPTXTriple(llvm::StringRef triple);

/// Checks a --mcpu for it: sm_80 or newer. Returns the compute capability
/// (90 for sm_90), or 0 with `error` set.
int checkNVPTXChip(llvm::StringRef chip, std::string &error);

/// The CUDA toolkit to compile kernels to cubins with: `flag` (a directory,
/// or "none" for PTX only), else $CUDA_HOME, else /usr/local/cuda; empty if
/// none, or if it lacks bin/ptxas or bin/fatbinary (`error` says which when
/// the flag named it).
std::string findCUDAToolkit(llvm::StringRef flag, std::string &error);

/// The GPU kernels of a model lowered to linalg on tensors, as one CUDA
/// image for `chip` (buildLinalgToNVPTXPipeline): PTX, or with `toolkit` a
/// fatbin of the cubin and the PTX. The module keeps its host side, at the
/// memref level, with the image in its gpu.binary (none, and an empty
/// image, when the model has no parallel loop).
struct GPUKernels {
  std::string image;
  bool fatbin = false;
  int64_t launches = 0;  // gpu.launch_func ops in the host code
  int64_t hostLoops = 0; // parallel loops no kernel took (run on the host)
};
mlir::FailureOr<GPUKernels> lowerToGPUKernels(mlir::ModuleOp module, llvm::StringRef chip,
                                              llvm::StringRef toolkit);

/// Then lowers the host side to the LLVM dialect (buildGPUHostToLLVMPipeline),
/// ready for the object emitter with TargetOptions::gpuSM set.
mlir::LogicalResult lowerGPUHost(mlir::ModuleOp module);

} // namespace sinter

#endif
