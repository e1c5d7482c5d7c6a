#include "LoweringUtils.h"

#include "mlir/Dialect/Utils/StructuredOpsUtils.h"

using namespace mlir;

namespace sinter::lowering {

Value dimValue(OpBuilder &b, Location loc, Value tensor, int64_t i) {
  auto t = rankedOf(tensor);
  if (!t.isDynamicDim(i))
    return arith::ConstantIndexOp::create(b, loc, t.getDimSize(i));
  return tensor::DimOp::create(b, loc, tensor, i);
}

SmallVector<OpFoldResult> mixedDims(OpBuilder &b, RankedTensorType type,
                                    ValueRange dims) {
  SmallVector<OpFoldResult> out;
  for (int64_t i = 0; i < type.getRank(); ++i)
    out.push_back(type.isDynamicDim(i) ? OpFoldResult(dims[i])
                                       : OpFoldResult(b.getIndexAttr(type.getDimSize(i))));
  return out;
}

Value emptyTensor(OpBuilder &b, Location loc, RankedTensorType type,
                  ValueRange dims) {
  SmallVector<Value> dyn;
  for (int64_t i = 0; i < type.getRank(); ++i)
    if (type.isDynamicDim(i))
      dyn.push_back(dims[i]);
  return tensor::EmptyOp::create(b, loc, type, dyn);
}

SmallVector<Value> broadcastDims(OpBuilder &b, Location loc,
                                 RankedTensorType result, ValueRange operands) {
  SmallVector<Value> dims;
  int64_t rank = result.getRank();
  for (int64_t i = 0; i < rank; ++i) {
    if (!result.isDynamicDim(i)) {
      dims.push_back(arith::ConstantIndexOp::create(b, loc, result.getDimSize(i)));
      continue;
    }
    Value found;
    for (Value v : operands) {
      auto t = rankedOf(v);
      int64_t j = i - (rank - t.getRank());
      if (j >= 0 && t.isDynamicDim(j)) {
        found = tensor::DimOp::create(b, loc, v, j);
        break;
      }
    }
    assert(found && "dynamic result dim with no dynamic operand dim");
    dims.push_back(found);
  }
  return dims;
}

AffineMap broadcastMap(RankedTensorType operand, RankedTensorType result) {
  MLIRContext *ctx = result.getContext();
  int64_t offset = result.getRank() - operand.getRank();
  SmallVector<AffineExpr> exprs;
  for (int64_t j = 0; j < operand.getRank(); ++j) {
    int64_t i = j + offset;
    bool broadcast = operand.getDimSize(j) == 1 && result.getDimSize(i) != 1;
    exprs.push_back(broadcast ? getAffineConstantExpr(0, ctx) : getAffineDimExpr(i, ctx));
  }
  return AffineMap::get(result.getRank(), 0, exprs, ctx);
}

Value buildElementwise(OpBuilder &b, Location loc, RankedTensorType result,
                       ValueRange operands, BodyFn body) {
  Value init = emptyTensor(b, loc, result, broadcastDims(b, loc, result, operands));
  SmallVector<AffineMap> maps;
  for (Value v : operands)
    maps.push_back(broadcastMap(rankedOf(v), result));
  maps.push_back(b.getMultiDimIdentityMap(result.getRank()));
  SmallVector<utils::IteratorType> iters(result.getRank(), utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, result, operands, init, maps, iters,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        linalg::YieldOp::create(nb, nl, body(nb, nl, args.drop_back()));
      });
  return generic.getResult(0);
}

Value scalarConst(OpBuilder &b, Location loc, Type type, double v) {
  if (auto f = dyn_cast<FloatType>(type))
    return arith::ConstantOp::create(b, loc, type, b.getFloatAttr(f, v));
  return arith::ConstantOp::create(b, loc, type, b.getIntegerAttr(type, (int64_t)v));
}

Value castScalar(OpBuilder &b, Location loc, Value v, Type to) {
  Type from = v.getType();
  if (from == to)
    return v;
  bool fromBool = from.isInteger(1), toBool = to.isInteger(1);
  if (toBool) {
    if (isFloat(from))
      return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNE, v, scalarConst(b, loc, from, 0));
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, v, scalarConst(b, loc, from, 0));
  }
  if (isFloat(from) && isFloat(to))
    return from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth()
               ? (Value)arith::ExtFOp::create(b, loc, to, v)
               : (Value)arith::TruncFOp::create(b, loc, to, v);
  if (isFloat(from))
    return arith::FPToSIOp::create(b, loc, to, v);
  if (isFloat(to))
    return fromBool ? (Value)arith::UIToFPOp::create(b, loc, to, v)
                    : (Value)arith::SIToFPOp::create(b, loc, to, v);
  if (from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth())
    return fromBool ? (Value)arith::ExtUIOp::create(b, loc, to, v)
                    : (Value)arith::ExtSIOp::create(b, loc, to, v);
  return arith::TruncIOp::create(b, loc, to, v);
}

