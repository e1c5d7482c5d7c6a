// Elementwise nn ops → linalg.generic with ONNX broadcasting. Each op only
// says how one element is computed (`ScalarFn`); building the loop nest,
// broadcast maps and dynamic sizes is shared.
#include "LoweringUtils.h"

#include "mlir/IR/Matchers.h"
#include "sinter/Dialect/NN/NNDialect.h"

#include <cmath>

using namespace mlir;
using namespace sinter::nn;

namespace sinter::lowering {
namespace {

Value fconst(OpBuilder &b, Location loc, Type t, double v) { return scalarConst(b, loc, t, v); }

/// Float/int dispatch for the arithmetic ops.
template <typename FOp, typename IOp>
Value arith2(OpBuilder &b, Location loc, ValueRange a) {
  if (isFloat(a[0].getType()))
    return FOp::create(b, loc, a[0], a[1]);
  return IOp::create(b, loc, a[0], a[1]);
}

Value compare(OpBuilder &b, Location loc, ValueRange a, arith::CmpFPredicate fp,
              arith::CmpIPredicate ip) {
  if (isFloat(a[0].getType()))
    return arith::CmpFOp::create(b, loc, fp, a[0], a[1]);
  return arith::CmpIOp::create(b, loc, ip, a[0], a[1]);
}

Value sigmoid(OpBuilder &b, Location loc, Value x) {
  Type t = x.getType();
  Value e = math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, x));
  return arith::DivFOp::create(b, loc, fconst(b, loc, t, 1),
                               arith::AddFOp::create(b, loc, fconst(b, loc, t, 1), e));
}

Value gelu(OpBuilder &b, Location loc, Value x, bool tanhApprox) {
  Type t = x.getType();
  Value inner;
  if (tanhApprox) {
    Value x3 = arith::MulFOp::create(b, loc, arith::MulFOp::create(b, loc, x, x), x);
    Value s = arith::AddFOp::create(b, loc, x, arith::MulFOp::create(b, loc, fconst(b, loc, t, 0.044715), x3));
    inner = math::TanhOp::create(b, loc, arith::MulFOp::create(b, loc, fconst(b, loc, t, 0.7978845608028654), s));
  } else {
    inner = math::ErfOp::create(b, loc, arith::MulFOp::create(b, loc, x, fconst(b, loc, t, 0.7071067811865476)));
  }
  Value half = arith::MulFOp::create(b, loc, x, fconst(b, loc, t, 0.5));
  return arith::MulFOp::create(b, loc, half, arith::AddFOp::create(b, loc, fconst(b, loc, t, 1), inner));
}

/// How each op computes one element; `op` gives attributes, `args` the
/// operand elements, `elem` the result element type.
template <typename OpTy>
Value scalar(OpTy op, OpBuilder &b, Location loc, ValueRange args, Type elem);

