// Result-type inference for the nn ops: ONNX's shape rules, with dynamic
// dimensions where only run-time values decide. Shape-valued operands
// (Reshape's shape, Expand's, Slice's bounds) are read through
// `getPartialInts`, which sees through the Shape/Gather/Unsqueeze/Concat
// chains that exporters build, so symbolic dims stay `?` while the rest
// become static.
#include "sinter/Dialect/NN/NNDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace sinter::nn;

namespace {
using Shape = SmallVector<int64_t>;
constexpr int64_t kDyn = ShapedType::kDynamic;

RankedTensorType rankedOf(Value v) { return cast<RankedTensorType>(v.getType()); }

/// Element values of a 0-D/1-D integer tensor where known at compile time;
/// unknown elements are std::nullopt.
using Partial = SmallVector<std::optional<int64_t>>;
std::optional<Partial> getPartialInts(Value v, int depth = 0) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!type || type.getRank() > 1 || !type.hasStaticShape() || depth > 16)
    return std::nullopt;
  if (auto ints = getConstantInts(v))
    return Partial(ints->begin(), ints->end());
  Operation *def = v.getDefiningOp();
  if (!def)
    return Partial(type.getNumElements(), std::nullopt);
  if (auto shape = dyn_cast<ShapeOp>(def)) {
    auto in = rankedOf(shape.getInput()).getShape();
    Partial out;
    auto [s, e] = shapeOpRange(in.size(), (int64_t)shape.getStart(), shape.getEnd());
    for (int64_t i = s; i < e; ++i)
      out.push_back(ShapedType::isDynamic(in[i]) ? std::nullopt
                                                 : std::optional<int64_t>(in[i]));
    return out;
  }
  if (isa<UnsqueezeOp, SqueezeOp, CastOp, ReshapeOp>(def))
    return getPartialInts(def->getOperand(0), depth + 1);
  if (auto concat = dyn_cast<ConcatOp>(def)) {
    Partial out;
    for (Value in : concat.getInputs()) {
      auto p = getPartialInts(in, depth + 1);
      if (!p)
        return Partial(type.getNumElements(), std::nullopt);
      out.append(p->begin(), p->end());
    }
    return out;
  }
  if (auto gather = dyn_cast<GatherOp>(def)) {
    auto data = getPartialInts(gather.getData(), depth + 1);
    auto idx = getConstantInts(gather.getIndices());
    if (data && idx) {
      Partial out;
      for (int64_t i : *idx) {
        if (i < 0)
          i += data->size();
        if (i < 0 || i >= (int64_t)data->size())
          return std::nullopt;
        out.push_back((*data)[i]);
      }
      return out;
    }
  }
  return Partial(type.getNumElements(), std::nullopt);
}

LogicalResult fail(std::optional<Location> loc, const Twine &msg) {
  return emitOptionalError(loc, msg);
}

Shape staticOrDyn(const Partial &p) {
  Shape out;
  for (auto &x : p)
    out.push_back(x && *x >= 0 ? *x : kDyn);
  return out;
}

LogicalResult inferBroadcast(std::optional<Location> loc, ArrayRef<Value> ins,
                             Type elem, SmallVectorImpl<Type> &results) {
  Shape shape;
  for (Value v : ins) {
    Shape next;
    if (failed(broadcastShapes(shape, rankedOf(v).getShape(), next)))
      return fail(loc, "operands are not broadcast-compatible");
    shape = next;
  }
  results.push_back(RankedTensorType::get(shape, elem));
  return success();
}
} // namespace

// Shapes that were `?` may become static once an operand folds to a
// constant, so results are compatible whenever their shapes are.
#define NN_COMPATIBLE_RETURN_TYPES(OP)                                         \
  bool OP::isCompatibleReturnTypes(TypeRange l, TypeRange r) {                 \
    if (l.size() != r.size())                                                  \
      return false;                                                            \
    for (auto [a, b] : llvm::zip(l, r))                                        \
      if (failed(verifyCompatibleShape(a, b)) ||                               \
          getElementTypeOrSelf(a) != getElementTypeOrSelf(b))                  \
        return false;                                                          \
    return true;                                                               \
  }
