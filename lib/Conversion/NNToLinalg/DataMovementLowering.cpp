// Gather, reshapes, transposes, concat/slice/split, expand and the shape
// ops → tensor/linalg. ONNX decides several of these sizes from run-time
// values, so the sizes are computed as index arithmetic here.
#include "LoweringUtils.h"

#include "sinter/Dialect/NN/NNDialect.h"

using namespace mlir;
using namespace sinter::nn;

namespace sinter::lowering {
namespace {

Value cidx(OpBuilder &b, Location loc, int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }

SmallVector<Value> allDims(OpBuilder &b, Location loc, Value v) {
  SmallVector<Value> dims;
  for (int64_t i = 0; i < rankedOf(v).getRank(); ++i)
    dims.push_back(dimValue(b, loc, v, i));
  return dims;
}


Value clampIndex(OpBuilder &b, Location loc, Value v, Value lo, Value hi) {
  return arith::MinSIOp::create(b, loc, arith::MaxSIOp::create(b, loc, v, lo), hi);
}

struct GatherLowering : OpRewritePattern<GatherOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(GatherOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value data = op.getData(), indices = op.getIndices();
    auto dt = rankedOf(data), it = rankedOf(indices);
    int64_t axis = *normalizeAxis(op.getAxis(), dt.getRank()), ir = it.getRank();
    auto result = op.getType();
    SmallVector<Value> dims;
    for (int64_t i = 0; i < axis; ++i)
      dims.push_back(dimValue(rewriter, loc, data, i));
    llvm::append_range(dims, allDims(rewriter, loc, indices));
    for (int64_t i = axis + 1; i < dt.getRank(); ++i)
      dims.push_back(dimValue(rewriter, loc, data, i));
    Value n = dimValue(rewriter, loc, data, axis);
    SmallVector<AffineExpr> idxExprs;
    for (int64_t i = 0; i < ir; ++i)
      idxExprs.push_back(rewriter.getAffineDimExpr(axis + i));
    AffineMap idxMap = AffineMap::get(result.getRank(), 0, idxExprs, rewriter.getContext());
    Value out = buildIndexed(
        rewriter, loc, result, dims, indices, idxMap,
        [&](OpBuilder &b, Location l, ValueRange iv, ValueRange args) {
          Value k = gatherIndex(b, l, args[0], n);
          SmallVector<Value> at(iv.take_front(axis));
          at.push_back(k);
          llvm::append_range(at, iv.drop_front(axis + ir));
          return (Value)tensor::ExtractOp::create(b, l, data, at);
        });
    rewriter.replaceOp(op, out);
    return success();
  }
};

struct ReshapeLowering : OpRewritePattern<ReshapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReshapeOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value data = op.getData();
    auto result = op.getType();
    int64_t rank = result.getRank();
    Value zero = cidx(rewriter, loc, 0), one = cidx(rewriter, loc, 1);
    SmallVector<Value> dims;
    Value known = one;
    for (int64_t i = 0; i < rank; ++i) {
      Value s = extractIndex(rewriter, loc, op.getShape(), i);
      if (!op.getAllowzero() && i < rankedOf(data).getRank()) {
        Value isZero = arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::eq, s, zero);
        s = arith::SelectOp::create(rewriter, loc, isZero, dimValue(rewriter, loc, data, i), s);
      }
      Value isInfer = arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::eq, s,
                                            cidx(rewriter, loc, -1));
      known = arith::MulIOp::create(rewriter, loc, known,
                                    arith::SelectOp::create(rewriter, loc, isInfer, one, s));
      dims.push_back(s);
    }
    // -1 (at most one) becomes numel / product of the other sizes.
    Value numel = one;
    for (Value d : allDims(rewriter, loc, data))
      numel = arith::MulIOp::create(rewriter, loc, numel, d);
    Value safeKnown = arith::MaxSIOp::create(rewriter, loc, known, one);
    Value inferred = arith::DivSIOp::create(rewriter, loc, numel, safeKnown);
    for (int64_t i = 0; i < rank; ++i) {
      Value isInfer = arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::eq, dims[i],
                                            cidx(rewriter, loc, -1));
      dims[i] = arith::SelectOp::create(rewriter, loc, isInfer, inferred, dims[i]);
    }
    rewriter.replaceOp(op, reshapeTo(rewriter, loc, data, result, dims));
    return success();
  }
};

