// sinter-math-to-nvptx-intrinsics (include/sinter/Conversion/Passes.td):
// GPU kernels' math as LLVM intrinsics with PTX instructions, never
// libdevice calls.
#include "sinter/Conversion/Passes.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace sinter {
#define GEN_PASS_DEF_MATHTONVPTXINTRINSICS
#include "sinter/Conversion/Passes.h.inc"
} // namespace sinter

using namespace mlir;

namespace {

/// `llvm.NAME.f32` / `.f64` for an f32 or f64 value type; empty otherwise.
std::string intrinsicName(StringRef name, Type type) {
  if (type.isF32())
    return ("llvm." + name + ".f32").str();
  if (type.isF64())
    return ("llvm." + name + ".f64").str();
  return "";
}

/// A math op → the LLVM intrinsic of the same meaning.
template <typename MathOp>
struct MathToIntrinsic : OpRewritePattern<MathOp> {
  MathToIntrinsic(MLIRContext *ctx, StringRef intrinsic) : OpRewritePattern<MathOp>(ctx), intrinsic(intrinsic) {}

  LogicalResult matchAndRewrite(MathOp op, PatternRewriter &rewriter) const override {
    Type type = op->getResult(0).getType();
    std::string name = intrinsicName(intrinsic, type);
    if (name.empty())
      return rewriter.notifyMatchFailure(op, "not f32 or f64");
    rewriter.replaceOpWithNewOp<LLVM::CallIntrinsicOp>(op, type, rewriter.getStringAttr(name),
                                                       op->getOperands());
    return success();
  }

  std::string intrinsic;
};

/// rsqrt(x) = 1 / sqrt(x), both correctly rounded (PTX's rsqrt is approximate).
struct RsqrtToIntrinsic : OpRewritePattern<math::RsqrtOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(math::RsqrtOp op, PatternRewriter &rewriter) const override {
    Type type = op.getType();
    std::string name = intrinsicName("sqrt", type);
    if (name.empty())
      return rewriter.notifyMatchFailure(op, "not f32 or f64");
    Location loc = op.getLoc();
    Value root = LLVM::CallIntrinsicOp::create(rewriter, loc, type, rewriter.getStringAttr(name),
                                               ValueRange{op.getOperand()})
                     .getResult(0);
    Value one = arith::ConstantOp::create(rewriter, loc, rewriter.getFloatAttr(type, 1.0));
    rewriter.replaceOpWithNewOp<arith::DivFOp>(op, one, root);
    return success();
  }
};

struct MathToNVPTXIntrinsicsPass : sinter::impl::MathToNVPTXIntrinsicsBase<MathToNVPTXIntrinsicsPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
    patterns.add<MathToIntrinsic<math::SqrtOp>>(ctx, "sqrt");
    patterns.add<MathToIntrinsic<math::AbsFOp>>(ctx, "fabs");
    patterns.add<MathToIntrinsic<math::FloorOp>>(ctx, "floor");
    patterns.add<MathToIntrinsic<math::CeilOp>>(ctx, "ceil");
    patterns.add<MathToIntrinsic<math::TruncOp>>(ctx, "trunc");
    patterns.add<MathToIntrinsic<math::RoundEvenOp>>(ctx, "roundeven");
    patterns.add<MathToIntrinsic<math::RoundOp>>(ctx, "round");
    patterns.add<MathToIntrinsic<math::FmaOp>>(ctx, "fma");
    patterns.add<MathToIntrinsic<math::CopySignOp>>(ctx, "copysign");
    patterns.add<RsqrtToIntrinsic>(ctx);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    WalkResult left = getOperation().walk([](Operation *op) {
      if (op->getDialect() && op->getDialect()->getNamespace() == "math" &&
          llvm::any_of(op->getResultTypes(), [](Type t) { return isa<FloatType>(getElementTypeOrSelf(t)); })) {
        op->emitError() << "sinter-math-to-nvptx-intrinsics: " << op->getName() << " on "
                        << getElementTypeOrSelf(op->getResultTypes()[0])
                        << " is not supported on the GPU target (it would need libdevice)";
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (left.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
