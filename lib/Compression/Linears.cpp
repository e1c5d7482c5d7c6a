// Linear layers with constant weights (include/sinter/Compression/Linears.h).
#include "sinter/Compression/Linears.h"

#include "mlir/IR/Matchers.h"
#include "llvm/ADT/DenseSet.h"

using namespace mlir;
using namespace sinter::nn;

namespace sinter {

ElementsAttr constantOfRank(Value v, int64_t rank) {
  ElementsAttr attr;
  if (!v || !matchPattern(v, m_Constant(&attr)))
    return {};
  auto type = dyn_cast<RankedTensorType>(attr.getType());
  if (!type || !type.getElementType().isF32() || type.getRank() != rank || !type.hasStaticShape())
    return {};
  return attr;
}

ElementsAttr matchLinear(Operation *op, Value &x) {
  auto mm = dyn_cast_or_null<MatMulOp>(op);
  if (!mm)
    return {};
  ElementsAttr w = constantOfRank(mm.getRhs(), 2);
  if (w)
    x = mm.getLhs();
  return w;
}

Operation *matchAffine(Value v, Value &x, ElementsAttr &w, ElementsAttr &b) {
  Operation *def = v.getDefiningOp();
  if (auto add = dyn_cast_or_null<AddOp>(def)) {
    for (auto [mmSide, biasSide] : {std::pair(add.getLhs(), add.getRhs()), std::pair(add.getRhs(), add.getLhs())}) {
      Operation *mm = mmSide.getDefiningOp();
      ElementsAttr bias = constantOfRank(biasSide, 1);
      if (!bias || !mm || !mm->hasOneUse() || !(w = matchLinear(mm, x)))
        continue;
      if (cast<ShapedType>(bias.getType()).getDimSize(0) != cast<ShapedType>(w.getType()).getDimSize(1))
        continue;
      b = bias;
      return mm;
    }
    return nullptr;
  }
  if ((w = matchLinear(def, x))) {
    b = {};
    return def;
  }
  return nullptr;
}

std::string onnxNodeName(Operation *op, llvm::StringRef fallback) {
  if (auto loc = dyn_cast<NameLoc>(op->getLoc())) {
    llvm::StringRef name = loc.getName().strref();
    size_t open = name.find('\''), close = name.rfind('\'');
    if (name.starts_with("node '") && close > open)
      return name.slice(open + 1, close).str();
    return name.str();
  }
  return fallback.str();
}

namespace {

/// Whether `v` flows into a function result along a path with no linear.
bool reachesResultDirectly(Value v) {
  llvm::DenseSet<Operation *> seen;
  SmallVector<Value> work = {v};
  while (!work.empty()) {
    Value value = work.pop_back_val();
    for (Operation *user : value.getUsers()) {
      if (isa<func::ReturnOp>(user))
        return true;
      Value x;
      if (matchLinear(user, x) || !seen.insert(user).second)
        continue;
      llvm::append_range(work, user->getResults());
    }
  }
  return false;
}

} // namespace

SmallVector<Linear> findLinears(func::FuncOp func) {
  SmallVector<Linear> linears;
  func.walk([&](MatMulOp mm) {
    Linear l{};
    l.weight = matchLinear(mm, l.input);
    if (!l.weight)
      return;
    l.matmul = mm;
    l.output = mm.getResult();
    if (mm->hasOneUse()) { // a bias added to the product belongs to the layer
      Operation *add = *mm->getUsers().begin();
      Value x;
      ElementsAttr w, b;
      if (isa<AddOp>(add) && matchAffine(add->getResult(0), x, w, b) == mm.getOperation() && b) {
        l.biasAdd = add;
        l.bias = b;
        l.output = add->getResult(0);
      }
    }
    auto shape = cast<ShapedType>(l.weight.getType()).getShape();
    l.dIn = shape[0], l.dOut = shape[1];
    l.name = onnxNodeName(mm, "linear" + std::to_string(linears.size()));
    l.head = reachesResultDirectly(l.output);
    linears.push_back(l);
  });
  return linears;
}

} // namespace sinter
