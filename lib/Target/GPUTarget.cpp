// The NVIDIA GPU target (include/sinter/Target/GPUTarget.h).
#include "sinter/Target/GPUTarget.h"
#include "sinter/Target/Pipeline.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Pass/PassManager.h"

using namespace mlir;

namespace sinter {

bool isNVPTXTriple(llvm::StringRef triple) { return triple.starts_with("nvptx64"); }

LogicalResult checkNVPTXChip(llvm::StringRef chip, std::string &error) {
  llvm::StringRef digits = chip;
  unsigned sm = 0;
  if (!digits.consume_front("sm_") || digits.getAsInteger(10, sm) || sm < 80) {
    error = "--mcpu: the GPU target needs sm_80 or newer (e.g. --mcpu=sm_90), not '" + chip.str() + "'";
    return failure();
  }
  return success();
}

FailureOr<PTXKernels> lowerToPTX(ModuleOp module, llvm::StringRef chip) {
  PassManager pm(module.getContext());
  buildLinalgToNVPTXPipeline(pm, chip);
  if (failed(pm.run(module)))
    return failure();
  PTXKernels kernels;
  module.walk([&](gpu::LaunchFuncOp) { ++kernels.launches; });
  auto binaries = llvm::to_vector(module.getOps<gpu::BinaryOp>());
  if (binaries.size() != 1 || binaries.front().getObjects().size() != 1)
    return module.emitError("sinter: expected the model's kernels in one GPU binary, found ")
           << binaries.size();
  kernels.ptx = cast<gpu::ObjectAttr>(binaries.front().getObjects()[0]).getObject().str();
  return kernels;
}

} // namespace sinter