#define NN_INFERRED_OPS(X)                                                     \
  X(AddOp) X(SubOp) X(MulOp) X(DivOp) X(PowOp) X(EqualOp) X(LessOp)            \
  X(GreaterOp) X(AndOp) X(OrOp) X(MaxOp) X(MinOp) X(WhereOp) X(MatMulOp)       \
  X(GemmOp) X(SoftmaxOp) X(LogSoftmaxOp) X(LayerNormOp) X(ReduceMeanOp)        \
  X(ReduceSumOp) X(ReduceMaxOp) X(CumSumOp) X(GatherOp) X(ReshapeOp)           \
  X(TransposeOp) X(SqueezeOp) X(UnsqueezeOp) X(ConcatOp) X(SliceOp)            \
  X(ExpandOp) X(ShapeOp) X(ConstantOfShapeOp) X(RangeOp) X(TriluOp)
NN_INFERRED_OPS(NN_COMPATIBLE_RETURN_TYPES)

#define NN_INFER(OP)                                                           \
  LogicalResult OP::inferReturnTypes(                                          \
      MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,      \
      DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,       \
      SmallVectorImpl<Type> &results)

// Pow alone allows the exponent a type other than the base's.
#define NN_BINARY_INFER(OP, ELEM)                                              \
  NN_INFER(OP) {                                                               \
    Adaptor a(operands, attrs, props, regions);                                \
    Type lhsElem = rankedOf(a.getLhs()).getElementType();                      \
    if (!std::is_same_v<OP, PowOp> &&                                          \
        lhsElem != rankedOf(a.getRhs()).getElementType())                      \
      return fail(loc, "operand element types differ");                        \
    return inferBroadcast(loc, {a.getLhs(), a.getRhs()}, ELEM, results);       \
  }
NN_BINARY_INFER(AddOp, lhsElem)
NN_BINARY_INFER(SubOp, lhsElem)
NN_BINARY_INFER(MulOp, lhsElem)
NN_BINARY_INFER(DivOp, lhsElem)
NN_BINARY_INFER(PowOp, lhsElem)
NN_BINARY_INFER(MaxOp, lhsElem)
NN_BINARY_INFER(MinOp, lhsElem)
NN_BINARY_INFER(AndOp, lhsElem)
NN_BINARY_INFER(OrOp, lhsElem)
NN_BINARY_INFER(EqualOp, IntegerType::get(ctx, 1))
NN_BINARY_INFER(LessOp, IntegerType::get(ctx, 1))
NN_BINARY_INFER(GreaterOp, IntegerType::get(ctx, 1))

NN_INFER(WhereOp) {
  Adaptor a(operands, attrs, props, regions);
  Type elem = rankedOf(a.getX()).getElementType();
  if (elem != rankedOf(a.getY()).getElementType())
    return fail(loc, "x and y element types differ");
  return inferBroadcast(loc, {a.getCondition(), a.getX(), a.getY()}, elem, results);
}

NN_INFER(MatMulOp) {
  Adaptor a(operands, attrs, props, regions);
  auto lt = rankedOf(a.getLhs()), rt = rankedOf(a.getRhs());
  if (lt.getElementType() != rt.getElementType())
    return fail(loc, "operand element types differ");
  if (lt.getRank() == 0 || rt.getRank() == 0)
    return fail(loc, "operands must have rank >= 1");
  Shape l(lt.getShape()), r(rt.getShape());
  bool vecL = l.size() == 1, vecR = r.size() == 1;
  if (vecL)
    l.insert(l.begin(), 1);
  if (vecR)
    r.push_back(1);
  int64_t kl = l.back(), kr = r[r.size() - 2];
  if (!ShapedType::isDynamic(kl) && !ShapedType::isDynamic(kr) && kl != kr)
    return fail(loc, "contraction dimensions differ: " + Twine(kl) + " vs " + Twine(kr));
  Shape batch;
  if (failed(broadcastShapes(ArrayRef(l).drop_back(2), ArrayRef(r).drop_back(2), batch)))
    return fail(loc, "batch dimensions are not broadcast-compatible");
  if (!vecL)
    batch.push_back(l[l.size() - 2]);
  if (!vecR)
    batch.push_back(r.back());
  results.push_back(RankedTensorType::get(batch, lt.getElementType()));
  return success();
}

