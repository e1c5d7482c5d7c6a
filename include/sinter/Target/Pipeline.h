#ifndef SINTER_TARGET_PIPELINE_H
#define SINTER_TARGET_PIPELINE_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"

namespace sinter {

/// The stages `--emit` can stop after.
enum class Stage { NN, Linalg, LLVM };

/// Adds nn → linalg (and the tensor-level clean-ups) to `pm`;
/// `fuseAttention`: attention blocks and LayerNorms become calls to the CPU
/// runtime's kernels (off for GPU targets, which have no such kernels).
void buildLowerToLinalgPipeline(mlir::OpPassManager &pm, bool fuseAttention = true);
/// Adds linalg-on-tensors → bufferization → loops → LLVM dialect to `pm`;
/// constant weights are packed for a GEMM kernel with panels of
/// `gemmPanelWidth` columns (0: not packed).
/// `releasePackedWeights`: free the weights that packing leaves unread
/// (only when no other module shares their blobs).
void buildLinalgToLLVMPipeline(mlir::OpPassManager &pm, int64_t gemmPanelWidth,
                               bool releasePackedWeights = false);
/// Adds linalg-on-tensors → bufferization → GPU kernels for NVIDIA GPUs to
/// `pm`: parallel loops tiled 16×16 onto blocks and threads, outlined into
/// one gpu.module, lowered to NVVM and serialized to PTX for `chip`
/// (sm_80 and up) as a gpu.binary: PTX, or with `toolkit` (a CUDA toolkit
/// directory with bin/ptxas and bin/fatbinary) a fatbin holding the cubin
/// and the PTX. The host side stays at the memref level.
void buildLinalgToNVPTXPipeline(mlir::OpPassManager &pm, llvm::StringRef chip, llvm::StringRef toolkit = "");
/// Adds the host side of a module lowered by buildLinalgToNVPTXPipeline →
/// LLVM dialect: kernel launches and constants become calls into the
/// object's CUDA runtime, the binary a constant the object embeds.
void buildGPUHostToLLVMPipeline(mlir::OpPassManager &pm);
/// Registers the `sinter-lower-to-linalg`, `sinter-lower-to-llvm`,
/// `sinter-lower-to-nvptx` and `sinter-lower-gpu-host-to-llvm` pipelines
/// (for sinter-opt).
void registerPipelines();

/// Registers MLIR's pass-manager command-line options (--mlir-timing,
/// --mlir-print-ir-*), before the tool parses its command line.
void registerPassManagerOptions();
/// Applies them to `pm` where they were registered; else does nothing.
mlir::LogicalResult applyCommandLineOptions(mlir::PassManager &pm);

/// Runs the pipeline from `from` up to `to` on `module`, with the
/// command-line pass-manager options; `cpuKernels` off keeps calls to CPU
/// runtime kernels that a GPU target lacks out of the linalg stage.
mlir::LogicalResult lowerModule(mlir::ModuleOp module, Stage from, Stage to,
                                int64_t gemmPanelWidth = 0, bool releasePackedWeights = false,
                                bool cpuKernels = true);

} // namespace sinter

#endif
