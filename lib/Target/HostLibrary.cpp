#include "sinter/Target/HostLibrary.h"

#include "sinter/Frontend/ONNXImporter.h"
#include "sinter/Target/ObjectEmitter.h"
#include "sinter/Target/Pipeline.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"

#include <dlfcn.h>

using namespace mlir;

namespace sinter {

LogicalResult buildHostLibrary(ModuleOp module, llvm::StringRef name, llvm::StringRef path, std::string &error) {
  TargetOptions topts{"", "host", 3, name.str()};
  markEntriesForC(module);
  if (failed(lowerModule(module, Stage::NN, Stage::Linalg))) {
    error = "lowering to linalg failed";
    return failure();
  }
  auto abi = describeModel(module);
  if (failed(abi) || failed(lowerModule(module, Stage::Linalg, Stage::LLVM, gemmPanelWidth(runtimeVariant(topts))))) {
    error = "lowering to LLVM failed";
    return failure();
  }
  llvm::LLVMContext llvmCtx;
  auto llvmModule = buildLLVMModule(module, *abi, topts, llvmCtx);
  if (failed(llvmModule)) {
    error = "building the LLVM module failed";
    return failure();
  }
  llvm::SmallString<256> object;
  if (auto ec = llvm::sys::fs::createTemporaryFile("sinter", "o", object)) {
    error = "cannot create a temporary file: " + ec.message();
    return failure();
  }
  llvm::FileRemover remover(object);
  if (failed(writeObject(**llvmModule, topts, object, error)) || failed(linkSharedLibrary({llvm::StringRef(object)}, path, topts, error)))
    return failure();
  return success();
}

std::unique_ptr<LoadedModel> LoadedModel::load(llvm::StringRef path, llvm::StringRef name, std::string &error) {
  void *handle = dlopen(path.str().c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    error = std::string("cannot load '") + path.str() + "': " + dlerror();
    return nullptr;
  }
  auto getter = reinterpret_cast<const sinter_model *(*)()>(dlsym(handle, name.str().c_str()));
  const sinter_model *m = getter ? getter() : nullptr;
  if (!m || m->abi_version != SINTER_ABI_VERSION) {
    error = "'" + path.str() + "' does not export a Sinter model '" + name.str() + "'";
    dlclose(handle);
    return nullptr;
  }
  return std::unique_ptr<LoadedModel>(new LoadedModel(handle, m));
}

std::unique_ptr<LoadedModel> LoadedModel::build(ModuleOp module, llvm::StringRef name, std::string &error) {
  llvm::SmallString<256> path;
  if (auto ec = llvm::sys::fs::createTemporaryFile(name, "so", path)) {
    error = "cannot create a temporary file: " + ec.message();
    return nullptr;
  }
  llvm::FileRemover remover(path); // a loaded library needs no file
  if (failed(buildHostLibrary(module, name, path, error)))
    return nullptr;
  return load(path, name, error);
}

LoadedModel::~LoadedModel() { dlclose(handle); }

} // namespace sinter