template <typename OpTy>
struct UnitDimReshapeLowering : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpTy op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto result = op.getType();
    auto in = rankedOf(op.getData());
    // Result dims are the input's non-unit dims in order, plus unit dims.
    SmallVector<bool> unitInResult(result.getRank(), false), droppedFromInput(in.getRank(), false);
    if constexpr (std::is_same_v<OpTy, UnsqueezeOp>) {
      for (int64_t a : op.getAxes())
        unitInResult[*normalizeAxis(a, result.getRank())] = true;
    } else if (op.getAxes()) {
      ArrayRef<int64_t> axes = *op.getAxes();
      for (int64_t a : axes)
        droppedFromInput[*normalizeAxis(a, in.getRank())] = true;
    } else {
      for (int64_t i = 0; i < in.getRank(); ++i)
        droppedFromInput[i] = in.getDimSize(i) == 1;
    }
    SmallVector<Value> kept;
    for (int64_t i = 0; i < in.getRank(); ++i)
      if (!droppedFromInput[i])
        kept.push_back(dimValue(rewriter, loc, op.getData(), i));
    SmallVector<Value> dims;
    size_t j = 0;
    for (int64_t i = 0; i < result.getRank(); ++i)
      dims.push_back(unitInResult[i] ? cidx(rewriter, loc, 1) : kept[j++]);
    rewriter.replaceOp(op, reshapeTo(rewriter, loc, op.getData(), result, dims));
    return success();
  }
};

struct TransposeLowering : OpRewritePattern<TransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TransposeOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    SmallVector<Value> in = allDims(rewriter, loc, op.getData()), dims;
    for (int64_t p : op.getPerm())
      dims.push_back(in[p]);
    Value init = emptyTensor(rewriter, loc, op.getType(), dims);
    rewriter.replaceOpWithNewOp<linalg::TransposeOp>(op, op.getData(), init, op.getPerm());
    return success();
  }
};

struct ConcatLowering : OpRewritePattern<ConcatOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ConcatOp op, PatternRewriter &rewriter) const override {
    int64_t axis = *normalizeAxis(op.getAxis(), op.getType().getRank());
    rewriter.replaceOpWithNewOp<tensor::ConcatOp>(op, op.getType(), axis, op.getInputs());
    return success();
  }
};

struct SplitLowering : OpRewritePattern<SplitOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SplitOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto in = rankedOf(op.getInput());
    int64_t axis = *normalizeAxis(op.getAxis(), in.getRank()), offset = 0;
    SmallVector<Value> dims = allDims(rewriter, loc, op.getInput()), results;
    for (auto [size, result] : llvm::zip(op.getSizes(), op.getOutputs())) {
      SmallVector<OpFoldResult> offsets(in.getRank(), rewriter.getIndexAttr(0)), sizes, strides(in.getRank(), rewriter.getIndexAttr(1));
      for (int64_t i = 0; i < in.getRank(); ++i)
        sizes.push_back(i == axis ? OpFoldResult(rewriter.getIndexAttr(size)) : getAsOpFoldResult(dims[i]));
      offsets[axis] = rewriter.getIndexAttr(offset);
      offset += size;
      auto resultType = cast<RankedTensorType>(result.getType());
      if (size == 0) {
        // Empty parts: extract_slice rejects offsets at the end of a dim.
        SmallVector<Value> partDims(dims);
        partDims[axis] = cidx(rewriter, loc, 0);
        results.push_back(emptyTensor(rewriter, loc, resultType, partDims));
        continue;
      }
      results.push_back(tensor::ExtractSliceOp::create(rewriter, loc, cast<RankedTensorType>(result.getType()),
                                                       op.getInput(), offsets, sizes, strides));
    }
    rewriter.replaceOp(op, results);
    return success();
  }
};

/// Per sliced axis: clamped start, result size and step, as ONNX defines.
struct AxisSlice {
  Value start, size, step;
};

AxisSlice sliceBounds(OpBuilder &b, Location loc, Value s, Value e, Value st, Value dim) {
  Value zero = cidx(b, loc, 0), one = cidx(b, loc, 1), minusOne = cidx(b, loc, -1);
  auto addIfNeg = [&](Value v) {
    Value neg = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, v, zero);
    return (Value)arith::SelectOp::create(b, loc, neg, arith::AddIOp::create(b, loc, v, dim), v);
  };
  s = addIfNeg(s);
  e = addIfNeg(e);
  Value pos = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt, st, zero);
  Value dimM1 = arith::SubIOp::create(b, loc, dim, one);
  Value sC = arith::SelectOp::create(b, loc, pos, clampIndex(b, loc, s, zero, dim), clampIndex(b, loc, s, zero, dimM1));
  Value eC = arith::SelectOp::create(b, loc, pos, clampIndex(b, loc, e, zero, dim), clampIndex(b, loc, e, minusOne, dimM1));
  // size = max(0, ceil((e - s) / st)), for either sign of st.
  Value span = arith::SubIOp::create(b, loc, eC, sC);
  Value bias = arith::SelectOp::create(b, loc, pos, arith::SubIOp::create(b, loc, st, one),
                                       arith::AddIOp::create(b, loc, st, one));
  Value size = arith::DivSIOp::create(b, loc, arith::AddIOp::create(b, loc, span, bias), st);
  size = arith::MaxSIOp::create(b, loc, size, zero);
  return {sC, size, st};
}

