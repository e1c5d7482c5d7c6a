// Recognise activations that exporters spell as elementwise arithmetic, so
// that passes matching FFN blocks see one `nn.gelu` or `nn.qcfs` op.
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "sinter/Transforms/Passes.h"

#include <cmath>

namespace sinter {
#define GEN_PASS_DEF_RAISEACTIVATIONS
#include "sinter/Transforms/Passes.h.inc"
} // namespace sinter

using namespace mlir;
using namespace sinter::nn;

namespace sinter {
namespace {

/// Whether `v` is a constant that holds `want` in every element.
bool isSplat(Value v, double want) {
  DenseFPElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr)) || !attr.isSplat())
    return false;
  return std::abs(attr.getSplatValue<APFloat>().convertToDouble() - want) <= 1e-5 * std::abs(want);
}

/// The factors of a product of single-use `nn.mul`s, leaves only.
void collectFactors(Value v, bool root, SmallVectorImpl<Value> &factors) {
  auto mul = v.getDefiningOp<MulOp>();
  if (mul && (root || mul->hasOneUse())) {
    collectFactors(mul.getLhs(), false, factors);
    collectFactors(mul.getRhs(), false, factors);
    return;
  }
  factors.push_back(v);
}

/// x/√2 or x·(1/√2): returns x.
Value matchScaledBySqrtHalf(Value v) {
  if (auto div = v.getDefiningOp<DivOp>(); div && isSplat(div.getRhs(), std::sqrt(2.0)))
    return div.getLhs();
  if (auto mul = v.getDefiningOp<MulOp>()) {
    if (isSplat(mul.getRhs(), std::sqrt(0.5)))
      return mul.getLhs();
    if (isSplat(mul.getLhs(), std::sqrt(0.5)))
      return mul.getRhs();
  }
  return {};
}

/// erf(x/√2) + 1: returns x.
Value matchErfPlusOne(Value v) {
  auto add = v.getDefiningOp<AddOp>();
  if (!add)
    return {};
  Value other = isSplat(add.getRhs(), 1.0) ? add.getLhs() : isSplat(add.getLhs(), 1.0) ? add.getRhs() : Value();
  auto erf = other ? other.getDefiningOp<ErfOp>() : nullptr;
  return erf ? matchScaledBySqrtHalf(erf.getInput()) : Value();
}

/// x · (erf(x/√2) + 1) · 0.5, the factors in any order → nn.gelu(x).
struct RaiseErfGelu : OpRewritePattern<MulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MulOp op, PatternRewriter &rewriter) const override {
    SmallVector<Value, 4> factors;
    collectFactors(op.getResult(), true, factors);
    if (factors.size() != 3)
      return failure();
    for (unsigned half = 0; half < 3; ++half) {
      if (!isSplat(factors[half], 0.5))
        continue;
      Value a = factors[(half + 1) % 3], b = factors[(half + 2) % 3];
      Value x = matchErfPlusOne(b) == a ? a : matchErfPlusOne(a) == b ? b : Value();
      if (!x || x.getType() != op.getType())
        continue;
      rewriter.replaceOpWithNewOp<GeluOp>(op, op.getType(), x, rewriter.getStringAttr("none"));
      return success();
    }
    return failure();
  }
};

/// The value of `v`'s defining op when it is the other operand of a
/// commutative binary `op` whose one operand is `x` splat-equal to `want`.
template <typename OpTy>
Value otherThanSplat(Value v, double want) {
  auto op = v.getDefiningOp<OpTy>();
  if (!op)
    return {};
  if (isSplat(op.getRhs(), want))
    return op.getLhs();
  if (isSplat(op.getLhs(), want))
    return op.getRhs();
  return {};
}

/// The elements of a float constant, or nothing.
std::optional<SmallVector<double>> constantValues(Value v) {
  DenseFPElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr)))
    return std::nullopt;
  SmallVector<double> values;
  for (APFloat x : attr.getValues<APFloat>())
    values.push_back(x.convertToDouble());
  return values;
}

