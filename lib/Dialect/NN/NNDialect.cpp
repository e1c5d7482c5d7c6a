#include "sinter/Dialect/NN/NNDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace sinter::nn;

#include "sinter/Dialect/NN/NNDialect.cpp.inc"
#include "sinter/Dialect/NN/NNInterfaces.cpp.inc"

void NNDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "sinter/Dialect/NN/NNOps.cpp.inc"
      >();
}

Operation *NNDialect::materializeConstant(OpBuilder &builder, Attribute value,
                                          Type type, Location loc) {
  if (auto typed = dyn_cast<TypedAttr>(value))
    if (arith::ConstantOp::isBuildableWith(typed, type))
      return arith::ConstantOp::create(builder, loc, type, typed);
  return nullptr;
}

namespace sinter::nn {

LogicalResult broadcastShapes(ArrayRef<int64_t> a, ArrayRef<int64_t> b,
                              SmallVectorImpl<int64_t> &out) {
  size_t rank = std::max(a.size(), b.size());
  out.assign(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da == 1) {
      out[i] = db;
    } else if (db == 1) {
      out[i] = da;
    } else if (ShapedType::isDynamic(da)) {
      out[i] = db;
    } else if (ShapedType::isDynamic(db) || da == db) {
      out[i] = da;
    } else {
      return failure();
    }
  }
  return success();
}

FailureOr<int64_t> normalizeAxis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank)
    return failure();
  return axis < 0 ? axis + rank : axis;
}

std::pair<int64_t, int64_t> shapeOpRange(int64_t rank, int64_t start,
                                         std::optional<int64_t> end) {
  int64_t s = start < 0 ? start + rank : start;
  int64_t e = end ? *end : rank;
  if (e < 0)
    e += rank;
  s = std::clamp<int64_t>(s, 0, rank);
  e = std::clamp<int64_t>(e, 0, rank);
  return {s, std::max(s, e)};
}

FailureOr<SmallVector<bool>> reductionMask(int64_t rank, std::optional<ArrayAttr> axes,
                                           bool noopWithEmptyAxes) {
  if (!axes || axes->empty())
    return SmallVector<bool>(rank, !noopWithEmptyAxes);
  SmallVector<bool> mask(rank, false);
  for (Attribute x : *axes) {
    auto axis = normalizeAxis(cast<IntegerAttr>(x).getInt(), rank);
    if (failed(axis))
      return failure();
    mask[*axis] = true;
  }
  return mask;
}

std::optional<SmallVector<int64_t>> getConstantInts(Value v) {
  DenseIntElementsAttr attr;
  if (!v || !matchPattern(v, m_Constant(&attr)))
    return std::nullopt;
  SmallVector<int64_t> out;
  for (const APInt &x : attr.getValues<APInt>())
    out.push_back(x.getBitWidth() == 1 ? x.getZExtValue() : x.getSExtValue());
  return out;
}

} // namespace sinter::nn

#define GET_OP_CLASSES
#include "sinter/Dialect/NN/NNOps.cpp.inc"
