// Start contractions from their addends instead of zero (see the pass's
// description in Passes.td).
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "sinter/Conversion/Passes.h"

namespace sinter {
#define GEN_PASS_DEF_FOLDADDENDSINTOCONTRACTION
#include "sinter/Conversion/Passes.h.inc"
} // namespace sinter

using namespace mlir;

namespace sinter {
namespace {

/// The linalg.fill of +0.0 that `v` is, if it is one.
linalg::FillOp zeroFill(Value v) {
  auto fill = v.getDefiningOp<linalg::FillOp>();
  if (!fill)
    return {};
  FloatAttr zero;
  if (!matchPattern(fill.getInputs()[0], m_Constant(&zero)) || !zero.getValue().isPosZero())
    return {};
  return fill;
}

/// A contraction (reduction loops, one result) started from zero whose only
/// user is `user`.
linalg::LinalgOp zeroStartedContraction(Value v) {
  auto op = v.getDefiningOp<linalg::LinalgOp>();
  if (!op || op->getNumResults() != 1 || op.getNumReductionLoops() == 0 || op.getNumDpsInits() != 1 ||
      !v.hasOneUse() || !zeroFill(op.getDpsInitOperand(0)->get()))
    return {};
  return op;
}

/// Whether `v` can be computed in G's body before `add` without `element`:
/// a value from outside the body, or a block argument other than element
/// and the output's, or the one result of a region-free op before `add`
/// whose operands all can (what the init's body clones).
bool computableWithout(Value v, BlockArgument element, Block &body, Operation *add) {
  if (v.getParentBlock() != &body)
    return true;
  if (auto arg = dyn_cast<BlockArgument>(v))
    return arg != element && arg.getArgNumber() + 1 < body.getNumArguments();
  Operation *def = v.getDefiningOp();
  return def->isBeforeInBlock(add) && def->getNumRegions() == 0 && def->getNumResults() == 1 &&
         llvm::all_of(def->getOperands(), [&](Value o) { return computableWithout(o, element, body, add); });
}

/// G = elementwise(…, C, …) whose body uses C's element only in `c + x`,
/// C a zero-started contraction: C starts from x instead (a new generic
/// computing x from G's other inputs), and G reads C where it read c + x;
/// if nothing else is left of G, it is replaced by C.
struct FoldAddendPattern : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp g, PatternRewriter &rewriter) const override {
    if (g.getNumReductionLoops() != 0 || g.getNumDpsInits() != 1 || g->getNumResults() != 1 ||
        !g.getMatchingIndexingMap(g.getDpsInitOperand(0)).isIdentity() ||
        !g.getMatchingBlockArgument(g.getDpsInitOperand(0)).use_empty())
      return failure();
    Block &body = g.getRegion().front();
    for (OpOperand *input : g.getDpsInputOperands()) {
      auto contraction = zeroStartedContraction(input->get());
      BlockArgument element = g.getMatchingBlockArgument(input);
      if (!contraction || !g.getMatchingIndexingMap(input).isIdentity() || !element.hasOneUse() ||
          input->get().getType() != g->getResult(0).getType())
        continue;
      auto add = dyn_cast<arith::AddFOp>(*element.getUsers().begin());
      if (!add)
        continue;
      Value addend = add.getLhs() == element ? add.getRhs() : add.getLhs();
      if (!computableWithout(addend, element, body, add))
        continue;
      // The init is computed before the contraction: G's other inputs
      // must exist there.
      DominanceInfo dominance;
      if (llvm::any_of(g.getDpsInputOperands(), [&](OpOperand *o) {
            return o != input && !dominance.properlyDominates(o->get(), contraction);
          }))
        continue;
      rewriteWith(g, input, contraction, add, addend, body, rewriter);
      return success();
    }
    return failure();
  }

  void rewriteWith(linalg::GenericOp g, OpOperand *input, linalg::LinalgOp contraction, arith::AddFOp add,
                   Value addend, Block &body, PatternRewriter &rewriter) const {
    Location loc = g.getLoc();
    BlockArgument element = g.getMatchingBlockArgument(input);
    // The init: G's other inputs and maps, its body up to the addend.
    SmallVector<Value> inputs;
    SmallVector<AffineMap> maps;
    SmallVector<BlockArgument> args;
    for (OpOperand *other : g.getDpsInputOperands())
      if (other != input) {
        inputs.push_back(other->get());
        maps.push_back(g.getMatchingIndexingMap(other));
        args.push_back(g.getMatchingBlockArgument(other));
      }
    maps.push_back(g.getMatchingIndexingMap(g.getDpsInitOperand(0)));
    Value start = linalg::FillOp(contraction.getDpsInitOperand(0)->get().getDefiningOp()).getOutputs()[0];
    rewriter.setInsertionPoint(contraction);
    auto init = linalg::GenericOp::create(
        rewriter, loc, start.getType(), inputs, ValueRange{start}, maps, g.getIteratorTypesArray(),
        [&](OpBuilder &b, Location l, ValueRange blockArgs) {
          IRMapping map;
          for (auto [from, to] : llvm::zip(args, blockArgs))
            map.map(from, to);
          // What the addend needs, in order (unused clones fold away).
          for (Operation &op : body.without_terminator()) {
            if (&op == add.getOperation())
              break;
            if (op.getNumResults() == 1 && computableWithout(op.getResult(0), element, body, add))
              b.clone(op, map);
          }
          linalg::YieldOp::create(b, l, map.lookupOrDefault(addend));
        });
    rewriter.modifyOpInPlace(contraction, [&] { contraction.getDpsInitOperand(0)->set(init->getResult(0)); });
    rewriter.modifyOpInPlace(g, [&] { rewriter.replaceAllUsesWith(add.getResult(), element); });
    rewriter.eraseOp(add);
    // Nothing left but C itself (maps are identity, types equal): G goes.
    bool onlyYield = llvm::all_of(body.without_terminator(), [](Operation &op) { return op.use_empty() && isPure(&op); });
    if (onlyYield && body.getTerminator()->getOperand(0) == element)
      rewriter.replaceOp(g, input->get());
  }
};

/// A zero fill shared by several ops' inits (CSE merges identical fills)
/// is written once and copied into each op's buffer by bufferization; a
/// fill per user writes each buffer directly.
struct UnshareFillPattern : OpRewritePattern<linalg::FillOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::FillOp fill, PatternRewriter &rewriter) const override {
    SmallVector<OpOperand *> inits;
    for (OpOperand &use : fill->getResult(0).getUses())
      if (auto user = dyn_cast<DestinationStyleOpInterface>(use.getOwner()); user && user.isDpsInit(&use))
        inits.push_back(&use);
    if (inits.size() < 2 && !(inits.size() == 1 && !fill->getResult(0).hasOneUse()))
      return failure();
    // Every init use but one (the first, when the fill has no other users)
    // gets a fill of its own.
    size_t keep = fill->getResult(0).hasNUses(inits.size()) ? 1 : 0;
    for (OpOperand *use : llvm::drop_begin(inits, keep)) {
      rewriter.setInsertionPoint(use->getOwner());
      Operation *copy = rewriter.clone(*fill);
      rewriter.modifyOpInPlace(use->getOwner(), [&] { use->set(copy->getResult(0)); });
    }
    return success();
  }
};

struct FoldAddendsIntoContractionPass : impl::FoldAddendsIntoContractionBase<FoldAddendsIntoContractionPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FoldAddendPattern, UnshareFillPattern>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
} // namespace sinter
