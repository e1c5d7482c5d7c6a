// The NVIDIA GPU target (include/sinter/Target/GPUTarget.h).
#include "sinter/Target/GPUTarget.h"
#include "sinter/Target/Pipeline.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"

using namespace mlir;

namespace sinter {

bool isNVPTXTriple(llvm::StringRef triple) { return triple.starts_with("nvptx64"); }

int checkNVPTXChip(llvm::StringRef chip, std::string &error) {
  llvm::StringRef digits = chip;
  unsigned sm = 0;
  if (!digits.consume_front("sm_") || digits.getAsInteger(10, sm) || sm < 80) {
    error = "--mcpu: the GPU target needs sm_80 or newer (e.g. --mcpu=sm_90), not '" + chip.str() + "'";
    return 0;
  }
  return sm;
}

std::string findCUDAToolkit(llvm::StringRef flag, std::string &error) {
  if (flag == "none")
    return "";
  std::string dir = flag.str();
  if (dir.empty())
    dir = llvm::sys::Process::GetEnv("CUDA_HOME").value_or("/usr/local/cuda");
  for (const char *tool : {"ptxas", "fatbinary"}) {
    llvm::SmallString<256> path(dir);
    llvm::sys::path::append(path, "bin", tool);
    if (!llvm::sys::fs::can_execute(path)) {
      if (!flag.empty())
        error = "--cuda-path: '" + flag.str() + "' has no bin/" + tool;
      return "";
    }
  }
  return dir;
}

FailureOr<GPUKernels> lowerToGPUKernels(ModuleOp module, llvm::StringRef chip, llvm::StringRef toolkit) {
  PassManager pm(module.getContext());
  if (failed(applyCommandLineOptions(pm)))
    return failure();
  buildLinalgToNVPTXPipeline(pm, chip, toolkit);
  if (failed(pm.run(module)))
    return failure();
  GPUKernels kernels;
  module.walk([&](gpu::LaunchFuncOp) { ++kernels.launches; });
  module.walk([&](scf::ParallelOp loop) {
    if (!loop->getParentOfType<scf::ParallelOp>())
      ++kernels.hostLoops;
  });
  auto binaries = llvm::to_vector(module.getOps<gpu::BinaryOp>());
  if (binaries.empty())
    return kernels; // nothing to launch: all the work is host code
  if (binaries.size() != 1 || binaries.front().getObjects().size() != 1)
    return module.emitError("sinter: expected the model's kernels in one GPU binary, found ")
           << binaries.size();
  auto object = cast<gpu::ObjectAttr>(binaries.front().getObjects()[0]);
  kernels.image = object.getObject().str();
  kernels.fatbin = object.getFormat() == gpu::CompilationTarget::Fatbin;
  return kernels;
}

LogicalResult lowerGPUHost(ModuleOp module) {
  PassManager pm(module.getContext());
  if (failed(applyCommandLineOptions(pm)))
    return failure();
  buildGPUHostToLLVMPipeline(pm);
  return pm.run(module);
}

} // namespace sinter
