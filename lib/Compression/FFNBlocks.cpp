#include "sinter/Compression/FFNBlocks.h"
#include "sinter/Compression/Linears.h"

#include "sinter/Support/ConstantData.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/SetVector.h"

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
  case FFNActivation::Silu:
    return z / (1.0 + std::exp(-z));
  }
  return z;
}

llvm::StringRef activationName(FFNActivation kind) {
  switch (kind) {
  case FFNActivation::Gelu:
    return "gelu";
  case FFNActivation::Relu:
    return "relu";
  case FFNActivation::Silu:
    return "silu";
  }
  return "";
}

namespace {

std::optional<FFNActivation> activationKind(Operation *op) {
  if (auto gelu = dyn_cast<GeluOp>(op))
    return gelu.getApproximate() == "none" ? std::optional(FFNActivation::Gelu) : std::nullopt;
  if (isa<ReluOp>(op))
    return FFNActivation::Relu;
  return std::nullopt;
}

/// σ(g) as a gate: nn.gelu, nn.relu or g · sigmoid(g). Sets `g`.
std::optional<FFNActivation> matchGate(Value v, Value &g) {
  Operation *def = v.getDefiningOp();
  if (!def || !def->hasOneUse())
    return std::nullopt;
  if (auto kind = activationKind(def)) {
    g = def->getOperand(0);
    return kind;
  }
  auto mul = dyn_cast<MulOp>(def);
  if (!mul)
    return std::nullopt;
  for (auto [plain, sig] : {std::pair(mul.getLhs(), mul.getRhs()), std::pair(mul.getRhs(), mul.getLhs())})
    if (auto sigmoid = sig.getDefiningOp<SigmoidOp>(); sigmoid && sigmoid.getOperand() == plain && sig.hasOneUse()) {
      g = plain;
      return FFNActivation::Silu;
    }
  return std::nullopt;
}

/// The down projection reading `h` (its only use) and its optional bias;
/// fills the block's down-side fields.
bool matchDown(Value h, FFNBlock &block) {
  if (!h.hasOneUse())
    return false;
  Value hidden;
  Operation *down = *h.getUsers().begin();
  ElementsAttr wd = matchLinear(down, hidden);
  if (!wd || hidden != h)
    return false;
  block.neurons = h;
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
  return true;
}

/// Fills the shapes; false unless W_u (and W_g) and W_d agree on h.
bool finishShapes(FFNBlock &block) {
  auto wuType = cast<ShapedType>(block.wu.getType()), wdType = cast<ShapedType>(block.wd.getType());
  block.dIn = wuType.getDimSize(0);
  block.hidden = wuType.getDimSize(1);
  block.dOut = wdType.getDimSize(1);
  if (block.wg && cast<ShapedType>(block.wg.getType()).getShape() != wuType.getShape())
    return false;
  return wdType.getDimSize(0) == block.hidden;
}

/// Linear → σ → Linear, found from σ.
std::optional<FFNBlock> matchPlain(Operation *act) {
  auto kind = activationKind(act);
  if (!kind || !act->hasOneUse())
    return std::nullopt;
  FFNBlock block;
  block.activation = *kind;
  block.activationOp = act;
  block.preActivation = act->getOperand(0);
  if (!block.preActivation.hasOneUse())
    return std::nullopt;
  block.upMatmul = matchAffine(block.preActivation, block.input, block.wu, block.bu);
  if (!block.upMatmul || !matchDown(act->getResult(0), block) || !finishShapes(block))
    return std::nullopt;
  return block;
}

/// σ(Linear) ⊙ Linear → Linear, found from the product.
std::optional<FFNBlock> matchGated(MulOp product) {
  for (auto [gateSide, upSide] :
       {std::pair(product.getLhs(), product.getRhs()), std::pair(product.getRhs(), product.getLhs())}) {
    FFNBlock block;
    Value g, xg;
    auto kind = matchGate(gateSide, g);
    if (!kind || !upSide.hasOneUse())
      continue;
    block.upMatmul = matchAffine(upSide, block.input, block.wu, block.bu);
    block.gateMatmul = matchAffine(g, xg, block.wg, block.bg);
    if (!block.upMatmul || !block.gateMatmul || xg != block.input)
      continue;
    block.activation = *kind;
    block.activationOp = gateSide.getDefiningOp();
    block.preActivation = g;
    if (matchDown(product.getResult(), block) && finishShapes(block))
      return block;
  }
  return std::nullopt;
}

} // namespace

SmallVector<FFNBlock> findFFNBlocks(func::FuncOp func) {
  SmallVector<FFNBlock> blocks;
  func.walk([&](Operation *op) {
    std::optional<FFNBlock> block;
    if (auto mul = dyn_cast<MulOp>(op))
      block = matchGated(mul);
    else
      block = matchPlain(op);
    if (!block)
      return;
    block->name = onnxNodeName(block->upMatmul, "ffn" + std::to_string(blocks.size()));
    blocks.push_back(*block);
  });
  return blocks;
}

