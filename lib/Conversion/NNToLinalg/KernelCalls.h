// Calls from lowering patterns into the runtime's kernels (lib/Runtime):
// each kernel takes its operands as addresses and sizes (index values) and
// writes a fresh result buffer, wrapped so that one-shot bufferization sees
// a read of the inputs and a new tensor.
#ifndef SINTER_LIB_CONVERSION_NNTOLINALG_KERNELCALLS_H
#define SINTER_LIB_CONVERSION_NNTOLINALG_KERNELCALLS_H

#include "mlir/IR/PatternMatch.h"

namespace sinter::lowering {

/// Declares `name(index...)` in the module once.
void declareKernel(mlir::PatternRewriter &rewriter, mlir::Operation *op, llvm::StringRef name, unsigned numArgs);

/// The address of a tensor's data, as a dense row-major buffer.
mlir::Value addressOf(mlir::PatternRewriter &rewriter, mlir::Location loc, mlir::Value tensor);

/// A fresh buffer for a kernel's result of `type`, whose leading dims are
/// those of `like` (the verifiers tie them), and the rows: their product.
std::pair<mlir::Value, mlir::Value> resultBuffer(mlir::PatternRewriter &rewriter, mlir::Location loc,
                                                 mlir::RankedTensorType type, mlir::Value like);

/// Calls `kernel(args...)` and replaces `op` with the tensor of `out`.
void callKernel(mlir::PatternRewriter &rewriter, mlir::Operation *op, llvm::StringRef kernel,
                llvm::ArrayRef<mlir::Value> args, mlir::Value out);

} // namespace sinter::lowering

#endif
