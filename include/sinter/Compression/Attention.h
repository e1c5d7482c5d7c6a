// Finding the attention blocks of a model: softmax(Q·Kᵀ ...)·V as `nn`
// ops, with the linears Q, K and V are projected by and the one the heads'
// context feeds.
#ifndef SINTER_COMPRESSION_ATTENTION_H
#define SINTER_COMPRESSION_ATTENTION_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "sinter/Dialect/NN/NNDialect.h"

#include <string>

namespace sinter {

struct Attention {
  std::string name; // the output projection's ONNX node, else "attention<N>"
  mlir::Operation *scores;  // the nn.matmul Q·Kᵀ
  mlir::Operation *softmax; // over the scaled, masked scores
  mlir::Operation *context; // the nn.matmul softmax·V
  /// The nn.matmul of each projection (a Linear of findLinears): one op for
  /// all three when Q, K and V are split from a fused projection. Null
  /// where no single linear is found (e.g. Q computed from two).
  mlir::Operation *query = nullptr, *key = nullptr, *value = nullptr;
  mlir::Operation *output = nullptr; // the linear the context flows into, or null
};

/// The attention blocks of `func` in program order: every nn.softmax whose
/// input comes, through elementwise scaling and masking, from a product of
/// two activations and whose result multiplies a third. Q, K and V are
/// traced back through layout and elementwise ops (reshapes, transposes,
/// splits, rotary embeddings) to the linears they come from.
llvm::SmallVector<Attention> findAttention(mlir::func::FuncOp func);

} // namespace sinter

#endif
