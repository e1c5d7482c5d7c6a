// sinter-innermost-parallel-dim-first (include/sinter/Conversion/Passes.td):
// parallel loops listed innermost dimension first, for the GPU mapping.
#include "sinter/Conversion/Passes.h"

namespace sinter {
#define GEN_PASS_DEF_INNERMOSTPARALLELDIMFIRST
#include "sinter/Conversion/Passes.h.inc"
} // namespace sinter

using namespace mlir;

namespace {

/// The same loop with its dimensions in reverse order.
void reverseDims(scf::ParallelOp loop) {
  auto reversed = [](ValueRange values) { return llvm::to_vector(llvm::reverse(values)); };
  OpBuilder b(loop);
  auto flipped = scf::ParallelOp::create(b, loop.getLoc(), reversed(loop.getLowerBound()),
                                         reversed(loop.getUpperBound()), reversed(loop.getStep()));
  flipped->setDiscardableAttrs(loop->getDiscardableAttrDictionary());
  Block *from = loop.getBody(), *to = flipped.getBody();
  to->getOperations().splice(to->begin(), from->getOperations(), from->begin(), std::prev(from->end()));
  unsigned n = loop.getNumLoops();
  for (unsigned i = 0; i < n; ++i)
    from->getArgument(i).replaceAllUsesWith(to->getArgument(n - 1 - i));
  loop.erase();
}

struct InnermostParallelDimFirstPass
    : sinter::impl::InnermostParallelDimFirstBase<InnermostParallelDimFirstPass> {
  void runOnOperation() override {
    SmallVector<scf::ParallelOp> loops;
    getOperation().walk([&](scf::ParallelOp loop) {
      if (loop.getNumLoops() > 1 && loop.getNumReductions() == 0 && !loop->getParentOfType<scf::ParallelOp>())
        loops.push_back(loop);
    });
    for (scf::ParallelOp loop : loops)
      reverseDims(loop);
  }
};

} // namespace