#define SCALAR(OP) template <> Value scalar<OP>(OP op, OpBuilder & b, Location loc, ValueRange a, Type elem)
SCALAR(AddOp) { return arith2<arith::AddFOp, arith::AddIOp>(b, loc, a); }
SCALAR(SubOp) { return arith2<arith::SubFOp, arith::SubIOp>(b, loc, a); }
SCALAR(MulOp) { return arith2<arith::MulFOp, arith::MulIOp>(b, loc, a); }
SCALAR(DivOp) { return arith2<arith::DivFOp, arith::DivSIOp>(b, loc, a); }
SCALAR(MaxOp) { return arith2<arith::MaximumFOp, arith::MaxSIOp>(b, loc, a); }
SCALAR(MinOp) { return arith2<arith::MinimumFOp, arith::MinSIOp>(b, loc, a); }
SCALAR(AndOp) { return arith::AndIOp::create(b, loc, a[0], a[1]); }
SCALAR(OrOp) { return arith::OrIOp::create(b, loc, a[0], a[1]); }
SCALAR(EqualOp) { return compare(b, loc, a, arith::CmpFPredicate::OEQ, arith::CmpIPredicate::eq); }
SCALAR(LessOp) { return compare(b, loc, a, arith::CmpFPredicate::OLT, arith::CmpIPredicate::slt); }
SCALAR(GreaterOp) { return compare(b, loc, a, arith::CmpFPredicate::OGT, arith::CmpIPredicate::sgt); }
SCALAR(PowOp) {
  Value base = a[0], exp = castScalar(b, loc, a[1], elem);
  if (!isFloat(elem)) {
    // Integer pow through f64: exact for the magnitudes int tensors hold.
    Type f64 = b.getF64Type();
    Value r = math::PowFOp::create(b, loc, castScalar(b, loc, base, f64), castScalar(b, loc, exp, f64));
    return castScalar(b, loc, math::RoundEvenOp::create(b, loc, r), elem);
  }
  // Small integer powers (RMSNorm's x^2, a gradient's x^1) as multiplies:
  // exact, far cheaper than powf, and right for negative bases, which the
  // expansion of powf through exp and log is not.
  DenseFPElementsAttr d;
  if (matchPattern(op.getRhs(), m_Constant(&d)) && d.isSplat()) {
    double p = d.getSplatValue<APFloat>().convertToDouble();
    if (p == std::round(p) && std::fabs(p) <= 4) {
      Value r = p == 0 ? arith::ConstantOp::create(b, loc, b.getFloatAttr(elem, 1.0)).getResult() : base;
      for (int i = 1; i < std::fabs(p); ++i)
        r = arith::MulFOp::create(b, loc, r, base);
      if (p < 0)
        r = arith::DivFOp::create(b, loc, arith::ConstantOp::create(b, loc, b.getFloatAttr(elem, 1.0)), r);
      return r;
    }
  }
  return math::PowFOp::create(b, loc, base, exp);
}
SCALAR(WhereOp) { return arith::SelectOp::create(b, loc, a[0], a[1], a[2]); }
SCALAR(SqrtOp) { return math::SqrtOp::create(b, loc, a[0]); }
SCALAR(ReciprocalOp) { return arith::DivFOp::create(b, loc, fconst(b, loc, elem, 1), a[0]); }
SCALAR(NegOp) {
  if (isFloat(elem))
    return arith::NegFOp::create(b, loc, a[0]);
  return arith::SubIOp::create(b, loc, fconst(b, loc, elem, 0), a[0]);
}
SCALAR(AbsOp) {
  if (isFloat(elem))
    return math::AbsFOp::create(b, loc, a[0]);
  return math::AbsIOp::create(b, loc, a[0]);
}
SCALAR(ExpOp) { return math::ExpOp::create(b, loc, a[0]); }
SCALAR(LogOp) { return math::LogOp::create(b, loc, a[0]); }
SCALAR(ErfOp) { return math::ErfOp::create(b, loc, a[0]); }
SCALAR(FloorOp) { return math::FloorOp::create(b, loc, a[0]); }
SCALAR(QCFSOp) {
  // floor(clamp(x/θ, 0, 1)·L + 1/2) · (θ/L): the exported chain's order,
  // so that the compiled ANN matches onnxruntime's bit for bit.
  Value levels = fconst(b, loc, elem, op.getLevels());
  Value h = arith::DivFOp::create(b, loc, a[0], a[1]);
  h = arith::MinimumFOp::create(b, loc, arith::MaximumFOp::create(b, loc, h, fconst(b, loc, elem, 0)),
                                fconst(b, loc, elem, 1));
  h = arith::AddFOp::create(b, loc, arith::MulFOp::create(b, loc, h, levels), fconst(b, loc, elem, 0.5));
  return arith::MulFOp::create(b, loc, math::FloorOp::create(b, loc, h), arith::DivFOp::create(b, loc, a[1], levels));
}
SCALAR(TanhOp) { return math::TanhOp::create(b, loc, a[0]); }
SCALAR(SigmoidOp) { return sigmoid(b, loc, a[0]); }
SCALAR(ReluOp) {
  if (isFloat(elem))
    return arith::MaximumFOp::create(b, loc, a[0], fconst(b, loc, elem, 0));
  return arith::MaxSIOp::create(b, loc, a[0], fconst(b, loc, elem, 0));
}
SCALAR(NotOp) { return arith::XOrIOp::create(b, loc, a[0], fconst(b, loc, elem, 1)); }
SCALAR(LeakyReluOp) {
  Value neg = arith::MulFOp::create(b, loc, a[0], fconst(b, loc, elem, op.getAlpha().convertToDouble()));
  Value ge = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGE, a[0], fconst(b, loc, elem, 0));
  return arith::SelectOp::create(b, loc, ge, a[0], neg);
}
SCALAR(HardSigmoidOp) {
  Value y = arith::AddFOp::create(
      b, loc, arith::MulFOp::create(b, loc, a[0], fconst(b, loc, elem, op.getAlpha().convertToDouble())),
      fconst(b, loc, elem, op.getBeta().convertToDouble()));
  y = arith::MinimumFOp::create(b, loc, y, fconst(b, loc, elem, 1));
  return arith::MaximumFOp::create(b, loc, y, fconst(b, loc, elem, 0));
}
SCALAR(GeluOp) { return gelu(b, loc, a[0], op.getApproximate() == "tanh"); }
SCALAR(ClipOp) {
  // Operands in order: input, then min and max where present.
  Value y = a[0];
  size_t next = 1;
  if (op.getMin())
    y = arith2<arith::MaximumFOp, arith::MaxSIOp>(b, loc, {y, a[next++]});
  if (op.getMax())
    y = arith2<arith::MinimumFOp, arith::MinSIOp>(b, loc, {y, a[next++]});
  return y;
}
SCALAR(CastOp) { return castScalar(b, loc, a[0], elem); }
#undef SCALAR