struct SliceLowering : OpRewritePattern<SliceOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SliceOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value data = op.getData();
    auto in = rankedOf(data);
    int64_t rank = in.getRank(), n = rankedOf(op.getStarts()).getDimSize(0);
    SmallVector<int64_t> axes;
    if (op.getAxes())
      axes = *getConstantInts(op.getAxes());
    else
      for (int64_t i = 0; i < n; ++i)
        axes.push_back(i);
    SmallVector<Value> dims = allDims(rewriter, loc, data);
    SmallVector<Value> starts(rank, cidx(rewriter, loc, 0)), sizes(dims), steps(rank, cidx(rewriter, loc, 1));
    std::optional<SmallVector<int64_t>> constSteps =
        op.getSteps() ? getConstantInts(op.getSteps()) : SmallVector<int64_t>(n, 1);
    for (int64_t i = 0; i < n; ++i) {
      int64_t axis = *normalizeAxis(axes[i], rank);
      Value st = op.getSteps() ? extractIndex(rewriter, loc, op.getSteps(), i) : cidx(rewriter, loc, 1);
      AxisSlice s = sliceBounds(rewriter, loc, extractIndex(rewriter, loc, op.getStarts(), i),
                                extractIndex(rewriter, loc, op.getEnds(), i), st, dims[axis]);
      starts[axis] = s.start;
      sizes[axis] = s.size;
      steps[axis] = s.step;
    }
    auto result = op.getType();
    if (constSteps && llvm::all_of(*constSteps, [](int64_t s) { return s > 0; })) {
      SmallVector<OpFoldResult> offs(starts.begin(), starts.end()), szs, strides(steps.begin(), steps.end());
      for (int64_t i = 0; i < rank; ++i)
        szs.push_back(result.isDynamicDim(i) ? OpFoldResult(sizes[i])
                                             : OpFoldResult(rewriter.getIndexAttr(result.getDimSize(i))));
      rewriter.replaceOpWithNewOp<tensor::ExtractSliceOp>(op, result, data, offs, szs, strides);
      return success();
    }
    // Negative steps: read in[start + i * step] element by element.
    Value out = buildIndexed(rewriter, loc, result, sizes, {}, {},
                             [&](OpBuilder &b, Location l, ValueRange iv, ValueRange) {
                               SmallVector<Value> at;
                               for (int64_t i = 0; i < rank; ++i)
                                 at.push_back(arith::AddIOp::create(b, l, starts[i], arith::MulIOp::create(b, l, iv[i], steps[i])));
                               return (Value)tensor::ExtractOp::create(b, l, data, at);
                             });
    rewriter.replaceOp(op, out);
    return success();
  }
};

struct ExpandLowering : OpRewritePattern<ExpandOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ExpandOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = op.getInput();
    auto result = op.getType();
    int64_t rank = result.getRank(), inRank = rankedOf(input).getRank();
    int64_t shapeLen = rankedOf(op.getShape()).getDimSize(0);
    Value one = cidx(rewriter, loc, 1), zero = cidx(rewriter, loc, 0);
    SmallVector<Value> inDims = allDims(rewriter, loc, input), dims;
    for (int64_t i = 0; i < rank; ++i) {
      int64_t j = i - (rank - inRank), k = i - (rank - shapeLen);
      Value di = j >= 0 ? inDims[j] : one;
      Value dt = k >= 0 ? extractIndex(rewriter, loc, op.getShape(), k) : one;
      Value tIsOne = arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::eq, dt, one);
      dims.push_back(arith::SelectOp::create(rewriter, loc, tIsOne, di, dt));
    }
    // Input dims of run-time size 1 broadcast, so read index 0 there.
    Value out = buildIndexed(rewriter, loc, result, dims, {}, {},
                             [&](OpBuilder &b, Location l, ValueRange iv, ValueRange) {
                               SmallVector<Value> at;
                               for (int64_t j = 0; j < inRank; ++j) {
                                 Value isOne = arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, inDims[j], one);
                                 at.push_back(arith::SelectOp::create(b, l, isOne, zero, iv[j + rank - inRank]));
                               }
                               return (Value)tensor::ExtractOp::create(b, l, input, at);
                             });
    rewriter.replaceOp(op, out);
    return success();
  }
};