NN_INFER(GemmOp) {
  Adaptor a(operands, attrs, props, regions);
  auto at = rankedOf(a.getA()), bt = rankedOf(a.getB());
  if (at.getRank() != 2 || bt.getRank() != 2)
    return fail(loc, "A and B must be 2-D");
  int64_t m = at.getDimSize(a.getTransA() ? 1 : 0), ka = at.getDimSize(a.getTransA() ? 0 : 1);
  int64_t kb = bt.getDimSize(a.getTransB() ? 1 : 0), n = bt.getDimSize(a.getTransB() ? 0 : 1);
  if (!ShapedType::isDynamic(ka) && !ShapedType::isDynamic(kb) && ka != kb)
    return fail(loc, "contraction dimensions differ: " + Twine(ka) + " vs " + Twine(kb));
  Shape out{m, n};
  if (a.getC()) {
    Shape b;
    if (failed(broadcastShapes(out, rankedOf(a.getC()).getShape(), b)) || b.size() != 2)
      return fail(loc, "C does not broadcast to [M, N]");
  }
  results.push_back(RankedTensorType::get(out, at.getElementType()));
  return success();
}

#define NN_SAME_WITH_AXIS(OP)                                                  \
  NN_INFER(OP) {                                                               \
    Adaptor a(operands, attrs, props, regions);                                \
    auto t = rankedOf(a.getInput());                                           \
    if (failed(normalizeAxis(a.getAxis(), std::max<int64_t>(t.getRank(), 1)))) \
      return fail(loc, "axis " + Twine(a.getAxis()) + " out of range for rank " + Twine(t.getRank())); \
    results.push_back(t);                                                      \
    return success();                                                          \
  }
NN_SAME_WITH_AXIS(SoftmaxOp)
NN_SAME_WITH_AXIS(LogSoftmaxOp)
NN_SAME_WITH_AXIS(CumSumOp)

NN_INFER(LayerNormOp) {
  Adaptor a(operands, attrs, props, regions);
  auto t = rankedOf(a.getInput());
  auto axis = normalizeAxis(a.getAxis(), t.getRank());
  if (failed(axis))
    return fail(loc, "axis " + Twine(a.getAxis()) + " out of range for rank " + Twine(t.getRank()));
  Shape norm(t.getShape().drop_front(*axis));
  for (Value p : {a.getScale(), a.getBias()}) {
    if (!p)
      continue;
    Shape b;
    if (failed(broadcastShapes(norm, rankedOf(p).getShape(), b)) || b.size() != norm.size())
      return fail(loc, "scale/bias do not broadcast to the normalised dimensions");
  }
  results.push_back(t);
  return success();
}

template <typename Adaptor>
static LogicalResult inferReduce(Adaptor a, std::optional<Location> loc,
                                 SmallVectorImpl<Type> &results) {
  auto t = rankedOf(a.getInput());
  auto mask = reductionMask(t.getRank(), a.getAxes(), a.getNoopWithEmptyAxes());
  if (failed(mask))
    return fail(loc, "reduction axis out of range");
  ArrayRef<bool> reduced = *mask;
  Shape out;
  for (int64_t i = 0; i < t.getRank(); ++i)
    if (!reduced[i])
      out.push_back(t.getDimSize(i));
    else if (a.getKeepdims())
      out.push_back(1);
  results.push_back(RankedTensorType::get(out, t.getElementType()));
  return success();
}
NN_INFER(ReduceMeanOp) { return inferReduce(Adaptor(operands, attrs, props, regions), loc, results); }
NN_INFER(ReduceSumOp) { return inferReduce(Adaptor(operands, attrs, props, regions), loc, results); }
NN_INFER(ReduceMaxOp) { return inferReduce(Adaptor(operands, attrs, props, regions), loc, results); }

