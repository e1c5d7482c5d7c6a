// Finding the feed-forward blocks that the FFN compression passes rewrite:
// Linear → activation → Linear with constant weights, as `nn` ops.
#ifndef SINTER_COMPRESSION_FFNBLOCKS_H
#define SINTER_COMPRESSION_FFNBLOCKS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "sinter/Dialect/NN/NNDialect.h"

#include <string>

namespace sinter {

enum class FFNActivation { Gelu, Relu };

/// σ for one pre-activation, in double (the fits and references use it).
double applyActivation(FFNActivation kind, double z);
llvm::StringRef activationName(FFNActivation kind);

/// One non-gated FFN: out = σ(x·Wu + bu)·Wd + bd, weights [d, h] and
/// [h, d_out], biases optional. `preActivation` is x·Wu + bu (or x·Wu), the
/// value calibration records; `output` the value the rewrite replaces.
struct FFNBlock {
  std::string name; // the up-projection's ONNX node, else "ffn<N>"
  FFNActivation activation;
  mlir::Value input, preActivation, output;
  mlir::Operation *upMatmul, *activationOp, *downMatmul;
  mlir::ElementsAttr wu, wd;
  mlir::ElementsAttr bu, bd; // null when absent
  int64_t dIn, hidden, dOut;
};

/// A gated FFN (σ(x·Wg) ⊙ (x·Wu) → Wd, as in SwiGLU), which the
/// linearizing rewrite must refuse; `op` is the product.
struct GatedFFN {
  std::string name;
  mlir::Operation *op;
};

/// The FFN blocks of `func` in program order; gated ones go to `gated`.
llvm::SmallVector<FFNBlock> findFFNBlocks(mlir::func::FuncOp func,
                                          llvm::SmallVectorImpl<GatedFFN> *gated = nullptr);

} // namespace sinter

#endif
