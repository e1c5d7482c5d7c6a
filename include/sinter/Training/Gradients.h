// Reverse-mode differentiation of straight-line nn code, built from the ops'
// own rules (nn::GradientOpInterface): what --train-lora and
// sinter-differentiate build their backward passes from.
#ifndef SINTER_TRAINING_GRADIENTS_H
#define SINTER_TRAINING_GRADIENTS_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/Value.h"

namespace sinter {

/// Builds, at `b`'s insertion point (after everything it reads), the
/// gradients of a loss with respect to each of `wrt`, given the gradient of
/// the loss with respect to some values of the same block (`seeds`: value,
/// gradient). Only ops on a path from `wrt` to a seed are differentiated;
/// such an op without a rule is an error that names it. A `wrt` value the
/// seeds do not depend on gets zeros.
mlir::FailureOr<llvm::SmallVector<mlir::Value>>
buildGradients(mlir::OpBuilder &b, llvm::ArrayRef<std::pair<mlir::Value, mlir::Value>> seeds,
               mlir::ArrayRef<mlir::Value> wrt);

} // namespace sinter

#endif
