// Softmax, LayerNorm, reductions and CumSum → linalg reductions followed by
// broadcasting elementwise generics.
#include "LoweringUtils.h"

#include "sinter/Dialect/NN/NNDialect.h"

using namespace mlir;
using namespace sinter::nn;

namespace sinter::lowering {
namespace {

Value lowest(OpBuilder &b, Location loc, Type t) {
  if (auto f = dyn_cast<FloatType>(t))
    return arith::ConstantOp::create(b, loc, t, b.getFloatAttr(t, APFloat::getInf(f.getFloatSemantics(), true)));
  return arith::ConstantOp::create(
      b, loc, t, b.getIntegerAttr(t, APInt::getSignedMinValue(t.getIntOrFloatBitWidth())));
}

Value add(OpBuilder &b, Location loc, Value x, Value y) {
  return isFloat(x.getType()) ? (Value)arith::AddFOp::create(b, loc, x, y)
                              : (Value)arith::AddIOp::create(b, loc, x, y);
}
Value maxOf(OpBuilder &b, Location loc, Value x, Value y) {
  return isFloat(x.getType()) ? (Value)arith::MaximumFOp::create(b, loc, x, y)
                              : (Value)arith::MaxSIOp::create(b, loc, x, y);
}

/// Product of the reduced dims, as a scalar of `elem`.
Value countOf(OpBuilder &b, Location loc, Value input, ArrayRef<bool> reduced, Type elem) {
  Value n = arith::ConstantIndexOp::create(b, loc, 1);
  for (auto [i, r] : llvm::enumerate(reduced))
    if (r)
      n = arith::MulIOp::create(b, loc, n, dimValue(b, loc, input, i));
  return castScalar(b, loc, toI64(b, loc, n), elem);
}

/// generic over the full shape of `input`, also reading `reducedVals`
/// (tensors reduced over `reduced`) and optional trailing operands.
Value mapWithReduced(OpBuilder &b, Location loc, Value input, ValueRange reducedVals,
                     ArrayRef<bool> reduced, BodyFn body, ValueRange extra = {},
                     ArrayRef<AffineMap> extraMaps = {}) {
  auto t = rankedOf(input);
  SmallVector<Value> dims;
  for (int64_t i = 0; i < t.getRank(); ++i)
    dims.push_back(dimValue(b, loc, input, i));
  SmallVector<Value> ins{input};
  llvm::append_range(ins, reducedVals);
  llvm::append_range(ins, extra);
  SmallVector<AffineMap> maps{b.getMultiDimIdentityMap(t.getRank())};
  for (size_t i = 0; i < reducedVals.size(); ++i)
    maps.push_back(droppedDimsMap(b.getContext(), reduced));
  llvm::append_range(maps, extraMaps);
  maps.push_back(b.getMultiDimIdentityMap(t.getRank()));
  SmallVector<utils::IteratorType> iters(t.getRank(), utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, t, ins, emptyTensor(b, loc, t, dims), maps, iters,
             [&](OpBuilder &nb, Location nl, ValueRange a) {
               linalg::YieldOp::create(nb, nl, body(nb, nl, a.drop_back()));
             })
      .getResult(0);
}

template <typename OpTy, bool Log>
struct SoftmaxLowering : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpTy op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = op.getInput();
    auto t = rankedOf(x);
    SmallVector<bool> reduced(t.getRank(), false);
    reduced[*normalizeAxis(op.getAxis(), t.getRank())] = true;
    Type elem = t.getElementType();
    Value mx = buildReduction(rewriter, loc, x, reduced, lowest(rewriter, loc, elem),
                              [](OpBuilder &b, Location l, ValueRange a) { return maxOf(b, l, a[0], a[1]); });
    Value e = mapWithReduced(rewriter, loc, x, mx, reduced, [](OpBuilder &b, Location l, ValueRange a) {
      return (Value)math::ExpOp::create(b, l, arith::SubFOp::create(b, l, a[0], a[1]));
    });
    Value sum = buildReduction(rewriter, loc, e, reduced, scalarConst(rewriter, loc, elem, 0),
                               [](OpBuilder &b, Location l, ValueRange a) { return add(b, l, a[0], a[1]); });
    Value out;
    if (Log)
      out = mapWithReduced(rewriter, loc, x, {mx, sum}, reduced, [](OpBuilder &b, Location l, ValueRange a) {
        Value shifted = arith::SubFOp::create(b, l, a[0], a[1]);
        return (Value)arith::SubFOp::create(b, l, shifted, math::LogOp::create(b, l, a[2]));
      });
    else
      out = mapWithReduced(rewriter, loc, e, sum, reduced, [](OpBuilder &b, Location l, ValueRange a) {
        return (Value)arith::DivFOp::create(b, l, a[0], a[1]);
      });
    rewriter.replaceOp(op, out);
    return success();
  }
};

