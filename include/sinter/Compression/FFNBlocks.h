// Finding the feed-forward blocks that the FFN compression passes rewrite,
// as `nn` ops with constant weights: Linear → σ → Linear, and the gated
// form σ(Linear) ⊙ Linear → Linear (SwiGLU, GeGLU).
#ifndef SINTER_COMPRESSION_FFNBLOCKS_H
#define SINTER_COMPRESSION_FFNBLOCKS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "sinter/Dialect/NN/NNDialect.h"

#include <string>

namespace sinter {

/// σ of an FFN. SiLU (z·sigmoid(z)) appears only as a gate.
enum class FFNActivation { Gelu, Relu, Silu };

/// σ for one pre-activation, in double (the fits and references use it).
double applyActivation(FFNActivation kind, double z);
llvm::StringRef activationName(FFNActivation kind);

/// One FFN, weights [d, h] and [h, d_out], biases optional:
///   non-gated  out = σ(x·Wu + bu)·Wd + bd
///   gated      out = (σ(x·Wg + bg) ⊙ (x·Wu + bu))·Wd + bd
/// `preActivation` is what σ reads (x·Wu + bu, or the gate's x·Wg + bg),
/// the value calibration records; `neurons` is h, what the down projection
/// reads; `output` the value a rewrite replaces.
struct FFNBlock {
  std::string name; // the up-projection's ONNX node, else "ffn<N>"
  FFNActivation activation;
  mlir::Value input, preActivation, neurons, output;
  mlir::Operation *upMatmul, *activationOp, *downMatmul;
  mlir::Operation *gateMatmul = nullptr; // gated blocks only
  mlir::ElementsAttr wu, wd, wg;
  mlir::ElementsAttr bu, bd, bg; // null when absent
  int64_t dIn, hidden, dOut;

  bool gated() const { return gateMatmul != nullptr; }
};

/// The FFN blocks of `func` in program order, gated and not.
llvm::SmallVector<FFNBlock> findFFNBlocks(mlir::func::FuncOp func);

/// Keeps only the hidden neurons `keep` (ascending, non-empty) of `block`:
/// slices W_u, b_u, W_g, b_g by column and W_d by row, names the new
/// constants after the layer, and narrows the ops between the projections.
/// Fails, changing nothing, if a value between them is used outside the
/// block or a weight cannot be read.
mlir::LogicalResult keepNeurons(FFNBlock &block, llvm::ArrayRef<int64_t> keep);

/// Erases `op` if unused and pure and, recursively, the operand producers
/// it leaves unused (what a rewrite of a whole block leaves behind).
void eraseDeadChain(mlir::Operation *op);

} // namespace sinter

#endif