template <typename OpTy>
struct ElementwiseLowering : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpTy op, PatternRewriter &rewriter) const override {
    auto result = cast<RankedTensorType>(op->getResult(0).getType());
    Type elem = result.getElementType();
    Value out = buildElementwise(rewriter, op.getLoc(), result, op->getOperands(),
                                 [&](OpBuilder &b, Location loc, ValueRange args) {
                                   return scalar<OpTy>(op, b, loc, args, elem);
                                 });
    rewriter.replaceOp(op, out);
    return success();
  }
};

} // namespace

void populateElementwisePatterns(RewritePatternSet &patterns) {
  patterns.add<ElementwiseLowering<AddOp>, ElementwiseLowering<SubOp>,
               ElementwiseLowering<MulOp>, ElementwiseLowering<DivOp>,
               ElementwiseLowering<PowOp>, ElementwiseLowering<MaxOp>,
               ElementwiseLowering<MinOp>, ElementwiseLowering<AndOp>,
               ElementwiseLowering<OrOp>, ElementwiseLowering<EqualOp>,
               ElementwiseLowering<LessOp>, ElementwiseLowering<GreaterOp>,
               ElementwiseLowering<WhereOp>, ElementwiseLowering<SqrtOp>,
               ElementwiseLowering<ReciprocalOp>, ElementwiseLowering<NegOp>,
               ElementwiseLowering<AbsOp>, ElementwiseLowering<ExpOp>,
               ElementwiseLowering<LogOp>, ElementwiseLowering<ErfOp>,
               ElementwiseLowering<TanhOp>, ElementwiseLowering<SigmoidOp>,
               ElementwiseLowering<ReluOp>, ElementwiseLowering<NotOp>,
               ElementwiseLowering<LeakyReluOp>, ElementwiseLowering<HardSigmoidOp>,
               ElementwiseLowering<GeluOp>, ElementwiseLowering<ClipOp>,
               ElementwiseLowering<CastOp>, ElementwiseLowering<FloorOp>,
               ElementwiseLowering<QCFSOp>>(patterns.getContext());
}

} // namespace sinter::lowering