NN_INFER(GatherOp) {
  Adaptor a(operands, attrs, props, regions);
  auto t = rankedOf(a.getData());
  auto axis = normalizeAxis(a.getAxis(), t.getRank());
  if (failed(axis))
    return fail(loc, "axis " + Twine(a.getAxis()) + " out of range for rank " + Twine(t.getRank()));
  Shape out(t.getShape().take_front(*axis));
  llvm::append_range(out, rankedOf(a.getIndices()).getShape());
  llvm::append_range(out, t.getShape().drop_front(*axis + 1));
  results.push_back(RankedTensorType::get(out, t.getElementType()));
  return success();
}

NN_INFER(ReshapeOp) {
  Adaptor a(operands, attrs, props, regions);
  auto t = rankedOf(a.getData());
  auto st = rankedOf(a.getShape());
  if (st.getRank() != 1 || st.isDynamicDim(0))
    return fail(loc, "shape must be a 1-D tensor of static length");
  Partial p = *getPartialInts(a.getShape());
  Shape out;
  int inferIdx = -1;
  for (auto [i, x] : llvm::enumerate(p)) {
    if (x && *x == 0 && !a.getAllowzero()) {
      if ((int64_t)i >= t.getRank())
        return fail(loc, "shape copies dimension " + Twine(i) + " beyond the input's rank");
      out.push_back(t.getDimSize(i));
    } else if (x && *x == -1) {
      if (inferIdx >= 0)
        return fail(loc, "shape has more than one -1");
      inferIdx = i;
      out.push_back(kDyn);
    } else if (x && *x < -1) {
      return fail(loc, "shape has a negative dimension " + Twine(*x));
    } else {
      out.push_back(x ? *x : kDyn);
    }
  }
  if (inferIdx >= 0 && t.hasStaticShape()) {
    int64_t known = 1;
    bool allStatic = true;
    for (auto [i, d] : llvm::enumerate(out))
      if ((int)i != inferIdx) {
        allStatic &= !ShapedType::isDynamic(d);
        known *= ShapedType::isDynamic(d) ? 1 : d;
      }
    if (allStatic && known != 0)
      out[inferIdx] = t.getNumElements() / known;
  }
  if (t.hasStaticShape() && llvm::none_of(out, ShapedType::isDynamic)) {
    int64_t n = 1;
    for (int64_t d : out)
      n *= d;
    if (n != t.getNumElements())
      return fail(loc, "cannot reshape " + Twine(t.getNumElements()) + " elements into " + Twine(n));
  }
  results.push_back(RankedTensorType::get(out, t.getElementType()));
  return success();
}

NN_INFER(TransposeOp) {
  Adaptor a(operands, attrs, props, regions);
  auto t = rankedOf(a.getData());
  ArrayRef<int64_t> perm = a.getPerm();
  if ((int64_t)perm.size() != t.getRank())
    return fail(loc, "perm has " + Twine(perm.size()) + " entries for rank " + Twine(t.getRank()));
  SmallVector<bool> seen(perm.size(), false);
  Shape out;
  for (int64_t p : perm) {
    if (p < 0 || p >= t.getRank() || seen[p])
      return fail(loc, "perm is not a permutation");
    seen[p] = true;
    out.push_back(t.getDimSize(p));
  }
  results.push_back(RankedTensorType::get(out, t.getElementType()));
  return success();
}

NN_INFER(SqueezeOp) {
  Adaptor a(operands, attrs, props, regions);
  auto t = rankedOf(a.getData());
  SmallVector<bool> drop(t.getRank(), false);
  if (a.getAxes()) {
    ArrayRef<int64_t> axes = *a.getAxes();
    for (int64_t x : axes) {
      auto axis = normalizeAxis(x, t.getRank());
      if (failed(axis))
        return fail(loc, "squeeze axis out of range");
      if (!t.isDynamicDim(*axis) && t.getDimSize(*axis) != 1)
        return fail(loc, "squeezed dimension " + Twine(*axis) + " is not 1");
      drop[*axis] = true;
    }
  } else {
    for (int64_t i = 0; i < t.getRank(); ++i)
      drop[i] = t.getDimSize(i) == 1;
  }
  Shape out;
  for (int64_t i = 0; i < t.getRank(); ++i)
    if (!drop[i])
      out.push_back(t.getDimSize(i));
  results.push_back(RankedTensorType::get(out, t.getElementType()));
  return success();
}

