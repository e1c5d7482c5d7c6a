#ifndef SINTER_COMPRESSION_PASSES_H
#define SINTER_COMPRESSION_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "sinter/Compression/Profile.h"
#include "sinter/Dialect/BNN/BNNDialect.h"
#include "sinter/Dialect/GSE/GSEDialect.h"
#include "sinter/Dialect/NN/NNDialect.h"
#include "sinter/Dialect/Spike/SpikeDialect.h"

namespace sinter {
/// Module attribute where compression passes leave one dictionary per
/// rewritten layer; sinter-compile copies it into the compile report.
inline constexpr llvm::StringLiteral kCompressionReportAttr = "sinter.compression_report";

/// What an FFN rewrite starts with: the profile at `path`, read, and the
/// module's exported activations raised to nn ops (the blocks are matched
/// on nn.gelu, which exporters spell as erf). Nothing with `error` set if
/// the profile cannot be read.
std::optional<Profile> prepareFFNRewrite(mlir::ModuleOp module, llvm::StringRef path, std::string &error);

/// Appends per-layer entries to the module's kCompressionReportAttr.
void appendCompressionReport(mlir::ModuleOp module, llvm::ArrayRef<mlir::Attribute> entries);

#define GEN_PASS_DECL
#include "sinter/Compression/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "sinter/Compression/Passes.h.inc"
} // namespace sinter

#endif
