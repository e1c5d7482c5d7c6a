// The reverse sweep: find the ops between the parameters and the loss,
// visit them last to first, and let each op's rule turn its results'
// gradients into its operands', summing where a value has several uses.
#include "sinter/Training/Gradients.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/TypeUtilities.h"
#include "sinter/Dialect/NN/NNDialect.h"
#include "llvm/ADT/DenseSet.h"

using namespace mlir;

namespace sinter {

namespace {

/// Values that depend on `wrt`, following uses within their blocks.
llvm::DenseSet<Value> activeValues(ArrayRef<Value> wrt) {
  llvm::DenseSet<Value> active(wrt.begin(), wrt.end());
  SmallVector<Value> work(wrt.begin(), wrt.end());
  while (!work.empty()) {
    Value v = work.pop_back_val();
    for (Operation *user : v.getUsers())
      for (Value r : user->getResults())
        if (active.insert(r).second)
          work.push_back(r);
  }
  return active;
}

} // namespace

FailureOr<SmallVector<Value>> buildGradients(OpBuilder &b, ArrayRef<std::pair<Value, Value>> seeds,
                                             ArrayRef<Value> wrt) {
  llvm::DenseSet<Value> active = activeValues(wrt);
  llvm::DenseMap<Value, Value> grads;
  auto accumulate = [&](Value v, Value g) {
    Value &slot = grads[v];
    slot = slot ? nn::AddOp::create(b, g.getLoc(), slot, g).getResult() : g;
    // Refine `?` dims the rules' inferred types lost (a GSE value's
    // gradient is the f32 tensor of its values: no cast).
    if (slot.getType() != v.getType() && isa<RankedTensorType>(v.getType()))
      slot = tensor::CastOp::create(b, g.getLoc(), v.getType(), slot).getResult();
  };
  for (auto [v, g] : seeds)
    if (active.contains(v))
      accumulate(v, g);

  // Ops in program order, from the first active one to the last seed.
  Block *block = b.getInsertionBlock();
  SmallVector<Operation *> ops;
  for (Operation &op : *block) {
    if (&op == &*b.getInsertionPoint())
      break;
    if (llvm::any_of(op.getResults(), [&](Value r) { return active.contains(r); }))
      ops.push_back(&op);
  }
  for (Operation *op : llvm::reverse(ops)) {
    SmallVector<Value> resultGrads;
    bool any = false;
    for (Value r : op->getResults()) {
      resultGrads.push_back(grads.lookup(r));
      any |= (bool)resultGrads.back();
    }
    if (!any)
      continue;
    SmallVector<bool> wanted;
    for (Value v : op->getOperands())
      wanted.push_back(active.contains(v) && isa<FloatType>(getElementTypeOrSelf(v.getType())));
    if (llvm::none_of(wanted, [](bool w) { return w; }))
      continue;
    SmallVector<Value> operandGrads;
    if (auto cast = dyn_cast<tensor::CastOp>(op)) {
      operandGrads.push_back(resultGrads[0]);
    } else {
      auto rule = dyn_cast<nn::GradientOpInterface>(op);
      if (!rule)
        return op->emitError("cannot differentiate '")
               << op->getName() << "': it lies between the trained parameters and the loss and has no gradient rule";
      if (failed(rule.buildGradients(b, resultGrads, wanted, operandGrads)))
        return failure();
    }
    for (auto [v, g, w] : llvm::zip(op->getOperands(), operandGrads, wanted))
      if (w && g)
        accumulate(v, g);
  }

  SmallVector<Value> result;
  for (Value v : wrt) {
    Value g = grads.lookup(v);
    result.push_back(g ? g : nn::zerosLike(b, v.getLoc(), v));
  }
  return result;
}

} // namespace sinter