NN_INFER(UnsqueezeOp) {
  Adaptor a(operands, attrs, props, regions);
  auto t = rankedOf(a.getData());
  int64_t rank = t.getRank() + a.getAxes().size();
  SmallVector<bool> ins(rank, false);
  for (int64_t x : a.getAxes()) {
    auto axis = normalizeAxis(x, rank);
    if (failed(axis) || ins[*axis])
      return fail(loc, "unsqueeze axes out of range or repeated");
    ins[*axis] = true;
  }
  Shape out;
  int64_t j = 0;
  for (int64_t i = 0; i < rank; ++i)
    out.push_back(ins[i] ? 1 : t.getDimSize(j++));
  results.push_back(RankedTensorType::get(out, t.getElementType()));
  return success();
}

NN_INFER(ConcatOp) {
  Adaptor a(operands, attrs, props, regions);
  if (a.getInputs().empty())
    return fail(loc, "needs at least one input");
  auto first = rankedOf(a.getInputs()[0]);
  auto axis = normalizeAxis(a.getAxis(), first.getRank());
  if (failed(axis))
    return fail(loc, "axis " + Twine(a.getAxis()) + " out of range for rank " + Twine(first.getRank()));
  Shape out(first.getShape());
  out[*axis] = 0;
  for (Value v : a.getInputs()) {
    auto t = rankedOf(v);
    if (t.getRank() != first.getRank() || t.getElementType() != first.getElementType())
      return fail(loc, "inputs differ in rank or element type");
    for (int64_t i = 0; i < t.getRank(); ++i) {
      int64_t d = t.getDimSize(i);
      if (i == *axis) {
        out[i] = ShapedType::isDynamic(out[i]) || ShapedType::isDynamic(d) ? kDyn : out[i] + d;
      } else if (ShapedType::isDynamic(out[i])) {
        out[i] = d;
      } else if (!ShapedType::isDynamic(d) && d != out[i]) {
        return fail(loc, "inputs differ in dimension " + Twine(i));
      }
    }
  }
  results.push_back(RankedTensorType::get(out, first.getElementType()));
  return success();
}

