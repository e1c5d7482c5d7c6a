// Finding the linear layers a compression pass rewrites: x·W (+ b) as
// `nn` ops with a constant weight matrix, and the pieces of that match
// that the FFN matcher (FFNBlocks.h) is built from.
#ifndef SINTER_COMPRESSION_LINEARS_H
#define SINTER_COMPRESSION_LINEARS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "sinter/Dialect/NN/NNDialect.h"

#include <string>

namespace sinter {

/// One x·W (+ b): W a constant f32 [dIn, dOut] matrix, b a constant [dOut]
/// vector added to the product (null when absent).
struct Linear {
  std::string name; // the matmul's ONNX node, else "linear<N>"
  mlir::Operation *matmul;  // nn.matmul; its operand 1 reads W
  mlir::Operation *biasAdd; // the nn.add of b, or null
  mlir::Value input, output; // x, and the value a rewrite replaces (x·W + b, or x·W)
  mlir::ElementsAttr weight, bias;
  int64_t dIn, dOut;
  /// Whether `output` reaches a function result through no other linear:
  /// the model's last projection (an LM head), not a layer inside a
  /// decoder block. Embeddings are gathers, not linears.
  bool head;
};

/// The linears of `func` in program order.
llvm::SmallVector<Linear> findLinears(mlir::func::FuncOp func);

/// `v` if it is a constant f32 tensor of `rank` with a static shape.
mlir::ElementsAttr constantOfRank(mlir::Value v, int64_t rank);

/// `op` if it is an nn.matmul x·W with W a constant f32 matrix: returns W
/// and sets x.
mlir::ElementsAttr matchLinear(mlir::Operation *op, mlir::Value &x);

/// `v` = x·W + b or x·W with W constant: returns the nn.matmul and sets x,
/// W and b (null if absent). The product must have no other use when a
/// bias is added to it.
mlir::Operation *matchAffine(mlir::Value v, mlir::Value &x, mlir::ElementsAttr &w, mlir::ElementsAttr &b);

/// The ONNX node an op was imported from (its location "node 'NAME' (Op)"),
/// or `fallback` when it has no name.
std::string onnxNodeName(mlir::Operation *op, llvm::StringRef fallback);

} // namespace sinter

#endif
