// Helpers shared by the nn → linalg patterns: dimension queries, broadcast
// indexing maps and the generic builders every pattern file uses.
#ifndef SINTER_LIB_CONVERSION_NNTOLINALG_LOWERINGUTILS_H
#define SINTER_LIB_CONVERSION_NNTOLINALG_LOWERINGUTILS_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

namespace sinter::lowering {
using mlir::Location;
using mlir::OpBuilder;
using mlir::OpFoldResult;
using mlir::RankedTensorType;
using mlir::Type;
using mlir::Value;
using mlir::ValueRange;
using BodyFn = llvm::function_ref<Value(OpBuilder &, Location, ValueRange)>;

inline RankedTensorType rankedOf(Value v) {
  return mlir::cast<RankedTensorType>(v.getType());
}
inline bool isFloat(Type t) { return mlir::isa<mlir::FloatType>(t); }

/// Index value of dimension `i` of a tensor (constant when static).
Value dimValue(OpBuilder &b, Location loc, Value tensor, int64_t i);
/// The dims of `type` as OpFoldResults: static sizes as attributes, dynamic
/// ones taken from `dynamic` in order.
llvm::SmallVector<OpFoldResult> mixedDims(OpBuilder &b, RankedTensorType type,
                                          ValueRange dynamic);
/// tensor.empty of `type` whose dynamic dims are given by `dims` (one index
/// value per dimension; static entries are ignored).
Value emptyTensor(OpBuilder &b, Location loc, RankedTensorType type,
                  ValueRange dims);
/// Sizes of an ONNX-broadcast result, taken from whichever operand carries
/// each dynamic dimension.
llvm::SmallVector<Value> broadcastDims(OpBuilder &b, Location loc,
                                       RankedTensorType result,
                                       ValueRange operands);
/// Indexing map reading `operand` inside a loop nest over `result`:
/// leading dims are dropped, static unit dims broadcast.
mlir::AffineMap broadcastMap(RankedTensorType operand, RankedTensorType result);
/// linalg.generic over `result` reading `operands` with broadcasting.
Value buildElementwise(OpBuilder &b, Location loc, RankedTensorType result,
                       ValueRange operands, BodyFn body);
/// Scalar constant of `type` (float or integer).
Value scalarConst(OpBuilder &b, Location loc, Type type, double v);
/// Converts a scalar between element types with ONNX Cast semantics.
Value castScalar(OpBuilder &b, Location loc, Value v, Type to);
/// Reshapes to `type` with the given dynamic sizes (one index value per
/// dimension), through tensor.reshape.
Value reshapeTo(OpBuilder &b, Location loc, Value src, RankedTensorType type,
                ValueRange dims);
/// Reduces `input` over the dims in `reduced` (dropping them) with `combine`,
/// starting from `init`.
Value buildReduction(OpBuilder &b, Location loc, Value input,
                     llvm::ArrayRef<bool> reduced, Value init, BodyFn combine);
/// Map reading a tensor reduced over `reduced` inside the full loop nest.
mlir::AffineMap droppedDimsMap(mlir::MLIRContext *ctx,
                               llvm::ArrayRef<bool> reduced);
/// i64 scalar → index, and back.
Value toIndex(OpBuilder &b, Location loc, Value v);
Value toI64(OpBuilder &b, Location loc, Value v);
/// Element `i` of a 1-D (or 0-D when i == 0) integer tensor, as index.
Value extractIndex(OpBuilder &b, Location loc, Value tensor, int64_t i);

/// linalg.generic over `result` (sizes `dims`, one index value per
/// dimension) reading `ins` through `inMaps`, whose body computes each
/// element from the loop indices and the inputs' elements (gathers,
/// index-computed slices).
Value buildIndexed(OpBuilder &b, Location loc, RankedTensorType result, ValueRange dims, ValueRange ins,
                   llvm::ArrayRef<mlir::AffineMap> inMaps,
                   llvm::function_ref<Value(OpBuilder &, Location, ValueRange, ValueRange)> body);
/// A Gather index (integer scalar) as an index into `n` rows: negative
/// counts from the end, and what is still outside [0, n) is clamped into
/// it (ONNX leaves it undefined; clamping keeps it memory safe).
Value gatherIndex(OpBuilder &b, Location loc, Value index, Value n);

void populateElementwisePatterns(mlir::RewritePatternSet &patterns);
void populateContractionPatterns(mlir::RewritePatternSet &patterns);
void populateNormalizationPatterns(mlir::RewritePatternSet &patterns);
void populateDataMovementPatterns(mlir::RewritePatternSet &patterns);
void populateCompressionPatterns(mlir::RewritePatternSet &patterns);
void populateSpikePatterns(mlir::RewritePatternSet &patterns);
void populateAttentionPatterns(mlir::RewritePatternSet &patterns);
/// Calls to the CPU runtime's kernels for ops it has them for (LayerNorm).
void populateDenseKernelPatterns(mlir::RewritePatternSet &patterns);
} // namespace sinter::lowering

#endif
