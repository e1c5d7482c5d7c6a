// MatMul and Gemm → linalg.generic contractions (batch dims broadcast by
// their indexing maps, so broadcast operands are never materialised).
#include "LoweringUtils.h"

#include "sinter/Dialect/NN/NNDialect.h"

using namespace mlir;
using namespace sinter::nn;

namespace sinter::lowering {
namespace {

/// Adds 1-D promotion: [K] → [1, K] (lhs) or [K, 1] (rhs).
Value promoteVector(OpBuilder &b, Location loc, Value v, bool isLhs) {
  auto t = rankedOf(v);
  if (t.getRank() != 1)
    return v;
  SmallVector<int64_t> shape = isLhs ? SmallVector<int64_t>{1, t.getDimSize(0)}
                                     : SmallVector<int64_t>{t.getDimSize(0), 1};
  Value k = dimValue(b, loc, v, 0), one = arith::ConstantIndexOp::create(b, loc, 1);
  SmallVector<Value> dims = isLhs ? SmallVector<Value>{one, k} : SmallVector<Value>{k, one};
  return reshapeTo(b, loc, v, RankedTensorType::get(shape, t.getElementType()), dims);
}

Value multiplyAdd(OpBuilder &b, Location loc, Value x, Value y, Value acc) {
  if (isFloat(x.getType()))
    return arith::AddFOp::create(b, loc, acc, arith::MulFOp::create(b, loc, x, y));
  return arith::AddIOp::create(b, loc, acc, arith::MulIOp::create(b, loc, x, y));
}

AffineMap outputMap(MLIRContext *ctx, int64_t batch, AffineExpr m, AffineExpr n) {
  SmallVector<AffineExpr> exprs;
  for (int64_t i = 0; i < batch; ++i)
    exprs.push_back(getAffineDimExpr(i, ctx));
  exprs.push_back(m);
  exprs.push_back(n);
  return AffineMap::get(batch + 3, 0, exprs, ctx);
}

/// C[batch.., m, n] = Σ_k A[batch.., m, k] · B[batch.., k, n], batch dims
/// of A and B broadcast against `batchShape`; `transA`/`transB` swap the
/// last two dims of an operand.
Value buildContraction(OpBuilder &b, Location loc, Value lhs, Value rhs,
                       RankedTensorType resultType, bool transA, bool transB) {
  MLIRContext *ctx = b.getContext();
  auto lt = rankedOf(lhs), rt = rankedOf(rhs);
  int64_t batch = resultType.getRank() - 2, loops = resultType.getRank() + 1;
  // Loop order (batch.., m, k, n): with n innermost the loop nest streams
  // rows of B and C contiguously, which LLVM vectorizes; k innermost would
  // be a strided dot product storing C every step.
  AffineExpr m = getAffineDimExpr(batch, ctx), k = getAffineDimExpr(batch + 1, ctx),
             n = getAffineDimExpr(batch + 2, ctx);
  auto operandMap = [&](RankedTensorType t, AffineExpr r, AffineExpr c) {
    SmallVector<AffineExpr> exprs;
    int64_t offset = batch - (t.getRank() - 2);
    for (int64_t j = 0; j < t.getRank() - 2; ++j) {
      bool bc = t.getDimSize(j) == 1 && resultType.getDimSize(j + offset) != 1;
      exprs.push_back(bc ? getAffineConstantExpr(0, ctx) : getAffineDimExpr(j + offset, ctx));
    }
    exprs.push_back(r);
    exprs.push_back(c);
    return AffineMap::get(loops, 0, exprs, ctx);
  };
  SmallVector<AffineMap> maps{
      transA ? operandMap(lt, k, m) : operandMap(lt, m, k),
      transB ? operandMap(rt, n, k) : operandMap(rt, k, n),
      outputMap(ctx, batch, m, n)};
  // Result sizes: batch dims from whichever operand has them, m/n/k as placed.
  SmallVector<Value> dims;
  for (int64_t i = 0; i < batch; ++i) {
    Value d;
    for (auto [v, t] : {std::pair(lhs, lt), std::pair(rhs, rt)}) {
      int64_t j = i - (batch - (t.getRank() - 2));
      if (!d && j >= 0 && (t.isDynamicDim(j) || t.getDimSize(j) == resultType.getDimSize(i)))
        d = dimValue(b, loc, v, j);
    }
    dims.push_back(d ? d : arith::ConstantIndexOp::create(b, loc, resultType.getDimSize(i)));
  }
  dims.push_back(dimValue(b, loc, lhs, lt.getRank() - (transA ? 1 : 2)));
  dims.push_back(dimValue(b, loc, rhs, rt.getRank() - (transB ? 2 : 1)));
  Type elem = resultType.getElementType();
  Value init = linalg::FillOp::create(b, loc, scalarConst(b, loc, elem, 0),
                                      emptyTensor(b, loc, resultType, dims))
                   .getResult(0);
  SmallVector<utils::IteratorType> iters(loops, utils::IteratorType::parallel);
  iters[batch + 1] = utils::IteratorType::reduction;
  return linalg::GenericOp::create(
             b, loc, resultType, ValueRange{lhs, rhs}, init, maps, iters,
             [&](OpBuilder &nb, Location nl, ValueRange a) {
               linalg::YieldOp::create(nb, nl, multiplyAdd(nb, nl, a[0], a[1], a[2]));
             })
      .getResult(0);
}

struct MatMulLowering : OpRewritePattern<MatMulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MatMulOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto resultType = op.getType();
    auto lt = rankedOf(op.getLhs()), rt = rankedOf(op.getRhs());
    Value lhs = promoteVector(rewriter, loc, op.getLhs(), true);
    Value rhs = promoteVector(rewriter, loc, op.getRhs(), false);
    if (lt.getRank() >= 2 && rt.getRank() >= 2) {
      rewriter.replaceOp(op, buildContraction(rewriter, loc, lhs, rhs, resultType, false, false));
      return success();
    }
    // 1-D operands: contract with the promoted unit dims, then drop them.
    SmallVector<int64_t> full(resultType.getShape());
    if (lt.getRank() == 1)
      full.insert(full.end() - (rt.getRank() == 1 ? 0 : 1), 1);
    if (rt.getRank() == 1)
      full.push_back(1);
    auto fullType = RankedTensorType::get(full, resultType.getElementType());
    Value c = buildContraction(rewriter, loc, lhs, rhs, fullType, false, false);
    SmallVector<Value> dims;
    for (int64_t i = 0; i < fullType.getRank(); ++i)
      if (!((lt.getRank() == 1 && i == fullType.getRank() - 2) ||
            (rt.getRank() == 1 && i == fullType.getRank() - 1)))
        dims.push_back(dimValue(rewriter, loc, c, i));
    rewriter.replaceOp(op, reshapeTo(rewriter, loc, c, resultType, dims));
    return success();
  }
};