namespace {

/// The ops from the projections up to h, which keepNeurons narrows, and the
/// constant operands it slices (W_u and W_g by column, biases).
struct NeuronSpan {
  llvm::SetVector<Operation *> ops;
  SmallVector<OpOperand *> columnWeights, biases;
};

/// Nothing if a value inside is used outside the block, an outside operand
/// is not a constant, or a constant is neither a bias nor a scalar.
std::optional<NeuronSpan> neuronSpan(const FFNBlock &block) {
  NeuronSpan span;
  SmallVector<Operation *> work{block.neurons.getDefiningOp()};
  while (!work.empty()) {
    Operation *op = work.pop_back_val();
    if (!op || !span.ops.insert(op))
      continue;
    bool projection = op == block.upMatmul || op == block.gateMatmul;
    for (OpOperand &use : op->getOpOperands()) {
      Value v = use.get();
      if (projection) {
        if (v != block.input)
          span.columnWeights.push_back(&use);
        continue;
      }
      ElementsAttr attr;
      if (matchPattern(v, m_Constant(&attr))) {
        auto type = cast<ShapedType>(attr.getType());
        if (type.getRank() == 1 && type.getDimSize(0) == block.hidden)
          span.biases.push_back(&use);
        else if (type.getNumElements() != 1)
          return std::nullopt;
        continue;
      }
      if (!v.getDefiningOp())
        return std::nullopt;
      work.push_back(v.getDefiningOp());
    }
  }
  for (Operation *op : span.ops) {
    for (Operation *user : op->getUsers())
      if (!span.ops.contains(user) && user != block.downMatmul)
        return std::nullopt;
    for (Type t : op->getResultTypes()) {
      auto type = dyn_cast<RankedTensorType>(t);
      if (!type || type.getRank() == 0 || type.getShape().back() != block.hidden)
        return std::nullopt;
    }
  }
  return span;
}

/// The f32 values of the constant an operand reads.
std::optional<std::vector<float>> operandValues(OpOperand *use) {
  ElementsAttr attr;
  if (!matchPattern(use->get(), m_Constant(&attr)))
    return std::nullopt;
  return readF32(attr);
}

} // namespace

LogicalResult keepNeurons(FFNBlock &block, ArrayRef<int64_t> keep) {
  const int64_t h = block.hidden, k = keep.size(), d = block.dIn, dOut = block.dOut;
  if (keep.empty() || !llvm::is_sorted(keep) || keep.front() < 0 || keep.back() >= h)
    return failure();
  auto span = neuronSpan(block);
  if (!span)
    return failure();
  // Read everything first, so that a failure changes nothing.
  SmallVector<std::pair<OpOperand *, std::vector<float>>> columns, biases;
  for (auto [uses, out] : {std::pair(&span->columnWeights, &columns), std::pair(&span->biases, &biases)})
    for (OpOperand *use : *uses) {
      auto values = operandValues(use);
      if (!values)
        return failure();
      out->push_back({use, std::move(*values)});
    }
  auto wd = readF32(block.wd);
  if (!wd)
    return failure();

  auto replace = [&](OpOperand *use, ArrayRef<int64_t> shape, ArrayRef<float> values, StringRef suffix) {
    replaceConstantOperand(*use, shape, values, (Twine(block.name) + suffix).str());
  };
  for (auto &[use, w] : columns) {
    std::vector<float> sliced(d * k);
    for (int64_t r = 0; r < d; ++r)
      for (int64_t j = 0; j < k; ++j)
        sliced[r * k + j] = w[r * h + keep[j]];
    replace(use, {d, k}, sliced, use->getOwner() == block.gateMatmul ? ".gate_kept" : ".up_kept");
  }
  for (auto &[use, v] : biases) {
    std::vector<float> sliced(k);
    for (int64_t j = 0; j < k; ++j)
      sliced[j] = v[keep[j]];
    replace(use, {k}, sliced, ".bias_kept");
  }
  std::vector<float> rows(k * dOut);
  for (int64_t j = 0; j < k; ++j)
    std::copy_n(&(*wd)[keep[j] * dOut], dOut, &rows[j * dOut]);
  replace(&block.downMatmul->getOpOperand(1), {k, dOut}, rows, ".down_kept");
  for (Operation *op : span->ops)
    for (OpResult r : op->getResults()) {
      auto type = cast<RankedTensorType>(r.getType());
      SmallVector<int64_t> shape(type.getShape());
      shape.back() = k;
      r.setType(type.clone(shape));
    }
  block.hidden = k;
  return success();
}

void eraseDeadChain(Operation *op) {
  if (!op || !op->use_empty() || !isPure(op))
    return;
  SmallVector<Operation *> producers;
  for (Value v : op->getOperands())
    if (Operation *def = v.getDefiningOp())
      producers.push_back(def);
  op->erase();
  for (Operation *def : producers)
    eraseDeadChain(def);
}

} // namespace sinter