NN_INFER(SliceOp) {
  Adaptor a(operands, attrs, props, regions);
  auto t = rankedOf(a.getData());
  auto starts = getConstantInts(a.getStarts()), ends = getConstantInts(a.getEnds());
  int64_t n = rankedOf(a.getStarts()).getRank() == 1 ? rankedOf(a.getStarts()).getDimSize(0) : kDyn;
  if (ShapedType::isDynamic(n))
    return fail(loc, "starts must be a 1-D tensor of static length");
  SmallVector<int64_t> axes;
  if (a.getAxes()) {
    auto c = getConstantInts(a.getAxes());
    if (!c)
      return fail(loc, "axes must be a compile-time constant; run-time values are not supported");
    axes = *c;
  } else {
    for (int64_t i = 0; i < n; ++i)
      axes.push_back(i);
  }
  std::optional<SmallVector<int64_t>> steps;
  if (a.getSteps())
    steps = getConstantInts(a.getSteps());
  else
    steps = SmallVector<int64_t>(n, 1);
  if ((int64_t)axes.size() != n)
    return fail(loc, "starts and axes differ in length");
  Shape out(t.getShape());
  SmallVector<bool> seen(t.getRank(), false);
  for (int64_t i = 0; i < n; ++i) {
    auto axis = normalizeAxis(axes[i], t.getRank());
    if (failed(axis) || seen[*axis])
      return fail(loc, "slice axes out of range or repeated");
    seen[*axis] = true;
    if (steps && (*steps)[i] == 0)
      return fail(loc, "slice step is 0");
    int64_t dim = t.getDimSize(*axis);
    if (!starts || !ends || !steps || ShapedType::isDynamic(dim)) {
      out[*axis] = kDyn;
      continue;
    }
    int64_t s = (*starts)[i], e = (*ends)[i], st = (*steps)[i];
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    if (st > 0) {
      s = std::clamp<int64_t>(s, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
      out[*axis] = e > s ? (e - s + st - 1) / st : 0;
    } else {
      s = std::clamp<int64_t>(s, 0, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
      out[*axis] = s > e ? (s - e + (-st) - 1) / (-st) : 0;
    }
  }
  results.push_back(RankedTensorType::get(out, t.getElementType()));
  return success();
}

NN_INFER(ExpandOp) {
  Adaptor a(operands, attrs, props, regions);
  auto t = rankedOf(a.getInput());
  auto st = rankedOf(a.getShape());
  if (st.getRank() != 1 || st.isDynamicDim(0))
    return fail(loc, "shape must be a 1-D tensor of static length");
  Partial p = *getPartialInts(a.getShape());
  Shape target = staticOrDyn(p), out;
  // A `?` in the target may be 1 at run time, so it can't override the input.
  size_t rank = std::max<size_t>(t.getRank(), target.size());
  for (size_t i = 0; i < rank; ++i) {
    int64_t di = i < rank - t.getRank() ? 1 : t.getDimSize(i - (rank - t.getRank()));
    int64_t dt = i < rank - target.size() ? 1 : target[i - (rank - target.size())];
    if (dt == 1 || (ShapedType::isDynamic(dt) && !ShapedType::isDynamic(di) && di != 1))
      out.push_back(di);
    else if (di == 1 || ShapedType::isDynamic(di))
      out.push_back(dt);
    else if (di == dt || ShapedType::isDynamic(dt))
      out.push_back(di);
    else
      return fail(loc, "input dimension " + Twine(di) + " does not expand to " + Twine(dt));
  }
  results.push_back(RankedTensorType::get(out, t.getElementType()));
  return success();
}

NN_INFER(ShapeOp) {
  Adaptor a(operands, attrs, props, regions);
  int64_t r = rankedOf(a.getInput()).getRank();
  auto [s, e] = shapeOpRange(r, (int64_t)a.getStart(), a.getEnd());
  results.push_back(RankedTensorType::get({e - s}, IntegerType::get(ctx, 64)));
  return success();
}

NN_INFER(ConstantOfShapeOp) {
  Adaptor a(operands, attrs, props, regions);
  auto st = rankedOf(a.getShape());
  if (st.getRank() != 1 || st.isDynamicDim(0))
    return fail(loc, "shape must be a 1-D tensor of static length");
  Type elem = a.getValue().getType();
  if (auto shaped = dyn_cast<ShapedType>(elem))
    elem = shaped.getElementType();
  results.push_back(RankedTensorType::get(staticOrDyn(*getPartialInts(a.getShape())), elem));
  return success();
}

NN_INFER(RangeOp) {
  Adaptor a(operands, attrs, props, regions);
  Type elem = rankedOf(a.getStart()).getElementType();
  for (Value v : {a.getStart(), a.getLimit(), a.getDelta()})
    if (rankedOf(v).getNumElements() != 1 || rankedOf(v).getElementType() != elem)
      return fail(loc, "start, limit and delta must be scalars of one type");
  int64_t n = kDyn;
  auto s = getConstantInts(a.getStart()), l = getConstantInts(a.getLimit()),
       d = getConstantInts(a.getDelta());
  if (s && l && d && isa<IntegerType>(elem) && (*d)[0] != 0) {
    int64_t num = (*l)[0] - (*s)[0], del = (*d)[0];
    n = std::max<int64_t>(0, (num + del + (del > 0 ? -1 : 1)) / del);
  }
  results.push_back(RankedTensorType::get({n}, elem));
  return success();
}

NN_INFER(TriluOp) {
  Adaptor a(operands, attrs, props, regions);
  auto t = rankedOf(a.getInput());
  if (t.getRank() < 2)
    return fail(loc, "input must have rank >= 2");
  if (a.getK() && rankedOf(a.getK()).getNumElements() != 1)
    return fail(loc, "k must be a one-element tensor");
  results.push_back(t);
  return success();
}