struct GemmLowering : OpRewritePattern<GemmOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(GemmOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto resultType = op.getType();
    Value ab = buildContraction(rewriter, loc, op.getA(), op.getB(), resultType,
                                op.getTransA(), op.getTransB());
    double alpha = op.getAlpha().convertToDouble(), beta = op.getBeta().convertToDouble();
    if (alpha == 1.0 && (!op.getC() || beta == 0.0)) {
      rewriter.replaceOp(op, ab);
      return success();
    }
    SmallVector<Value> ins{ab};
    if (op.getC() && beta != 0.0)
      ins.push_back(op.getC());
    Type elem = resultType.getElementType();
    Value out = buildElementwise(rewriter, loc, resultType, ins,
                                 [&](OpBuilder &b, Location l, ValueRange a) {
                                   Value y = arith::MulFOp::create(b, l, a[0], scalarConst(b, l, elem, alpha));
                                   if (a.size() > 1)
                                     y = arith::AddFOp::create(b, l, y, arith::MulFOp::create(b, l, a[1], scalarConst(b, l, elem, beta)));
                                   return y;
                                 });
    rewriter.replaceOp(op, out);
    return success();
  }
};

} // namespace

void populateContractionPatterns(RewritePatternSet &patterns) {
  patterns.add<MatMulLowering, GemmLowering>(patterns.getContext());
}

} // namespace sinter::lowering
