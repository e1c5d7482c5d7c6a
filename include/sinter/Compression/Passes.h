#ifndef SINTER_COMPRESSION_PASSES_H
#define SINTER_COMPRESSION_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "sinter/Dialect/NN/NNDialect.h"

namespace sinter {
/// Module attribute where compression passes leave one dictionary per
/// rewritten layer; sinter-compile copies it into the compile report.
inline constexpr llvm::StringLiteral kCompressionReportAttr = "sinter.compression_report";

/// Appends per-layer entries to the module's kCompressionReportAttr.
void appendCompressionReport(mlir::ModuleOp module, llvm::ArrayRef<mlir::Attribute> entries);

#define GEN_PASS_DECL
#include "sinter/Compression/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "sinter/Compression/Passes.h.inc"
} // namespace sinter

#endif
