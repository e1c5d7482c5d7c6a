#ifndef SINTER_TRANSFORMS_PASSES_H
#define SINTER_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"
#include "sinter/Dialect/NN/NNDialect.h"

namespace sinter {
/// Attributes of the entry function set by InsertRuntimeChecks.
inline constexpr llvm::StringLiteral kStatusAttr = "sinter.status";
inline constexpr llvm::StringLiteral kCheckNamesAttr = "sinter.check_names";

/// The rewrites of sinter-raise-activations, for passes that need nn.gelu.
void populateRaiseActivationsPatterns(mlir::RewritePatternSet &patterns);

#define GEN_PASS_DECL
#include "sinter/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "sinter/Transforms/Passes.h.inc"
} // namespace sinter

#endif
