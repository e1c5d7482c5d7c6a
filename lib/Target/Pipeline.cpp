// The lowering pipeline from nn to the LLVM dialect, as one place that the
// compiler and sinter-opt (`--sinter-lower-to-llvm`) share.
#include "sinter/Target/Pipeline.h"

#include "mlir/InitAllPasses.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/FormatVariadic.h"

#include <mutex>
#include "sinter/Conversion/Passes.h"
#include "sinter/Transforms/Passes.h"

using namespace mlir;

namespace sinter {

namespace {
// Tensor level: raise decomposed activations, fuse attention blocks into
// the CPU runtime's kernel ({0}: the pass, or nothing for GPUs), lower nn
// (LayerNorm to the CPU runtime's kernel unless {1} is false), fuse
// elementwise producers into consumers.
constexpr const char *kToLinalgFormat =
    "sinter-raise-activations,{0}sinter-insert-runtime-checks,convert-nn-to-linalg{{runtime-kernels={1}},"
    "canonicalize,cse,"
    "func.func(sinter-fuse-elementwise),canonicalize,cse";

// Contractions started from their addends, and one zero fill per user (CSE
// shared them: bufferization would copy), then buffers, then f32
// contractions to the runtime's GEMM kernel (constant
// weights packed for it; formatv's {0} is the panel width), loops, LLVM.
// Results are returned as owned buffers that the runtime frees; inputs are
// never written. Buffers come from an aligned allocation, so that a result
// starts at its allocation and the ABI hands it to the caller uncopied.
constexpr const char *kToLLVMFormat =
    "func.func(sinter-fold-addends-into-contraction),one-shot-bufferize{{bufferize-function-boundaries "
    "function-boundary-type-conversion=identity-layout-map},"
    "canonicalize,buffer-deallocation-pipeline,convert-bufferization-to-memref,"
    "sinter-linalg-to-ukernel{{panel-width={0} release-packed={1}},symbol-dce,"
    "func.func(convert-linalg-to-parallel-loops),sinter-parallel-loops-to-runtime,{2}"
    "reconcile-unrealized-casts,canonicalize";

// Host code from loops and memrefs to the LLVM dialect, for CPU and GPU
// objects alike (the runtime's allocator behind memref.alloc).
constexpr const char *kHostToLLVM =
    "expand-strided-metadata,lower-affine,convert-scf-to-cf,"
    "func.func(sinter-approximate-math,math-expand-ops,sinter-expand-bf16),"
    "convert-math-to-llvm,convert-math-to-libm,finalize-memref-to-llvm{use-generic-functions=1 use-aligned-alloc=1},"
    "convert-arith-to-llvm,convert-index-to-llvm,convert-func-to-llvm,"
    "convert-cf-to-llvm,";

// GPU kernels (NVPTX): the same buffers, then f32 contractions as kernels
// with shared-memory tiles, every other loop nest as a parallel loop listed
// innermost dimension first (thread x walks contiguous memory), tiled
// 16×16 and mapped to blocks (the tiles) and threads (within a tile; the
// tiles' bounds folded first, without which convert-parallel-loops-to-gpu
// leaves loops of three or more dimensions on the host),
// outlined, merged into one module, lowered to NVVM (math approximated
// inline, as on the CPU, again after math-expand-ops made exp and log of
// pow; what is left — floor, fabs, sqrt — as LLVM intrinsics the NVPTX
// backend has instructions for, so that no libdevice call is made),
// serialized for the chip {0} as
// format {1} (isa: PTX; fatbin: cubin and PTX, through the toolkit's
// ptxas and fatbinary, {2} naming the toolkit).
constexpr const char *kToNVPTXFormat =
    "one-shot-bufferize{{bufferize-function-boundaries "
    "function-boundary-type-conversion=identity-layout-map},"
    "canonicalize,buffer-deallocation-pipeline,convert-bufferization-to-memref,"
    "func.func(sinter-gpu-tile-contractions,convert-linalg-to-parallel-loops,sinter-innermost-parallel-dim-first,"
    "scf-parallel-loop-tiling{{parallel-loop-tile-sizes=16,16},"
    "canonicalize,gpu-map-parallel-loops),convert-parallel-loops-to-gpu,gpu-kernel-outlining,sinter-merge-gpu-modules,"
    "nvvm-attach-target{{chip={0} O=3},"
    "gpu.module(expand-strided-metadata,lower-affine,convert-scf-to-cf,sinter-approximate-math,math-expand-ops,"
    "sinter-approximate-math,sinter-math-to-nvptx-intrinsics,convert-gpu-to-nvvm,reconcile-unrealized-casts),"
    "gpu-module-to-binary{{format={1}{2}}";

// A GPU object's host side: the same host lowering, then launches (their
// operands as memref descriptors, as convert-gpu-to-nvvm passes them) and
// constants to the object's CUDA runtime.
constexpr const char *kGPUHostToLLVMFormat =
    "{0}gpu-to-llvm,sinter-gpu-host-to-runtime,reconcile-unrealized-casts,canonicalize";

void addPipeline(OpPassManager &pm, StringRef text) {
  // The textual pipelines name passes, so they must be registered.
  static std::once_flag once;
  std::call_once(once, [] {
    registerAllPasses();
    registerConversionPasses();
    registerTransformsPasses();
  });
  if (failed(parsePassPipeline(text, pm)))
    llvm::report_fatal_error("sinter: invalid built-in pass pipeline");
}
} // namespace

void buildLowerToLinalgPipeline(OpPassManager &pm, bool fuseAttention) {
  addPipeline(pm, llvm::formatv(kToLinalgFormat, fuseAttention ? "sinter-fuse-attention," : "",
                                fuseAttention ? "true" : "false")
                      .str());
}
void buildLinalgToLLVMPipeline(OpPassManager &pm, int64_t gemmPanelWidth, bool releasePackedWeights) {
  addPipeline(pm, llvm::formatv(kToLLVMFormat, gemmPanelWidth, releasePackedWeights ? "true" : "false", kHostToLLVM)
                      .str());
}

void buildLinalgToNVPTXPipeline(OpPassManager &pm, StringRef chip, StringRef toolkit) {
  std::string format = toolkit.empty() ? "isa" : "fatbin toolkit=" + toolkit.str();
  addPipeline(pm, llvm::formatv(kToNVPTXFormat, chip, format, "").str());
}

void buildGPUHostToLLVMPipeline(OpPassManager &pm) {
  addPipeline(pm, llvm::formatv(kGPUHostToLLVMFormat, kHostToLLVM).str());
}

void registerPipelines() {
  PassPipelineRegistration<>("sinter-lower-to-linalg", "Lower nn to linalg on tensors",
                             [](OpPassManager &pm) { buildLowerToLinalgPipeline(pm); });
  PassPipelineRegistration<>("sinter-lower-to-llvm", "Lower linalg on tensors to the LLVM dialect",
                             [](OpPassManager &pm) { buildLinalgToLLVMPipeline(pm, 0); });
  PassPipelineRegistration<>("sinter-lower-to-nvptx", "Lower linalg on tensors to GPU kernels in PTX for sm_90",
                             [](OpPassManager &pm) { buildLinalgToNVPTXPipeline(pm, "sm_90"); });
  PassPipelineRegistration<>("sinter-lower-gpu-host-to-llvm",
                             "Lower the host side of GPU kernels (after sinter-lower-to-nvptx) to the LLVM dialect",
                             [](OpPassManager &pm) { buildGPUHostToLLVMPipeline(pm); });
}

namespace {
// Whether a tool registered MLIR's pass-manager options: applying them
// fails where they do not exist (the unit tests, the Python host library).
bool passManagerOptionsRegistered = false;
} // namespace

void registerPassManagerOptions() {
  registerPassManagerCLOptions();
  registerDefaultTimingManagerCLOptions();
  passManagerOptionsRegistered = true;
}

LogicalResult applyCommandLineOptions(PassManager &pm) {
  if (!passManagerOptionsRegistered)
    return success();
  if (failed(applyPassManagerCLOptions(pm)))
    return failure();
  applyDefaultTimingPassManagerCLOptions(pm);
  return success();
}

LogicalResult lowerModule(ModuleOp module, Stage from, Stage to, int64_t gemmPanelWidth,
                          bool releasePackedWeights, bool cpuKernels) {
  PassManager pm(module.getContext());
  if (failed(applyCommandLineOptions(pm)))
    return failure();
  if (from == Stage::NN && to != Stage::NN)
    buildLowerToLinalgPipeline(pm, cpuKernels);
  if (from != Stage::LLVM && to == Stage::LLVM)
    buildLinalgToLLVMPipeline(pm, gemmPanelWidth, releasePackedWeights);
  return pm.run(module);
}

} // namespace sinter
