// Inline polynomial approximations for the transcendental ops that
// transformer graphs evaluate per element (GELU's erf, softmax's exp).
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "sinter/Transforms/Passes.h"

namespace sinter {
#define GEN_PASS_DEF_APPROXIMATEMATH
#include "sinter/Transforms/Passes.h.inc"
} // namespace sinter

using namespace mlir;

namespace sinter {
namespace {
struct ApproximateMathPass : impl::ApproximateMathBase<ApproximateMathPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(patterns, [](StringRef name) {
      return name == "math.erf" || name == "math.exp" || name == "math.tanh" || name == "math.log";
    });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
} // namespace sinter
