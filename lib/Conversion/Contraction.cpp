// Recognizing f32 contractions (include/sinter/Conversion/Contraction.h).
#include "sinter/Conversion/Contraction.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;

namespace sinter {

namespace {
bool isMulAddBody(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  if (body.getOperations().size() != 3)
    return false;
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add)
    return false;
  Value acc = body.getArgument(2);
  Value other = add.getLhs() == acc ? add.getRhs() : add.getRhs() == acc ? add.getLhs() : Value();
  auto mul = other ? other.getDefiningOp<arith::MulFOp>() : nullptr;
  if (!mul)
    return false;
  Value a = body.getArgument(0), b = body.getArgument(1);
  return (mul.getLhs() == a && mul.getRhs() == b) || (mul.getLhs() == b && mul.getRhs() == a);
}

/// Whether every result of `map` is a distinct loop dim in `allowed` or the
/// constant 0 (a broadcast batch dim), and every dim in `required` appears.
bool indexesOnly(AffineMap map, ArrayRef<unsigned> allowed, ArrayRef<unsigned> required) {
  llvm::SmallDenseSet<unsigned> seen;
  for (AffineExpr e : map.getResults()) {
    if (auto c = dyn_cast<AffineConstantExpr>(e)) {
      if (c.getValue() != 0)
        return false;
      continue;
    }
    auto d = dyn_cast<AffineDimExpr>(e);
    if (!d || !llvm::is_contained(allowed, d.getPosition()) || !seen.insert(d.getPosition()).second)
      return false;
  }
  return llvm::all_of(required, [&](unsigned r) { return seen.contains(r); });
}

} // namespace

std::optional<ContractionLoops> matchContraction(linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1)
    return std::nullopt;
  for (Value v : op->getOperands()) {
    auto t = dyn_cast<MemRefType>(v.getType());
    if (!t || !t.getElementType().isF32())
      return std::nullopt;
  }
  if (op.getNumReductionLoops() != 1 || op.getNumLoops() < 3 || !isMulAddBody(op))
    return std::nullopt;
  AffineMap out = op.getIndexingMapsArray()[2];
  if (out.getNumResults() != op.getNumLoops() - 1 || !out.isProjectedPermutation())
    return std::nullopt;
  ContractionLoops loops;
  for (unsigned i = 0; i < out.getNumResults(); ++i) {
    unsigned d = out.getDimPosition(i);
    if (i + 2 < out.getNumResults())
      loops.batch.push_back(d);
  }
  loops.m = out.getDimPosition(out.getNumResults() - 2);
  loops.n = out.getDimPosition(out.getNumResults() - 1);
  SmallVector<unsigned> reductions;
  op.getReductionDims(reductions);
  loops.k = reductions.front();
  SmallVector<unsigned> aDims(loops.batch), bDims(loops.batch);
  aDims.append({loops.m, loops.k});
  bDims.append({loops.k, loops.n});
  auto maps = op.getIndexingMapsArray();
  if (!indexesOnly(maps[0], aDims, {loops.m, loops.k}) || !indexesOnly(maps[1], bDims, {loops.k, loops.n}))
    return std::nullopt;
  return loops;
}

} // namespace sinter