struct ShapeLowering : OpRewritePattern<ShapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ShapeOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    int64_t r = rankedOf(op.getInput()).getRank();
    auto [s, e] = shapeOpRange(r, (int64_t)op.getStart(), op.getEnd());
    SmallVector<Value> elems;
    for (int64_t i = s; i < e; ++i)
      elems.push_back(toI64(rewriter, loc, dimValue(rewriter, loc, op.getInput(), i)));
    rewriter.replaceOpWithNewOp<tensor::FromElementsOp>(op, op.getType(), elems);
    return success();
  }
};

struct ConstantOfShapeLowering : OpRewritePattern<ConstantOfShapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ConstantOfShapeOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto result = op.getType();
    SmallVector<Value> dims;
    for (int64_t i = 0; i < result.getRank(); ++i)
      dims.push_back(extractIndex(rewriter, loc, op.getShape(), i));
    TypedAttr v = op.getValue();
    if (auto d = dyn_cast<DenseElementsAttr>(v))
      v = d.getSplatValue<TypedAttr>();
    Value c = arith::ConstantOp::create(rewriter, loc, v);
    rewriter.replaceOpWithNewOp<linalg::FillOp>(op, c, emptyTensor(rewriter, loc, result, dims));
    return success();
  }
};

struct RangeLowering : OpRewritePattern<RangeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RangeOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto result = op.getType();
    Type elem = result.getElementType();
    auto scalarOf = [&](Value t) {
      SmallVector<Value> idx(rankedOf(t).getRank(), cidx(rewriter, loc, 0));
      return (Value)tensor::ExtractOp::create(rewriter, loc, t, idx);
    };
    Value start = scalarOf(op.getStart()), limit = scalarOf(op.getLimit()), delta = scalarOf(op.getDelta());
    // n = max(ceil((limit - start) / delta), 0), computed in f64.
    Type f64 = rewriter.getF64Type();
    Value span = arith::SubFOp::create(rewriter, loc, castScalar(rewriter, loc, limit, f64), castScalar(rewriter, loc, start, f64));
    Value q = math::CeilOp::create(rewriter, loc, arith::DivFOp::create(rewriter, loc, span, castScalar(rewriter, loc, delta, f64)));
    Value n = arith::MaxSIOp::create(rewriter, loc, castScalar(rewriter, loc, q, rewriter.getI64Type()),
                                     arith::ConstantIntOp::create(rewriter, loc, 0, 64));
    Value out = buildIndexed(rewriter, loc, result, toIndex(rewriter, loc, n), {}, {},
                             [&](OpBuilder &b, Location l, ValueRange iv, ValueRange) {
                               Value i = castScalar(b, l, toI64(b, l, iv[0]), elem);
                               return isFloat(elem) ? (Value)arith::AddFOp::create(b, l, start, arith::MulFOp::create(b, l, i, delta))
                                                    : (Value)arith::AddIOp::create(b, l, start, arith::MulIOp::create(b, l, i, delta));
                             });
    rewriter.replaceOp(op, out);
    return success();
  }
};

struct TriluLowering : OpRewritePattern<TriluOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TriluOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto t = op.getType();
    int64_t r = t.getRank();
    bool upper = op.getUpper();
    Value k = op.getK() ? extractIndex(rewriter, loc, op.getK(), 0) : cidx(rewriter, loc, 0);
    Value out = buildIndexed(
        rewriter, loc, t, allDims(rewriter, loc, op.getInput()), op.getInput(),
        rewriter.getMultiDimIdentityMap(r),
        [&](OpBuilder &b, Location l, ValueRange iv, ValueRange a) {
          Value diff = arith::SubIOp::create(b, l, iv[r - 1], iv[r - 2]);
          Value keep = arith::CmpIOp::create(b, l, upper ? arith::CmpIPredicate::sge : arith::CmpIPredicate::sle,
                                             diff, k);
          return (Value)arith::SelectOp::create(b, l, keep, a[0], scalarConst(b, l, t.getElementType(), 0));
        });
    rewriter.replaceOp(op, out);
    return success();
  }
};

} // namespace

void populateDataMovementPatterns(RewritePatternSet &patterns) {
  patterns.add<GatherLowering, ReshapeLowering, UnitDimReshapeLowering<SqueezeOp>,
               UnitDimReshapeLowering<UnsqueezeOp>, TransposeLowering, ConcatLowering,
               SplitLowering, SliceLowering, ExpandLowering, ShapeLowering,
               ConstantOfShapeLowering, RangeLowering, TriluLowering>(patterns.getContext());
}

} // namespace sinter::lowering
