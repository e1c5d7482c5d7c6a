#ifndef SINTER_TRAINING_PASSES_H
#define SINTER_TRAINING_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"
#include "sinter/Dialect/NN/NNDialect.h"
#include "sinter/Target/ObjectEmitter.h"

namespace sinter {

#define GEN_PASS_DECL
#include "sinter/Training/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "sinter/Training/Passes.h.inc"
} // namespace sinter

#endif
