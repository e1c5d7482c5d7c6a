#ifndef SINTER_FRONTEND_ONNXIMPORTER_H
#define SINTER_FRONTEND_ONNXIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringRef.h"

namespace sinter {

/// Attribute names the importer puts on the entry function's arguments and
/// results, read by code generation to describe the model's C ABI.
inline constexpr llvm::StringLiteral kTensorNameAttr = "sinter.name";
inline constexpr llvm::StringLiteral kDimNamesAttr = "sinter.dim_names";
inline constexpr llvm::StringLiteral kEntryName = "main_graph";
/// Functions besides main_graph that the emitted object exports, each with a
/// sinter_model descriptor of its own (--train-lora's entries), carry this
/// unit attribute.
inline constexpr llvm::StringLiteral kEntryAttr = "sinter.entry";

/// Whether `op` (a function) is exported: main_graph or marked kEntryAttr.
inline bool isEntryFunction(mlir::Operation *op) {
  auto name = op->getAttrOfType<mlir::StringAttr>("sym_name");
  return (name && name.getValue() == kEntryName) || op->hasAttr(kEntryAttr);
}

/// Imports a serialized ONNX ModelProto into a module holding one function,
/// `main_graph`, in the nn dialect. `baseDir` resolves external-data
/// locations (relative paths only). Errors are emitted as MLIR diagnostics
/// naming the node, input or initializer; returns null on failure.
mlir::OwningOpRef<mlir::ModuleOp> importONNX(mlir::MLIRContext &ctx,
                                             llvm::StringRef bytes,
                                             llvm::StringRef baseDir,
                                             llvm::StringRef sourceName);

/// Reads and imports a model file.
mlir::OwningOpRef<mlir::ModuleOp> importONNXFile(mlir::MLIRContext &ctx,
                                                 llvm::StringRef path);

} // namespace sinter

#endif