struct LayerNormLowering : OpRewritePattern<LayerNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LayerNormOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = op.getInput();
    auto t = rankedOf(x);
    Type elem = t.getElementType();
    int64_t axis = *normalizeAxis(op.getAxis(), t.getRank());
    SmallVector<bool> reduced(t.getRank(), false);
    for (int64_t i = axis; i < t.getRank(); ++i)
      reduced[i] = true;
    auto sumFn = [](OpBuilder &b, Location l, ValueRange a) { return add(b, l, a[0], a[1]); };
    Value zero = scalarConst(rewriter, loc, elem, 0);
    Value n = countOf(rewriter, loc, x, reduced, elem);
    Value sum = buildReduction(rewriter, loc, x, reduced, zero, sumFn);
    Value centered = mapWithReduced(rewriter, loc, x, sum, reduced, [&](OpBuilder &b, Location l, ValueRange a) {
      return (Value)arith::SubFOp::create(b, l, a[0], arith::DivFOp::create(b, l, a[1], n));
    });
    Value sq = mapWithReduced(rewriter, loc, centered, {}, reduced, [](OpBuilder &b, Location l, ValueRange a) {
      return (Value)arith::MulFOp::create(b, l, a[0], a[0]);
    });
    Value var = buildReduction(rewriter, loc, sq, reduced, zero, sumFn);
    SmallVector<Value> extra{op.getScale()};
    if (op.getBias())
      extra.push_back(op.getBias());
    SmallVector<AffineMap> extraMaps;
    for (Value v : extra)
      extraMaps.push_back(broadcastMap(rankedOf(v), t));
    double eps = op.getEpsilon().convertToDouble();
    Value out = mapWithReduced(
        rewriter, loc, centered, var, reduced,
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value v = arith::AddFOp::create(b, l, arith::DivFOp::create(b, l, a[1], n), scalarConst(b, l, elem, eps));
          Value y = arith::MulFOp::create(b, l, a[0], math::RsqrtOp::create(b, l, v));
          y = arith::MulFOp::create(b, l, y, a[2]);
          return a.size() > 3 ? (Value)arith::AddFOp::create(b, l, y, a[3]) : y;
        },
        extra, extraMaps);
    rewriter.replaceOp(op, out);
    return success();
  }
};

enum class ReduceKind { Sum, Mean, Max };

template <typename OpTy, ReduceKind Kind>
struct ReduceLowering : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpTy op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = op.getInput();
    auto t = rankedOf(x);
    Type elem = t.getElementType();
    SmallVector<bool> reduced = *reductionMask(t.getRank(), op.getAxes(), op.getNoopWithEmptyAxes());
    Value init = Kind == ReduceKind::Max ? lowest(rewriter, loc, elem) : scalarConst(rewriter, loc, elem, 0);
    Value r = buildReduction(rewriter, loc, x, reduced, init, [](OpBuilder &b, Location l, ValueRange a) {
      return Kind == ReduceKind::Max ? maxOf(b, l, a[0], a[1]) : add(b, l, a[0], a[1]);
    });
    if (Kind == ReduceKind::Mean) {
      Value n = countOf(rewriter, loc, x, reduced, elem);
      r = buildElementwise(rewriter, loc, rankedOf(r), r, [&](OpBuilder &b, Location l, ValueRange a) {
        return isFloat(elem) ? (Value)arith::DivFOp::create(b, l, a[0], n)
                             : (Value)arith::DivSIOp::create(b, l, a[0], n);
      });
    }
    SmallVector<Value> dims;
    for (int64_t i = 0; i < t.getRank(); ++i)
      if (!reduced[i])
        dims.push_back(dimValue(rewriter, loc, x, i));
      else if (op.getKeepdims())
        dims.push_back(arith::ConstantIndexOp::create(rewriter, loc, 1));
    rewriter.replaceOp(op, reshapeTo(rewriter, loc, r, op.getType(), dims));
    return success();
  }
};

/// out[i] = Σ_j in[j] · [j ≤ i] along the axis (strict for exclusive,
/// mirrored for reverse): a reduction over a second loop on that axis.
struct CumSumLowering : OpRewritePattern<CumSumOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(CumSumOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value x = op.getInput();
    auto t = rankedOf(x);
    int64_t rank = t.getRank(), axis = *normalizeAxis(op.getAxis(), rank);
    SmallVector<Value> dims;
    for (int64_t i = 0; i < rank; ++i)
      dims.push_back(dimValue(rewriter, loc, x, i));
    Type elem = t.getElementType();
    Value init = linalg::FillOp::create(rewriter, loc, scalarConst(rewriter, loc, elem, 0),
                                        emptyTensor(rewriter, loc, t, dims)).getResult(0);
    SmallVector<AffineExpr> inExprs;
    for (int64_t i = 0; i < rank; ++i)
      inExprs.push_back(getAffineDimExpr(i == axis ? rank : i, ctx));
    SmallVector<AffineMap> maps{AffineMap::get(rank + 1, 0, inExprs, ctx),
                                AffineMap::getMultiDimIdentityMap(rank + 1, ctx).getMajorSubMap(rank)};
    SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
    iters.push_back(utils::IteratorType::reduction);
    arith::CmpIPredicate pred = op.getReverse()
        ? (op.getExclusive() ? arith::CmpIPredicate::sgt : arith::CmpIPredicate::sge)
        : (op.getExclusive() ? arith::CmpIPredicate::slt : arith::CmpIPredicate::sle);
    Value out = linalg::GenericOp::create(
        rewriter, loc, t, x, init, maps, iters,
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value i = linalg::IndexOp::create(b, l, axis), j = linalg::IndexOp::create(b, l, rank);
          Value take = arith::CmpIOp::create(b, l, pred, j, i);
          Value v = arith::SelectOp::create(b, l, take, a[0], scalarConst(b, l, elem, 0));
          linalg::YieldOp::create(b, l, add(b, l, a[1], v));
        }).getResult(0);
    rewriter.replaceOp(op, out);
    return success();
  }
};

} // namespace

void populateNormalizationPatterns(RewritePatternSet &patterns) {
  patterns.add<SoftmaxLowering<SoftmaxOp, false>, SoftmaxLowering<LogSoftmaxOp, true>,
               LayerNormLowering, ReduceLowering<ReduceSumOp, ReduceKind::Sum>,
               ReduceLowering<ReduceMeanOp, ReduceKind::Mean>,
               ReduceLowering<ReduceMaxOp, ReduceKind::Max>, CumSumLowering>(
      patterns.getContext());
}

} // namespace sinter::lowering
