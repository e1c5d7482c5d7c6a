#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "sinter/Conversion/Passes.h"

namespace sinter {
#define GEN_PASS_DEF_FUSEELEMENTWISE
#include "sinter/Conversion/Passes.h.inc"
} // namespace sinter

using namespace mlir;

namespace sinter {
namespace {
struct FuseElementwisePass : impl::FuseElementwiseBase<FuseElementwisePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    linalg::ControlFusionFn onlyIntoParallel = [](OpOperand *use) {
      auto consumer = dyn_cast<linalg::LinalgOp>(use->getOwner());
      return consumer && consumer.getNumReductionLoops() == 0 &&
             use->get().getDefiningOp() && use->get().hasOneUse();
    };
    linalg::populateElementwiseOpsFusionPatterns(patterns, onlyIntoParallel);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
} // namespace sinter
