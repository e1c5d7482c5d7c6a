// Folders and verifiers. Folding targets the small integer tensors of shape
// computations (Shape → Gather → Unsqueeze → Concat → Reshape), so that a
// model with static inputs folds its shape arithmetic away entirely.
#include "sinter/Dialect/NN/NNDialect.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace sinter::nn;

namespace {
RankedTensorType rankedOf(Value v) { return cast<RankedTensorType>(v.getType()); }

std::optional<SmallVector<APInt>> intsOf(Attribute a) {
  auto d = dyn_cast_or_null<DenseIntElementsAttr>(a);
  if (!d)
    return std::nullopt;
  return SmallVector<APInt>(d.getValues<APInt>());
}

/// Rebuilds a constant with the op's (static) result type, if it has one.
OpFoldResult reshapeConstant(Attribute in, Type resultType) {
  auto d = dyn_cast_or_null<DenseElementsAttr>(in);
  auto t = dyn_cast<RankedTensorType>(resultType);
  if (!d || !t || !t.hasStaticShape() || d.getNumElements() != t.getNumElements())
    return {};
  return d.reshape(t);
}

template <typename Fn>
OpFoldResult foldIntBinary(Attribute l, Attribute r, Type resultType, Fn fn) {
  auto t = dyn_cast<RankedTensorType>(resultType);
  auto a = intsOf(l), b = intsOf(r);
  if (!t || !t.hasStaticShape() || !a || !b || t.getNumElements() > 64)
    return {};
  auto at = cast<ShapedType>(cast<TypedAttr>(l).getType());
  auto bt = cast<ShapedType>(cast<TypedAttr>(r).getType());
  // Only the cases shape chains produce: equal shapes or a one-element side.
  if (at.getShape() != t.getShape() && a->size() != 1)
    return {};
  if (bt.getShape() != t.getShape() && b->size() != 1)
    return {};
  SmallVector<APInt> out;
  for (int64_t i = 0; i < t.getNumElements(); ++i) {
    auto x = fn((*a)[a->size() == 1 ? 0 : i], (*b)[b->size() == 1 ? 0 : i]);
    if (!x)
      return {};
    out.push_back(*x);
  }
  return DenseElementsAttr::get(t, out);
}
} // namespace

#define NN_INT_BINARY_FOLD(OP, EXPR)                                           \
  OpFoldResult OP::fold(FoldAdaptor adaptor) {                                 \
    return foldIntBinary(adaptor.getLhs(), adaptor.getRhs(), getType(),        \
                         [&](const APInt &x, const APInt &y)                   \
                             -> std::optional<APInt> { EXPR; });               \
  }
NN_INT_BINARY_FOLD(AddOp, return x + y)
NN_INT_BINARY_FOLD(SubOp, return x - y)
NN_INT_BINARY_FOLD(MulOp, return x * y)
NN_INT_BINARY_FOLD(DivOp, if (y.isZero()) return std::nullopt; return x.sdiv(y))
NN_INT_BINARY_FOLD(MaxOp, return x.sge(y) ? x : y)
NN_INT_BINARY_FOLD(MinOp, return x.sle(y) ? x : y)
NN_INT_BINARY_FOLD(PowOp, return std::nullopt)
NN_INT_BINARY_FOLD(AndOp, return x & y)
NN_INT_BINARY_FOLD(OrOp, return x | y)
NN_INT_BINARY_FOLD(EqualOp, return APInt(1, x == y))
NN_INT_BINARY_FOLD(LessOp, return APInt(1, x.slt(y)))
NN_INT_BINARY_FOLD(GreaterOp, return APInt(1, x.sgt(y)))

OpFoldResult CastOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType())
    return getInput();
  auto in = dyn_cast_or_null<DenseIntElementsAttr>(adaptor.getInput());
  auto outElem = dyn_cast<IntegerType>(getType().getElementType());
  if (!in || !outElem || !getType().hasStaticShape())
    return {};
  unsigned inWidth = in.getElementType().getIntOrFloatBitWidth();
  return in.mapValues(outElem, [&](const APInt &v) {
    if (outElem.getWidth() == 1)
      return APInt(1, !v.isZero());
    return inWidth == 1 ? v.zext(outElem.getWidth()) : v.sextOrTrunc(outElem.getWidth());
  });
}

LogicalResult CastOp::verify() {
  if (failed(verifyCompatibleShape(getInput().getType(), getType())))
    return emitOpError("changes the shape: ") << getInput().getType() << " -> " << getType();
  return success();
}

LogicalResult ClipOp::verify() {
  for (Value bound : {getMin(), getMax()})
    if (bound && (rankedOf(bound).getNumElements() != 1 ||
                  rankedOf(bound).getElementType() != getType().getElementType()))
      return emitOpError("bounds must be one-element tensors of the input's element type");
  if (getInput().getType() != getType())
    return emitOpError("result type must equal the input type");
  return success();
}

LogicalResult QCFSOp::verify() {
  auto theta = rankedOf(getThreshold());
  auto type = rankedOf(getInput());
  if (theta.getElementType() != type.getElementType())
    return emitOpError("threshold must have the input's element type");
  bool perNeuron = theta.getRank() == 1 && type.getRank() >= 1 &&
                   (theta.isDynamicDim(0) || type.isDynamicDim(type.getRank() - 1) ||
                    theta.getDimSize(0) == type.getShape().back());
  if (theta.getRank() != 0 && !perNeuron)
    return emitOpError("threshold must be 0-D (one per layer) or hold one value per neuron of the last "
                       "dimension, not ")
           << theta;
  return success();
}

