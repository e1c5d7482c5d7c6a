// f32 ↔ bf16 conversions as integer arithmetic, so that objects with bf16
// tensors call no compiler-rt helper.
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "sinter/Transforms/Passes.h"

namespace sinter {
#define GEN_PASS_DEF_EXPANDBF16
#include "sinter/Transforms/Passes.h.inc"
} // namespace sinter

using namespace mlir;

namespace sinter {
namespace {
struct ExpandBF16Pass : impl::ExpandBF16Base<ExpandBF16Pass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    arith::populateExpandBFloat16Patterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
} // namespace sinter
