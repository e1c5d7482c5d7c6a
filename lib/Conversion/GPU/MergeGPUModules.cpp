// sinter-merge-gpu-modules (include/sinter/Conversion/Passes.td): one
// gpu.module, one PTX module, for all of a model's kernels.
#include "sinter/Conversion/Passes.h"

#include "llvm/ADT/StringSet.h"

namespace sinter {
#define GEN_PASS_DEF_MERGEGPUMODULES
#include "sinter/Conversion/Passes.h.inc"
} // namespace sinter

using namespace mlir;

namespace {

struct MergeGPUModulesPass : sinter::impl::MergeGPUModulesBase<MergeGPUModulesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto modules = llvm::to_vector(module.getOps<gpu::GPUModuleOp>());
    if (modules.size() < 2)
      return;
    gpu::GPUModuleOp target = modules.front();
    // Outlining names each module uniquely but may give kernels in
    // different modules one name: a kernel takes its module's name, or
    // module_kernel where a module holds several.
    llvm::DenseMap<std::pair<StringAttr, StringAttr>, StringAttr> renamed;
    llvm::StringSet<> names;
    for (gpu::GPUModuleOp m : modules) {
      auto funcs = llvm::to_vector(m.getOps<gpu::GPUFuncOp>());
      for (gpu::GPUFuncOp f : funcs) {
        std::string name = funcs.size() == 1 ? m.getName().str() : (m.getName() + "_" + f.getName()).str();
        if (!names.insert(name).second) {
          f.emitError() << "sinter-merge-gpu-modules: two kernels named '" << name << "'";
          return signalPassFailure();
        }
        auto newName = StringAttr::get(&getContext(), name);
        renamed[{m.getNameAttr(), f.getNameAttr()}] = newName;
        f.setName(newName);
      }
    }
    Block *body = target.getBody();
    for (gpu::GPUModuleOp m : llvm::drop_begin(modules))
      for (Operation &op : llvm::make_early_inc_range(m.getBody()->without_terminator())) {
        if (body->mightHaveTerminator())
          op.moveBefore(body->getTerminator());
        else
          op.moveBefore(body, body->end());
      }
    module.walk([&](gpu::LaunchFuncOp launch) {
      StringAttr name = renamed.lookup({launch.getKernelModuleName(), launch.getKernelName()});
      if (name)
        launch.setKernelAttr(SymbolRefAttr::get(target.getNameAttr(), {FlatSymbolRefAttr::get(name)}));
    });
    for (gpu::GPUModuleOp m : llvm::drop_begin(modules))
      m.erase();
  }
};

} // namespace
