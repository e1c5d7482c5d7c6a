// Recognise activations that exporters spell as elementwise arithmetic, so
// that passes matching FFN blocks see one `nn.gelu` op.
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
  patterns.add<RaiseErfGelu>(patterns.getContext());
}
} // namespace sinter
