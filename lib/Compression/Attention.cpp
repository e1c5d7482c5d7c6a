// Attention blocks (include/sinter/Compression/Attention.h).
#include "sinter/Compression/Attention.h"
#include "sinter/Compression/Linears.h"

#include "mlir/IR/Matchers.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SetVector.h"

using namespace mlir;
using namespace sinter::nn;

namespace sinter {

namespace {

// Ops a trace does not cross: another product of activations, a softmax or
// a normalization starts a different computation. The budget bounds a
// trace through a large graph.
constexpr int kTraceBudget = 256;

bool isFloatTensor(Value v) {
  auto type = dyn_cast<ShapedType>(v.getType());
  return type && isa<FloatType>(type.getElementType());
}

bool isBarrier(Operation *op) { return isa<SoftmaxOp, LogSoftmaxOp, LayerNormOp, GemmOp>(op); }

/// The linear layer whose output `v` is, if any (its nn.matmul).
Operation *linearOf(Value v) {
  Value x;
  ElementsAttr w, b;
  return matchAffine(v, x, w, b);
}

/// Walks back from `v` through the float operands of the ops computing it
/// and calls `stop(value)` on each value reached; a value for which it
/// returns true is not looked through.
void traceBack(Value v, llvm::function_ref<bool(Value)> stop) {
  llvm::DenseSet<Operation *> seen;
  SmallVector<Value> work = {v};
  for (int budget = kTraceBudget; !work.empty() && budget > 0; --budget) {
    Value cur = work.pop_back_val();
    if (stop(cur))
      continue;
    Operation *def = cur.getDefiningOp();
    if (!def || isBarrier(def) || matchPattern(cur, m_Constant()) || !seen.insert(def).second)
      continue;
    for (Value operand : def->getOperands())
      if (isFloatTensor(operand))
        work.push_back(operand);
  }
}

/// The single linear `v` is computed from, or null.
Operation *sourceLinear(Value v) {
  llvm::SetVector<Operation *> found;
  bool crossedProduct = false;
  traceBack(v, [&](Value cur) {
    if (Operation *mm = linearOf(cur)) {
      found.insert(mm);
      return true;
    }
    if (isa_and_nonnull<MatMulOp>(cur.getDefiningOp()))
      return crossedProduct = true;
    return false;
  });
  return found.size() == 1 && !crossedProduct ? found.front() : nullptr;
}

/// The product of two activations that the softmax input `v` scales and
/// masks, or null.
MatMulOp scoresOf(Value v) {
  MatMulOp scores;
  traceBack(v, [&](Value cur) {
    if (linearOf(cur))
      return true;
    if (auto mm = dyn_cast_or_null<MatMulOp>(cur.getDefiningOp())) {
      scores = scores ? scores : mm;
      return true;
    }
    return false;
  });
  return scores;
}

/// The first linear that `v` flows into as its input, or null.
Operation *consumingLinear(Value v) {
  llvm::DenseSet<Operation *> seen;
  SmallVector<Value> work = {v};
  for (int budget = kTraceBudget; !work.empty() && budget > 0; --budget) {
    Value cur = work.pop_back_val();
    for (Operation *user : cur.getUsers()) {
      Value x;
      if (matchLinear(user, x) && x == cur)
        return user;
      if (isBarrier(user) || isa<MatMulOp>(user) || !seen.insert(user).second)
        continue;
      for (Value r : user->getResults())
        if (isFloatTensor(r))
          work.push_back(r);
    }
  }
  return nullptr;
}

} // namespace

SmallVector<Attention> findAttention(func::FuncOp func) {
  SmallVector<Attention> blocks;
  func.walk([&](SoftmaxOp softmax) {
    MatMulOp scores = scoresOf(softmax.getOperand());
    if (!scores || !softmax->hasOneUse())
      return;
    auto context = dyn_cast<MatMulOp>(*softmax->getUsers().begin());
    Value x;
    if (!context || context.getLhs() != softmax.getResult() || matchLinear(context, x))
      return;
    Attention a;
    a.scores = scores;
    a.softmax = softmax;
    a.context = context;
    a.query = sourceLinear(scores.getLhs());
    a.key = sourceLinear(scores.getRhs());
    a.value = sourceLinear(context.getRhs());
    a.output = consumingLinear(context.getResult());
    a.name = a.output ? onnxNodeName(a.output, "") : "";
    if (a.name.empty())
      a.name = "attention" + std::to_string(blocks.size());
    blocks.push_back(a);
  });
  return blocks;
}

} // namespace sinter
