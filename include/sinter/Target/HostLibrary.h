// Building a module into a shared library for this machine and loading it
// in process: what calibration and in-compiler evaluation run.
#ifndef SINTER_TARGET_HOSTLIBRARY_H
#define SINTER_TARGET_HOSTLIBRARY_H

#include "sinter/runtime/sinter.h"

#include "mlir/IR/BuiltinOps.h"

#include <memory>
#include <string>

namespace sinter {

/// Lowers `module` (nn level; it is consumed) through the whole pipeline and
/// links it for the host at `path`, exporting the getter `name`.
mlir::LogicalResult buildHostLibrary(mlir::ModuleOp module, llvm::StringRef name, llvm::StringRef path,
                                     std::string &error);

/// A shared library loaded into this process; unloaded when destroyed.
class LoadedModel {
public:
  static std::unique_ptr<LoadedModel> load(llvm::StringRef path, llvm::StringRef name, std::string &error);
  /// buildHostLibrary into a temporary file, loaded; the file is removed
  /// once loaded. `module` is consumed as by buildHostLibrary.
  static std::unique_ptr<LoadedModel> build(mlir::ModuleOp module, llvm::StringRef name, std::string &error);
  ~LoadedModel();
  const sinter_model *model() const { return m; }

private:
  LoadedModel(void *handle, const sinter_model *m) : handle(handle), m(m) {}
  void *handle;
  const sinter_model *m;
};

} // namespace sinter

#endif
