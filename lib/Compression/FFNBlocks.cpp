#include "sinter/Compression/FFNBlocks.h"

#include "mlir/IR/Matchers.h"

#include <cmath>

using namespace mlir;
using namespace sinter::nn;

namespace sinter {

double applyActivation(FFNActivation kind, double z) {
  switch (kind) {
  case FFNActivation::Gelu:
    return 0.5 * z * (1.0 + std::erf(z / std::sqrt(2.0)));
  case FFNActivation::Relu:
    return z > 0 ? z : 0.0;
  }
  return z;
}

llvm::StringRef activationName(FFNActivation kind) {
  return kind == FFNActivation::Gelu ? "gelu" : "relu";
}

namespace {

/// A constant f32 tensor of the given rank, dense or a resource.
ElementsAttr constantOfRank(Value v, int64_t rank) {
  ElementsAttr attr;
  if (!v || !matchPattern(v, m_Constant(&attr)))
    return {};
  auto type = dyn_cast<RankedTensorType>(attr.getType());
  if (!type || !type.getElementType().isF32() || type.getRank() != rank || !type.hasStaticShape())
    return {};
  return attr;
}

/// x · W with W a constant matrix: returns W, sets `x`.
ElementsAttr matchLinear(Operation *op, Value &x) {
  auto mm = dyn_cast_or_null<MatMulOp>(op);
  if (!mm)
    return {};
  ElementsAttr w = constantOfRank(mm.getRhs(), 2);
  if (w)
    x = mm.getLhs();
  return w;
}

/// `v` = (x · W) + b or x · W: returns the matmul and sets W and b (null if
/// absent; b must be a vector as long as W's columns).
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

/// The ONNX node name: the importer's locations read "node 'NAME' (Op)".
std::string nodeName(Operation *op, size_t index) {
  if (auto loc = dyn_cast<NameLoc>(op->getLoc())) {
    llvm::StringRef name = loc.getName().strref();
    size_t open = name.find('\''), close = name.rfind('\'');
    if (name.starts_with("node '") && close > open)
      return name.slice(open + 1, close).str();
    return name.str();
  }
  return "ffn" + std::to_string(index);
}

std::optional<FFNActivation> activationKind(Operation *op) {
  if (auto gelu = dyn_cast<GeluOp>(op))
    return gelu.getApproximate() == "none" ? std::optional(FFNActivation::Gelu) : std::nullopt;
  if (isa<ReluOp>(op))
    return FFNActivation::Relu;
  return std::nullopt;
}

/// Whether `v` comes from a linear layer with a constant weight, through
/// at most an activation-like op or a product (the branches of a gate).
bool fromLinear(Value v, int depth = 0) {
  Value x;
  ElementsAttr w, b;
  if (matchAffine(v, x, w, b))
    return true;
  Operation *def = v.getDefiningOp();
  if (!def || depth > 2)
    return false;
  if (isa<GeluOp, ReluOp, SigmoidOp, TanhOp>(def))
    return fromLinear(def->getOperand(0), depth + 1);
  if (auto mul = dyn_cast<MulOp>(def)) // x · sigmoid(x): SiLU
    return fromLinear(mul.getLhs(), depth + 1) || fromLinear(mul.getRhs(), depth + 1);
  return false;
}

} // namespace

SmallVector<FFNBlock> findFFNBlocks(func::FuncOp func, SmallVectorImpl<GatedFFN> *gated) {
  SmallVector<FFNBlock> blocks;
  func.walk([&](Operation *act) {
    // A gate: the down projection reads a product of two linear branches.
    if (auto mul = dyn_cast<MulOp>(act); mul && gated && mul->hasOneUse()) {
      Value x;
      if (matchLinear(*mul->getUsers().begin(), x) && fromLinear(mul.getLhs()) && fromLinear(mul.getRhs()))
        gated->push_back({nodeName(mul, gated->size()), mul});
      return;
    }
    auto kind = activationKind(act);
    if (!kind || !act->hasOneUse())
      return;
    FFNBlock block;
    block.activation = *kind;
    block.activationOp = act;
    block.preActivation = act->getOperand(0);
    if (!block.preActivation.hasOneUse())
      return;
    block.upMatmul = matchAffine(block.preActivation, block.input, block.wu, block.bu);
    if (!block.upMatmul)
      return;
    Value hidden;
    Operation *down = *act->getUsers().begin();
    ElementsAttr wd = matchLinear(down, hidden);
    if (!wd || hidden != act->getResult(0))
      return;
    block.downMatmul = down;
    block.wd = wd;
    block.output = down->getResult(0);
    // The down projection's bias, when the matmul feeds only an add of one.
    if (down->hasOneUse())
      if (auto add = dyn_cast<AddOp>(*down->getUsers().begin())) {
        Value other = add.getLhs() == block.output ? add.getRhs() : add.getLhs();
        if (ElementsAttr bd = constantOfRank(other, 1);
            bd && cast<ShapedType>(bd.getType()).getDimSize(0) == cast<ShapedType>(wd.getType()).getDimSize(1)) {
          block.bd = bd;
          block.output = add.getResult();
        }
      }
    auto wuType = cast<ShapedType>(block.wu.getType()), wdType = cast<ShapedType>(wd.getType());
    block.dIn = wuType.getDimSize(0);
    block.hidden = wuType.getDimSize(1);
    block.dOut = wdType.getDimSize(1);
    if (wdType.getDimSize(0) != block.hidden)
      return;
    block.name = nodeName(block.upMatmul, blocks.size());
    blocks.push_back(block);
  });
  return blocks;
}

} // namespace sinter
