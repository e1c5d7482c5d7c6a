#ifndef SINTER_DIALECT_NN_NNDIALECT_H
#define SINTER_DIALECT_NN_NNDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "sinter/Dialect/NN/NNDialect.h.inc"
#include "sinter/Dialect/NN/NNInterfaces.h.inc"

#define GET_OP_CLASSES
#include "sinter/Dialect/NN/NNOps.h.inc"

namespace sinter::nn {
/// ONNX (numpy) broadcasting of two shapes; dynamic dims are ShapedType's
/// kDynamic. Returns failure when two static, non-unit dims differ. A dynamic
/// dim against a static one > 1 takes the static one; two dynamic dims are
/// assumed equal (the runtime never broadcasts a symbolic dimension).
llvm::LogicalResult broadcastShapes(llvm::ArrayRef<int64_t> a,
                                    llvm::ArrayRef<int64_t> b,
                                    llvm::SmallVectorImpl<int64_t> &out);
/// Normalises a possibly negative axis into [0, rank); failure if outside.
llvm::FailureOr<int64_t> normalizeAxis(int64_t axis, int64_t rank);
/// The [begin, end) dims that Shape(start, end) returns for a given rank,
/// with ONNX's negative indexing and clamping.
std::pair<int64_t, int64_t> shapeOpRange(int64_t rank, int64_t start,
                                         std::optional<int64_t> end);
/// Which dims a Reduce* op reduces: `axes` (possibly negative), or all dims
/// when absent or empty unless `noopWithEmptyAxes`. Failure if an axis is
/// out of range.
llvm::FailureOr<llvm::SmallVector<bool>>
reductionMask(int64_t rank, std::optional<mlir::ArrayAttr> axes, bool noopWithEmptyAxes);
/// Creates an op whose result type is inferred and returns its result.
template <typename OpTy, typename... Args>
mlir::Value make(mlir::OpBuilder &b, mlir::Location loc, Args &&...args) {
  return OpTy::create(b, loc, std::forward<Args>(args)...).getResult();
}
/// Zeros shaped like `v` (a float tensor): a constant when static, else
/// constant_of_shape of its run-time shape.
mlir::Value zerosLike(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v);
/// Reads a constant integer tensor operand (any int width), if it is one.
std::optional<llvm::SmallVector<int64_t>> getConstantInts(mlir::Value v);
} // namespace sinter::nn

#endif