/// floor(clamp(x/θ, 0, 1)·L + 0.5) · (θ/L) → nn.qcfs(x, θ) with L levels:
/// the chain torch exports for sinter.spike.QCFS (Div, Clip, Mul, Add,
/// Floor, Mul), θ and θ/L constants that agree to a relative 1e-5, and L a
/// positive integer.
struct RaiseQCFS : OpRewritePattern<MulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MulOp op, PatternRewriter &rewriter) const override {
    for (auto [lhs, rhs] : {std::pair(op.getLhs(), op.getRhs()), std::pair(op.getRhs(), op.getLhs())})
      if (succeeded(raise(op, lhs, rhs, rewriter)))
        return success();
    return failure();
  }

  static LogicalResult raise(MulOp op, Value floored, Value step, PatternRewriter &rewriter) {
    auto floor = floored.getDefiningOp<FloorOp>();
    Value scaled = floor ? otherThanSplat<AddOp>(floor.getInput(), 0.5) : Value();
    auto levelsMul = scaled ? scaled.getDefiningOp<MulOp>() : nullptr;
    if (!levelsMul)
      return failure();
    for (auto [clipped, levels] : {std::pair(levelsMul.getLhs(), levelsMul.getRhs()),
                                   std::pair(levelsMul.getRhs(), levelsMul.getLhs())}) {
      auto clip = clipped.getDefiningOp<ClipOp>();
      auto div = clip ? clip.getInput().getDefiningOp<DivOp>() : nullptr;
      auto l = constantValues(levels);
      if (!div || !clip.getMin() || !clip.getMax() || !isSplat(clip.getMin(), 0.0) || !isSplat(clip.getMax(), 1.0) ||
          !l || l->size() != 1 || (*l)[0] < 1 || (*l)[0] != std::round((*l)[0]))
        continue;
      Value x = div.getLhs(), theta = thresholdOf(div.getRhs(), x, rewriter, op.getLoc());
      if (!theta || x.getType() != op.getType() || !stepMatches(div.getRhs(), step, (*l)[0]))
        continue;
      rewriter.replaceOpWithNewOp<QCFSOp>(op, op.getType(), x, theta, rewriter.getI64IntegerAttr((int64_t)(*l)[0]));
      return success();
    }
    return failure();
  }

  /// θ/L computed from θ, element by element (or one for all).
  static bool stepMatches(Value theta, Value step, double levels) {
    auto t = constantValues(theta), s = constantValues(step);
    if (!t || !s || (s->size() != t->size() && s->size() != 1))
      return false;
    for (size_t i = 0; i < t->size(); ++i) {
      double want = (*t)[i] / levels, got = (*s)[s->size() == 1 ? 0 : i];
      if (std::abs(got - want) > 1e-5 * std::abs(want))
        return false;
    }
    return true;
  }

  /// θ as nn.qcfs takes it: 0-D or one per neuron; a one-element constant
  /// of another shape becomes 0-D.
  static Value thresholdOf(Value theta, Value x, PatternRewriter &rewriter, Location loc) {
    auto type = cast<RankedTensorType>(theta.getType());
    auto xType = cast<RankedTensorType>(x.getType());
    if (type.getRank() == 0 || (type.getRank() == 1 && xType.getRank() >= 1 &&
                                type.getDimSize(0) == xType.getShape().back()))
      return theta;
    DenseFPElementsAttr attr;
    if (!matchPattern(theta, m_Constant(&attr)) || attr.getNumElements() != 1)
      return {};
    auto scalar = RankedTensorType::get({}, type.getElementType());
    return arith::ConstantOp::create(rewriter, loc, DenseElementsAttr::get(scalar, *attr.getValues<APFloat>().begin()));
  }
};

struct RaiseActivationsPass : impl::RaiseActivationsBase<RaiseActivationsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateRaiseActivationsPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void populateRaiseActivationsPatterns(RewritePatternSet &patterns) {
  patterns.add<RaiseErfGelu, RaiseQCFS>(patterns.getContext());
}
} // namespace sinter