Value toIndex(OpBuilder &b, Location loc, Value v) {
  if (v.getType().isIndex())
    return v;
  return arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
}

Value toI64(OpBuilder &b, Location loc, Value v) {
  if (v.getType().isInteger(64))
    return v;
  return arith::IndexCastOp::create(b, loc, b.getI64Type(), v);
}

Value extractIndex(OpBuilder &b, Location loc, Value tensor, int64_t i) {
  SmallVector<Value> idx;
  if (rankedOf(tensor).getRank() == 1)
    idx.push_back(arith::ConstantIndexOp::create(b, loc, i));
  return toIndex(b, loc, tensor::ExtractOp::create(b, loc, tensor, idx));
}

Value reshapeTo(OpBuilder &b, Location loc, Value src, RankedTensorType type,
                ValueRange dims) {
  if (src.getType() == type && type.hasStaticShape())
    return src;
  SmallVector<Value> elems;
  for (int64_t i = 0; i < type.getRank(); ++i)
    elems.push_back(type.isDynamicDim(i)
                        ? toI64(b, loc, dims[i])
                        : (Value)arith::ConstantIntOp::create(b, loc, type.getDimSize(i), 64));
  auto shapeType = RankedTensorType::get({type.getRank()}, b.getI64Type());
  Value shape = tensor::FromElementsOp::create(b, loc, shapeType, elems);
  return tensor::ReshapeOp::create(b, loc, type, src, shape);
}

AffineMap droppedDimsMap(MLIRContext *ctx, ArrayRef<bool> reduced) {
  SmallVector<AffineExpr> exprs;
  for (auto [i, r] : llvm::enumerate(reduced))
    if (!r)
      exprs.push_back(getAffineDimExpr(i, ctx));
  return AffineMap::get(reduced.size(), 0, exprs, ctx);
}

Value buildReduction(OpBuilder &b, Location loc, Value input,
                     ArrayRef<bool> reduced, Value init, BodyFn combine) {
  auto t = rankedOf(input);
  SmallVector<int64_t> shape;
  SmallVector<Value> dims;
  SmallVector<utils::IteratorType> iters;
  for (int64_t i = 0; i < t.getRank(); ++i) {
    iters.push_back(reduced[i] ? utils::IteratorType::reduction : utils::IteratorType::parallel);
    if (reduced[i])
      continue;
    shape.push_back(t.getDimSize(i));
    dims.push_back(dimValue(b, loc, input, i));
  }
  auto outType = RankedTensorType::get(shape, t.getElementType());
  Value empty = emptyTensor(b, loc, outType, dims);
  Value filled = linalg::FillOp::create(b, loc, init, empty).getResult(0);
  SmallVector<AffineMap> maps{b.getMultiDimIdentityMap(t.getRank()),
                              droppedDimsMap(b.getContext(), reduced)};
  auto generic = linalg::GenericOp::create(
      b, loc, outType, input, filled, maps, iters,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        linalg::YieldOp::create(nb, nl, combine(nb, nl, args));
      });
  return generic.getResult(0);
}

Value buildIndexed(OpBuilder &b, Location loc, RankedTensorType result, ValueRange dims, ValueRange ins,
                   ArrayRef<AffineMap> inMaps,
                   llvm::function_ref<Value(OpBuilder &, Location, ValueRange, ValueRange)> body) {
  SmallVector<AffineMap> maps(inMaps);
  maps.push_back(b.getMultiDimIdentityMap(result.getRank()));
  SmallVector<utils::IteratorType> iters(result.getRank(), utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, result, ins, emptyTensor(b, loc, result, dims), maps, iters,
             [&](OpBuilder &nb, Location nl, ValueRange args) {
               SmallVector<Value> idx;
               for (int64_t i = 0; i < result.getRank(); ++i)
                 idx.push_back(linalg::IndexOp::create(nb, nl, i));
               linalg::YieldOp::create(nb, nl, body(nb, nl, idx, args.drop_back()));
             })
      .getResult(0);
}

Value gatherIndex(OpBuilder &b, Location loc, Value index, Value n) {
  Value k = toIndex(b, loc, index);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0), one = arith::ConstantIndexOp::create(b, loc, 1);
  Value neg = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, k, zero);
  k = arith::SelectOp::create(b, loc, neg, arith::AddIOp::create(b, loc, k, n), k);
  Value last = arith::SubIOp::create(b, loc, n, one);
  return arith::MinSIOp::create(b, loc, arith::MaxSIOp::create(b, loc, k, zero), last);
}

} // namespace sinter::lowering
