// One handler per ONNX op type. Each reads the node's inputs and attributes
// (by opset, where ONNX moved an attribute to an input), builds nn ops and
// sets `outputs`. Compile-time-only inputs (axes, split sizes, bounds) must
// be constants and are folded into attributes.
#include "NodeImporter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Verifier.h"

using namespace mlir;
using namespace sinter::nn;

namespace sinter::frontend {
namespace {

using Handler = NodeHandler;

LogicalResult push(NodeImporter &n, FailureOr<Value> v) {
  if (failed(v))
    return failure();
  n.outputs.push_back(*v);
  return success();
}

RankedTensorType typeOf(Value v) { return cast<RankedTensorType>(v.getType()); }

LogicalResult requireInputs(NodeImporter &n, size_t count) {
  for (size_t i = 0; i < count; ++i)
    if (!n.input(i))
      return n.error() << "missing required input " << i;
  return success();
}

template <typename OpTy>
Handler unary() {
  return [](NodeImporter &n) -> LogicalResult {
    if (failed(requireInputs(n, 1)))
      return failure();
    n.outputs.push_back(OpTy::create(n.b, n.loc, n.input(0)));
    return success();
  };
}

/// Before opset 7, broadcasting ops took `broadcast`/`axis` attributes:
/// B's dims align with A's starting at `axis`. Appending unit dims to B
/// turns that into numpy broadcasting (which is the rule without `axis`).
LogicalResult checkLegacyBroadcast(NodeImporter &n, size_t bIndex = 1) {
  if (n.opset >= 7 || !n.attr("axis") || !n.attrInt("broadcast", 0) || !n.input(bIndex))
    return success();
  int64_t ra = typeOf(n.input(0)).getRank(), rb = typeOf(n.input(bIndex)).getRank();
  auto axis = normalizeAxis(n.attrInt("axis", 0), ra);
  if (failed(axis) || *axis + rb > ra)
    return n.error() << "legacy broadcast axis " << n.attrInt("axis", 0) << " does not fit";
  SmallVector<int64_t> trailing;
  for (int64_t i = rb; i < ra - *axis; ++i)
    trailing.push_back(i);
  if (trailing.empty())
    return success();
  auto b = n.make<UnsqueezeOp>(n.input(bIndex), n.b.getDenseI64ArrayAttr(trailing));
  if (failed(b))
    return failure();
  n.inputs[bIndex] = *b;
  return success();
}

template <typename OpTy>
Handler binary() {
  return [](NodeImporter &n) -> LogicalResult {
    if (failed(requireInputs(n, 2)) || failed(checkLegacyBroadcast(n)))
      return failure();
    return push(n, n.make<OpTy>(n.input(0), n.input(1)));
  };
}

/// Max/Min take any number of inputs: a left fold of the binary op.
template <typename OpTy>
Handler variadic() {
  return [](NodeImporter &n) -> LogicalResult {
    if (n.inputs.empty() || llvm::is_contained(n.inputs, Value()))
      return n.error() << "needs at least one input and no omitted inputs";
    Value acc = n.input(0);
    for (size_t i = 1; i < n.inputs.size(); ++i) {
      auto next = n.make<OpTy>(acc, n.input(i));
      if (failed(next))
        return failure();
      acc = *next;
    }
    n.outputs.push_back(acc);
    return success();
  };
}

Handler passThrough() {
  return [](NodeImporter &n) -> LogicalResult {
    if (failed(requireInputs(n, 1)))
      return failure();
    n.outputs.push_back(n.input(0));
    return success();
  };
}

LogicalResult importConstant(NodeImporter &n) {
  const auto &node = n.node;
  if (node.attribute_size() != 1)
    return n.error() << "Constant must have exactly one value attribute";
  const auto &a = node.attribute(0);
  MLIRContext &ctx = *n.b.getContext();
  Attribute value;
  Type f32 = n.b.getF32Type(), i64 = n.b.getI64Type();
  if (a.name() == "value") {
    onnx::TensorProto t = a.t();
    auto attr = tensorToAttr(ctx, t, n.baseDir, n.loc);
    if (failed(attr))
      return failure();
    value = *attr;
  } else if (a.name() == "value_float") {
    value = DenseElementsAttr::get(RankedTensorType::get({}, f32), a.f());
  } else if (a.name() == "value_int") {
    value = DenseElementsAttr::get(RankedTensorType::get({}, i64), (int64_t)a.i());
  } else if (a.name() == "value_floats") {
    SmallVector<float> v(a.floats().begin(), a.floats().end());
    value = DenseElementsAttr::get(RankedTensorType::get({(int64_t)v.size()}, f32), ArrayRef(v));
  } else if (a.name() == "value_ints") {
    SmallVector<int64_t> v(a.ints().begin(), a.ints().end());
    value = DenseElementsAttr::get(RankedTensorType::get({(int64_t)v.size()}, i64), ArrayRef(v));
  } else {
    return n.error() << "Constant attribute '" << a.name() << "' is not supported";
  }
  n.outputs.push_back(arith::ConstantOp::create(n.b, n.loc, cast<TypedAttr>(value)));
  return success();
}

LogicalResult importCast(NodeImporter &n) {
  if (failed(requireInputs(n, 1)))
    return failure();
  if (n.opset < 6)
    return n.error() << "Cast with a string 'to' (before opset 6) is not supported";
  Type elem = elementTypeOf(*n.b.getContext(), n.attrInt("to", 0));
  if (!elem)
    return n.error() << "cast to unsupported element type " << n.attrInt("to", 0);
  auto t = typeOf(n.input(0));
  auto rt = RankedTensorType::get(t.getShape(), elem);
  auto op = CastOp::create(n.b, n.loc, rt, n.input(0));
  SmallVector<Value> folded;
  if (succeeded(n.b.tryFold(op, folded)) && !folded.empty()) {
    op->erase();
    n.outputs.push_back(folded[0]);
  } else {
    n.outputs.push_back(op);
  }
  return success();
}

LogicalResult importClip(NodeImporter &n) {
  if (failed(requireInputs(n, 1)))
    return failure();
  Value lo = n.input(1), hi = n.input(2);
  if (n.opset < 11) {
    Type elem = typeOf(n.input(0)).getElementType();
    auto bound = [&](StringRef name) -> Value {
      if (!n.attr(name))
        return nullptr;
      auto type = RankedTensorType::get({}, elem);
      return arith::ConstantOp::create(n.b, n.loc, DenseElementsAttr::get(type, n.b.getFloatAttr(elem, n.attrFloat(name, 0)).getValue()));
    };
    lo = bound("min");
    hi = bound("max");
  }
  auto op = ClipOp::create(n.b, n.loc, typeOf(n.input(0)), n.input(0), lo, hi);
  if (failed(mlir::verify(op))) {
    op->erase();
    return failure();
  }
  n.outputs.push_back(op);
  return success();
}

template <typename OpTy>
LogicalResult importAttrUnary(NodeImporter &n) {
  if (failed(requireInputs(n, 1)))
    return failure();
  Value x = n.input(0);
  if constexpr (std::is_same_v<OpTy, LeakyReluOp>)
    n.outputs.push_back(LeakyReluOp::create(n.b, n.loc, x, n.b.getF32FloatAttr(n.attrFloat("alpha", 0.01f))));
  else if constexpr (std::is_same_v<OpTy, HardSigmoidOp>)
    n.outputs.push_back(HardSigmoidOp::create(n.b, n.loc, x, n.b.getF32FloatAttr(n.attrFloat("alpha", 0.2f)),
                                              n.b.getF32FloatAttr(n.attrFloat("beta", 0.5f))));
  else
    n.outputs.push_back(GeluOp::create(n.b, n.loc, x, n.b.getStringAttr(n.attrString("approximate", "none"))));
  return success();
}

LogicalResult importGemm(NodeImporter &n) {
  if (failed(requireInputs(n, 2)) || failed(checkLegacyBroadcast(n, 2)))
    return failure();
  return push(n, n.make<GemmOp>(n.input(0), n.input(1), n.input(2),
                                n.b.getF32FloatAttr(n.attrFloat("alpha", 1)),
                                n.b.getF32FloatAttr(n.attrFloat("beta", 1)),
                                n.b.getBoolAttr(n.attrInt("transA", 0)),
                                n.b.getBoolAttr(n.attrInt("transB", 0))));
}

template <typename OpTy>
LogicalResult importSoftmax(NodeImporter &n) {
  if (failed(requireInputs(n, 1)))
    return failure();
  int64_t rank = typeOf(n.input(0)).getRank();
  int64_t axis = n.attrInt("axis", n.opset < 13 ? 1 : -1);
  auto norm = normalizeAxis(axis, rank);
  // Before opset 13 the op flattened at `axis`; identical only for the last.
  if (n.opset < 13 && succeeded(norm) && *norm != rank - 1)
    return n.error() << "softmax over flattened axes " << axis << ".. is not supported before opset 13";
  return push(n, n.make<OpTy>(n.input(0), n.b.getI64IntegerAttr(axis)));
}

LogicalResult importLayerNorm(NodeImporter &n) {
  if (failed(requireInputs(n, 2)))
    return failure();
  if (n.attrInt("stash_type", 1) != 1)
    return n.error() << "stash_type other than float is not supported";
  int64_t axisAttr = n.attrInt("axis", -1);
  float eps = n.attrFloat("epsilon", 1e-5f);
  if (failed(push(n, n.make<LayerNormOp>(n.input(0), n.input(1), n.input(2),
                                         n.b.getI64IntegerAttr(axisAttr), n.b.getF32FloatAttr(eps)))))
    return failure();
  if (n.node.output_size() < 2)
    return success();
  // The optional Mean and InvStdDev outputs, composed from nn ops (their
  // dims are kept as 1 over the normalised axes).
  auto t = typeOf(n.input(0));
  int64_t axis = *normalizeAxis(axisAttr, t.getRank());
  SmallVector<int64_t> axes;
  for (int64_t i = axis; i < t.getRank(); ++i)
    axes.push_back(i);
  auto mean = [&](Value v) {
    return n.make<ReduceMeanOp>(v, n.b.getI64ArrayAttr(axes), n.b.getBoolAttr(true), n.b.getBoolAttr(false));
  };
  auto mu = mean(n.input(0));
  if (failed(mu))
    return failure();
  auto centered = n.make<SubOp>(n.input(0), *mu);
  auto sq = n.make<MulOp>(*centered, *centered);
  auto var = mean(*sq);
  auto epsT = arith::ConstantOp::create(
      n.b, n.loc, DenseElementsAttr::get(RankedTensorType::get({}, t.getElementType()),
                                         n.b.getFloatAttr(t.getElementType(), eps).getValue()));
  auto shifted = n.make<AddOp>(*var, epsT.getResult());
  Value invStd = ReciprocalOp::create(n.b, n.loc, SqrtOp::create(n.b, n.loc, *shifted));
  n.outputs.push_back(*mu);
  n.outputs.push_back(invStd);
  return success();
}

/// Axes from the attribute (older opsets) or the optional second input.
FailureOr<std::optional<SmallVector<int64_t>>> axesOf(NodeImporter &n, int64_t inputSince) {
  if (n.opset < inputSince)
    return n.attrInts("axes");
  if (!n.input(1))
    return std::optional<SmallVector<int64_t>>();
  auto v = n.constInts(1, "axes");
  if (failed(v))
    return failure();
  return std::optional<SmallVector<int64_t>>(*v);
}

template <typename OpTy>
Handler reduce(int64_t axesInputSince) {
  return [axesInputSince](NodeImporter &n) -> LogicalResult {
    if (failed(requireInputs(n, 1)))
      return failure();
    auto axes = axesOf(n, axesInputSince);
    if (failed(axes))
      return failure();
    ArrayAttr axesAttr = *axes ? n.b.getI64ArrayAttr(**axes) : ArrayAttr();
    return push(n, n.make<OpTy>(n.input(0), axesAttr, n.b.getBoolAttr(n.attrInt("keepdims", 1)),
                                n.b.getBoolAttr(n.attrInt("noop_with_empty_axes", 0))));
  };
}

LogicalResult importCumSum(NodeImporter &n) {
  if (failed(requireInputs(n, 2)))
    return failure();
  auto axis = n.constInts(1, "axis");
  if (failed(axis))
    return failure();
  return push(n, n.make<CumSumOp>(n.input(0), n.b.getI64IntegerAttr((*axis)[0]),
                                  n.b.getBoolAttr(n.attrInt("exclusive", 0)),
                                  n.b.getBoolAttr(n.attrInt("reverse", 0))));
}

LogicalResult importGather(NodeImporter &n) {
  if (failed(requireInputs(n, 2)))
    return failure();
  return push(n, n.make<GatherOp>(n.input(0), n.input(1), n.b.getI64IntegerAttr(n.attrInt("axis", 0))));
}

LogicalResult importReshape(NodeImporter &n) {
  if (n.opset < 5)
    return n.error() << "Reshape with a 'shape' attribute (before opset 5) is not supported";
  if (failed(requireInputs(n, 2)))
    return failure();
  return push(n, n.make<ReshapeOp>(n.input(0), n.input(1), n.b.getBoolAttr(n.attrInt("allowzero", 0))));
}

LogicalResult importTranspose(NodeImporter &n) {
  if (failed(requireInputs(n, 1)))
    return failure();
  int64_t rank = typeOf(n.input(0)).getRank();
  SmallVector<int64_t> perm;
  if (auto p = n.attrInts("perm"))
    perm = *p;
  else
    for (int64_t i = rank - 1; i >= 0; --i)
      perm.push_back(i);
  return push(n, n.make<TransposeOp>(n.input(0), n.b.getDenseI64ArrayAttr(perm)));
}

LogicalResult importSqueeze(NodeImporter &n) {
  if (failed(requireInputs(n, 1)))
    return failure();
  auto axes = axesOf(n, 13);
  if (failed(axes))
    return failure();
  auto attr = *axes ? n.b.getDenseI64ArrayAttr(**axes) : DenseI64ArrayAttr();
  return push(n, n.make<SqueezeOp>(n.input(0), attr));
}

LogicalResult importUnsqueeze(NodeImporter &n) {
  if (failed(requireInputs(n, 1)))
    return failure();
  auto axes = axesOf(n, 13);
  if (failed(axes))
    return failure();
  if (!*axes)
    return n.error() << "Unsqueeze needs axes";
  return push(n, n.make<UnsqueezeOp>(n.input(0), n.b.getDenseI64ArrayAttr(**axes)));
}

LogicalResult importConcat(NodeImporter &n) {
  SmallVector<Value> ins;
  for (Value v : n.inputs)
    if (v)
      ins.push_back(v);
  if (ins.empty())
    return n.error() << "Concat needs inputs";
  // Before opset 4 the axis defaulted to 1.
  return push(n, n.make<ConcatOp>(ins, n.b.getI64IntegerAttr(n.attrInt("axis", n.opset < 4 ? 1 : 0))));
}

LogicalResult importSlice(NodeImporter &n) {
  if (failed(requireInputs(n, 1)))
    return failure();
  Value starts = n.input(1), ends = n.input(2), axes = n.input(3), steps = n.input(4);
  if (n.opset < 10) {
    auto s = n.attrInts("starts"), e = n.attrInts("ends"), a = n.attrInts("axes");
    if (!s || !e)
      return n.error() << "Slice needs starts and ends";
    starts = n.i64Const(*s);
    ends = n.i64Const(*e);
    axes = a ? n.i64Const(*a) : Value();
    steps = nullptr;
  } else if (!starts || !ends) {
    return n.error() << "Slice needs starts and ends";
  }
  return push(n, n.make<SliceOp>(n.input(0), starts, ends, axes, steps));
}

LogicalResult importSplit(NodeImporter &n) {
  if (failed(requireInputs(n, 1)))
    return failure();
  auto t = typeOf(n.input(0));
  int64_t axisAttr = n.attrInt("axis", 0);
  auto axis = normalizeAxis(axisAttr, t.getRank());
  if (failed(axis))
    return n.error() << "axis " << axisAttr << " out of range for rank " << t.getRank();
  SmallVector<int64_t> sizes;
  if (n.opset >= 13 && n.input(1)) {
    auto s = n.constInts(1, "split");
    if (failed(s))
      return failure();
    sizes = *s;
  } else if (auto s = n.attrInts("split"); s && n.opset < 13) {
    sizes = *s;
  } else {
    int64_t parts = n.attr("num_outputs") ? n.attrInt("num_outputs", 1) : n.node.output_size();
    int64_t dim = t.getDimSize(*axis);
    if (ShapedType::isDynamic(dim))
      return n.error() << "splitting a dynamic dimension into equal parts is not supported";
    if (parts <= 0)
      return n.error() << "Split needs at least one output";
    int64_t chunk = (dim + parts - 1) / parts;
    for (int64_t i = 0; i < parts; ++i)
      sizes.push_back(std::max<int64_t>(0, std::min(chunk, dim - i * chunk)));
  }
  if ((int64_t)sizes.size() != n.node.output_size())
    return n.error() << sizes.size() << " split sizes for " << n.node.output_size() << " outputs";
  SmallVector<Type> types;
  for (int64_t s : sizes) {
    SmallVector<int64_t> shape(t.getShape());
    shape[*axis] = s;
    types.push_back(RankedTensorType::get(shape, t.getElementType()));
  }
  auto op = SplitOp::create(n.b, n.loc, types, n.input(0), n.b.getI64IntegerAttr(*axis),
                            n.b.getDenseI64ArrayAttr(sizes));
  if (failed(mlir::verify(op))) {
    op->erase();
    return failure();
  }
  llvm::append_range(n.outputs, op.getOutputs());
  return success();
}

LogicalResult importExpand(NodeImporter &n) {
  if (failed(requireInputs(n, 2)))
    return failure();
  return push(n, n.make<ExpandOp>(n.input(0), n.input(1)));
}

LogicalResult importShape(NodeImporter &n) {
  if (failed(requireInputs(n, 1)))
    return failure();
  IntegerAttr end = n.attr("end") ? n.b.getI64IntegerAttr(n.attrInt("end", 0)) : IntegerAttr();
  return push(n, n.make<ShapeOp>(n.input(0), n.b.getI64IntegerAttr(n.attrInt("start", 0)), end));
}

LogicalResult importConstantOfShape(NodeImporter &n) {
  if (failed(requireInputs(n, 1)))
    return failure();
  TypedAttr value = n.b.getF32FloatAttr(0);
  if (const auto *a = n.attr("value")) {
    onnx::TensorProto t = a->t();
    auto attr = tensorToAttr(*n.b.getContext(), t, n.baseDir, n.loc);
    if (failed(attr))
      return failure();
    auto dense = dyn_cast<DenseElementsAttr>(*attr);
    if (!dense || dense.getNumElements() != 1)
      return n.error() << "value must be a one-element tensor";
    value = dense.getSplatValue<TypedAttr>();
  }
  return push(n, n.make<ConstantOfShapeOp>(n.input(0), value));
}

LogicalResult importRange(NodeImporter &n) {
  if (failed(requireInputs(n, 3)))
    return failure();
  return push(n, n.make<RangeOp>(n.input(0), n.input(1), n.input(2)));
}

LogicalResult importTrilu(NodeImporter &n) {
  if (failed(requireInputs(n, 1)))
    return failure();
  return push(n, n.make<TriluOp>(n.input(0), n.input(1), n.b.getBoolAttr(n.attrInt("upper", 1))));
}

LogicalResult importDropout(NodeImporter &n) {
  if (failed(requireInputs(n, 1)))
    return failure();
  if (n.input(2)) {
    auto training = n.constScalar(2);
    if (!training || *training != 0)
      return n.error() << "training mode is not supported (inference only)";
  }
  n.outputs.push_back(n.input(0));
  if (n.node.output_size() > 1) {
    // In inference every element is kept: the mask is all true.
    auto shape = n.make<ShapeOp>(n.input(0), n.b.getI64IntegerAttr(0), IntegerAttr());
    if (failed(shape))
      return failure();
    return push(n, n.make<ConstantOfShapeOp>(*shape, n.b.getIntegerAttr(n.b.getI1Type(), 1)));
  }
  return success();
}

} // namespace

const llvm::StringMap<NodeHandler> &nodeHandlers() {
  static const llvm::StringMap<NodeHandler> handlers = {
      {"Add", binary<AddOp>()}, {"Sub", binary<SubOp>()}, {"Mul", binary<MulOp>()},
      {"Div", binary<DivOp>()}, {"Pow", binary<PowOp>()}, {"Equal", binary<EqualOp>()},
      {"Less", binary<LessOp>()}, {"Greater", binary<GreaterOp>()}, {"And", binary<AndOp>()},
      {"Or", binary<OrOp>()}, {"Max", variadic<MaxOp>()}, {"Min", variadic<MinOp>()},
      {"Where", [](NodeImporter &n) -> LogicalResult {
         if (failed(requireInputs(n, 3)))
           return failure();
         return push(n, n.make<WhereOp>(n.input(0), n.input(1), n.input(2)));
       }},
      {"Sqrt", unary<SqrtOp>()}, {"Reciprocal", unary<ReciprocalOp>()}, {"Neg", unary<NegOp>()},
      {"Exp", unary<ExpOp>()}, {"Log", unary<LogOp>()}, {"Erf", unary<ErfOp>()},
      {"Tanh", unary<TanhOp>()}, {"Sigmoid", unary<SigmoidOp>()}, {"Relu", unary<ReluOp>()},
      {"Not", unary<NotOp>()}, {"Abs", unary<AbsOp>()}, {"Floor", unary<FloorOp>()},
      {"LeakyRelu", importAttrUnary<LeakyReluOp>}, {"HardSigmoid", importAttrUnary<HardSigmoidOp>},
      {"Gelu", importAttrUnary<GeluOp>}, {"Clip", importClip}, {"Cast", importCast},
      {"MatMul", binary<MatMulOp>()}, {"Gemm", importGemm},
      {"Softmax", importSoftmax<SoftmaxOp>}, {"LogSoftmax", importSoftmax<LogSoftmaxOp>},
      {"LayerNormalization", importLayerNorm},
      {"ReduceMean", reduce<ReduceMeanOp>(18)}, {"ReduceSum", reduce<ReduceSumOp>(13)},
      {"ReduceMax", reduce<ReduceMaxOp>(18)}, {"CumSum", importCumSum},
      {"Gather", importGather}, {"Reshape", importReshape}, {"Transpose", importTranspose},
      {"Squeeze", importSqueeze}, {"Unsqueeze", importUnsqueeze}, {"Concat", importConcat},
      {"Slice", importSlice}, {"Split", importSplit}, {"Expand", importExpand},
      {"Shape", importShape}, {"ConstantOfShape", importConstantOfShape},
      {"Range", importRange}, {"Trilu", importTrilu}, {"Constant", importConstant},
      {"Identity", passThrough()}, {"Dropout", importDropout},
  };
  return handlers;
}

} // namespace sinter::frontend