LogicalResult GeluOp::verify() {
  if (getApproximate() != "none" && getApproximate() != "tanh")
    return emitOpError("approximate must be \"none\" or \"tanh\", got \"")
           << getApproximate() << "\"";
  return success();
}

LogicalResult SplitOp::verify() {
  auto t = rankedOf(getInput());
  auto axis = normalizeAxis(getAxis(), t.getRank());
  if (failed(axis))
    return emitOpError("axis ") << (int64_t)getAxis() << " out of range for rank " << t.getRank();
  if (getSizes().size() != getNumResults())
    return emitOpError("has ") << getSizes().size() << " sizes for " << getNumResults() << " results";
  int64_t total = 0;
  for (auto [size, result] : llvm::zip(getSizes(), getOutputs())) {
    auto rt = rankedOf(result);
    if (size < 0 || rt.getRank() != t.getRank() || rt.getElementType() != t.getElementType())
      return emitOpError("result type ") << rt << " does not match the input";
    if (!rt.isDynamicDim(*axis) && rt.getDimSize(*axis) != size)
      return emitOpError("result dimension ") << rt.getDimSize(*axis) << " differs from size " << size;
    total += size;
  }
  if (!t.isDynamicDim(*axis) && total != t.getDimSize(*axis))
    return emitOpError("sizes sum to ") << total << ", dimension is " << t.getDimSize(*axis);
  return success();
}

OpFoldResult GatherOp::fold(FoldAdaptor adaptor) {
  auto data = intsOf(adaptor.getData());
  auto idx = intsOf(adaptor.getIndices());
  if (!data || !idx || rankedOf(getData()).getRank() != 1 || !getType().hasStaticShape())
    return {};
  SmallVector<APInt> out;
  int64_t n = data->size();
  for (const APInt &i : *idx) {
    int64_t k = i.getSExtValue();
    if (k < 0)
      k += n;
    if (k < 0 || k >= n)
      return {};
    out.push_back((*data)[k]);
  }
  return DenseElementsAttr::get(getType(), out);
}

OpFoldResult ReshapeOp::fold(FoldAdaptor adaptor) {
  if (getData().getType() == getType() && getType().hasStaticShape())
    return getData();
  return reshapeConstant(adaptor.getData(), getType());
}

OpFoldResult SqueezeOp::fold(FoldAdaptor adaptor) {
  return reshapeConstant(adaptor.getData(), getType());
}

OpFoldResult UnsqueezeOp::fold(FoldAdaptor adaptor) {
  return reshapeConstant(adaptor.getData(), getType());
}

OpFoldResult TransposeOp::fold(FoldAdaptor) {
  for (auto [i, p] : llvm::enumerate(getPerm()))
    if ((int64_t)i != p)
      return {};
  return getData();
}

OpFoldResult ConcatOp::fold(FoldAdaptor adaptor) {
  if (getInputs().size() == 1 && getInputs()[0].getType() == getType())
    return getInputs()[0];
  if (getType().getRank() != 1 || !getType().hasStaticShape())
    return {};
  SmallVector<APInt> out;
  for (Attribute a : adaptor.getInputs()) {
    auto ints = intsOf(a);
    if (!ints)
      return {};
    out.append(*ints);
  }
  return DenseElementsAttr::get(getType(), out);
}

OpFoldResult SliceOp::fold(FoldAdaptor adaptor) {
  auto data = intsOf(adaptor.getData());
  auto starts = intsOf(adaptor.getStarts());
  auto steps = getSteps() ? intsOf(adaptor.getSteps()) : std::optional<SmallVector<APInt>>(SmallVector<APInt>{APInt(64, 1)});
  if (!data || !starts || !steps || getType().getRank() != 1 ||
      !getType().hasStaticShape() || starts->size() != 1)
    return {};
  int64_t n = data->size(), s = (*starts)[0].getSExtValue(), st = (*steps)[0].getSExtValue();
  if (s < 0)
    s += n;
  s = st > 0 ? std::clamp<int64_t>(s, 0, n) : std::clamp<int64_t>(s, 0, n - 1);
  SmallVector<APInt> out;
  for (int64_t i = 0; i < getType().getDimSize(0); ++i)
    out.push_back((*data)[s + i * st]);
  return DenseElementsAttr::get(getType(), out);
}

OpFoldResult ShapeOp::fold(FoldAdaptor) {
  auto in = rankedOf(getInput()).getShape();
  int64_t r = in.size();
  auto [s, e] = shapeOpRange(r, (int64_t)getStart(), getEnd());
  SmallVector<int64_t> dims(in.begin() + s, in.begin() + e);
  if (llvm::any_of(dims, ShapedType::isDynamic))
    return {};
  return DenseIntElementsAttr::get(getType(), dims);
}

OpFoldResult ConstantOfShapeOp::fold(FoldAdaptor) {
  if (!getType().hasStaticShape() || getType().getNumElements() > (1 << 16))
    return {};
  Attribute v = getValue();
  if (auto d = dyn_cast<DenseElementsAttr>(v))
    v = d.getSplatValue<Attribute>();
  return DenseElementsAttr::get(getType(), v);
}
