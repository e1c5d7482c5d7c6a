// Recognizing f32 contractions C[b.., m, n] += A[b.., m, k] · B[b.., k, n]
// among bufferized linalg.generic ops, for the passes that give them a
// kernel of their own (the CPU GEMM microkernel, the GPU's tiled one).
#ifndef SINTER_CONVERSION_CONTRACTION_H
#define SINTER_CONVERSION_CONTRACTION_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <optional>

namespace sinter {

/// Which loop of the generic plays which part in C[b.., m, n] += A·B.
struct ContractionLoops {
  unsigned m, n, k;
  llvm::SmallVector<unsigned> batch; // outermost first, as the output indexes them
};

/// The loops of an f32 contraction on buffers: one reduction loop, a
/// multiply-add body, the output indexed by the batch loops then m and n,
/// A by (batch) m and k, B by (batch) k and n, batch dims possibly
/// broadcast (constant 0), any order and strides.
std::optional<ContractionLoops> matchContraction(mlir::linalg::GenericOp op);

} // namespace sinter

#endif
