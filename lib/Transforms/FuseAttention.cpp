// Fuse exported multi-head attention into one nn.attention (see the pass's
// description in Passes.td). The matcher proves every shape relation the
// fused op assumes from the graph itself (which tensor each dimension was
// taken from), since sequence lengths are symbolic in exported models.
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "sinter/Transforms/Passes.h"

#include <cmath>
#include <optional>
#include <variant>

namespace sinter {
#define GEN_PASS_DEF_FUSEATTENTION
#include "sinter/Transforms/Passes.h.inc"
} // namespace sinter

using namespace mlir;
using namespace sinter::nn;

namespace sinter {
namespace {

RankedTensorType rankedOf(Value v) { return cast<RankedTensorType>(v.getType()); }

/// The value and dimension that dimension `d` of `v` was copied from,
/// following ops that pass a dimension through unchanged: a split along
/// another axis, a product with a matrix (its lhs's rows and batch), an
/// elementwise op (through an operand that has the dimension symbolic) and
/// layer normalization.
std::pair<Value, int64_t> dimOrigin(Value v, int64_t d) {
  for (int guard = 0; guard < 64; ++guard) {
    Operation *def = v.getDefiningOp();
    if (!def)
      break;
    int64_t rank = rankedOf(v).getRank();
    if (auto split = dyn_cast<SplitOp>(def)) {
      if (split.getAxis() == d || split.getAxis() == d - rank)
        break;
      v = split.getInput();
      continue;
    }
    if (auto mm = dyn_cast<MatMulOp>(def)) {
      // A product with a matrix keeps the rows and batch of its lhs.
      if (rankedOf(mm.getRhs()).getRank() != 2 || rankedOf(mm.getLhs()).getRank() != rank || d >= rank - 1)
        break;
      v = mm.getLhs();
      continue;
    }
    if (isa<AddOp, SubOp, MulOp, DivOp>(def)) {
      // Broadcasting never stretches a symbolic dimension (the run-time
      // checks hold symbolic ones equal): follow an operand that has d
      // symbolic.
      Value next;
      for (Value o : def->getOperands()) {
        int64_t j = d - (rank - rankedOf(o).getRank());
        if (j >= 0 && rankedOf(o).isDynamicDim(j)) {
          next = o, d = j;
          break;
        }
      }
      if (!next)
        break;
      v = next;
      continue;
    }
    if (auto ln = dyn_cast<LayerNormOp>(def)) {
      v = ln.getInput();
      continue;
    }
    break;
  }
  return {v, d};
}

/// Whether dimension i of a and dimension j of b are provably equal.
bool sameDim(Value a, int64_t i, Value b, int64_t j) {
  int64_t sa = rankedOf(a).getDimSize(i), sb = rankedOf(b).getDimSize(j);
  if (!ShapedType::isDynamic(sa) && !ShapedType::isDynamic(sb))
    return sa == sb;
  return dimOrigin(a, i) == dimOrigin(b, j);
}

/// The constant integer `v` holds (a one-element tensor), if it is one.
std::optional<int64_t> constantInt(Value v) {
  DenseIntElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr)) || attr.getNumElements() != 1)
    return std::nullopt;
  return (*attr.begin()).getSExtValue();
}

/// Whether scalar `s` (0-D or [1]) is dimension `d` of `t`, as
/// Gather(Shape(x), d) with x's dimension provably t's.
bool isDimOf(Value s, Value t, int64_t d) {
  if (auto unsq = s.getDefiningOp<UnsqueezeOp>())
    s = unsq.getData();
  if (auto c = constantInt(s))
    return *c == rankedOf(t).getDimSize(d);
  auto gather = s.getDefiningOp<GatherOp>();
  auto shape = gather ? gather.getData().getDefiningOp<ShapeOp>() : ShapeOp();
  auto index = gather ? constantInt(gather.getIndices()) : std::nullopt;
  if (!shape || !index || gather.getAxis() != 0)
    return false;
  int64_t rank = rankedOf(shape.getInput()).getRank();
  int64_t start = shape.getStart() < 0 ? shape.getStart() + rank : shape.getStart();
  int64_t dim = start + (*index < 0 ? *index + rankedOf(shape.getOutput()).getDimSize(0) : *index);
  return dim >= 0 && dim < rank && sameDim(shape.getInput(), dim, t, d);
}

/// Element `i` of a shape operand built by Concat of one-element pieces or
/// held in a constant: a constant, or the piece's value.
std::variant<std::monostate, int64_t, Value> shapeElement(Value shape, int64_t i) {
  DenseIntElementsAttr attr;
  if (matchPattern(shape, m_Constant(&attr)))
    return i < attr.getNumElements() ? std::variant<std::monostate, int64_t, Value>(
                                           (*(attr.begin() + i)).getSExtValue())
                                     : std::monostate{};
  auto concat = shape.getDefiningOp<ConcatOp>();
  if (!concat || concat.getAxis() != 0)
    return std::monostate{};
  for (Value piece : concat.getInputs()) {
    int64_t n = rankedOf(piece).getRank() == 1 ? rankedOf(piece).getDimSize(0) : -1;
    if (n != 1)
      return std::monostate{};
    if (i-- == 0) {
      if (auto c = constantInt(piece))
        return *c;
      return piece;
    }
  }
  return std::monostate{};
}

/// Whether result dimension `i` of `reshape` provably equals dimension `j`
/// of `like` (a 0 copying the input's dimension i when allowzero is off).
bool reshapeKeeps(ReshapeOp reshape, int64_t i, Value like, int64_t j) {
  if (sameDim(reshape.getOutput(), i, like, j))
    return true;
  auto elem = shapeElement(reshape.getShape(), i);
  if (auto *c = std::get_if<int64_t>(&elem)) {
    if (*c == 0 && !reshape.getAllowzero())
      return sameDim(reshape.getData(), i, like, j);
    return *c == rankedOf(like).getDimSize(j);
  }
  if (auto *v = std::get_if<Value>(&elem))
    return isDimOf(*v, like, j);
  return false;
}

/// `v` = Transpose(Reshape(x [B, T, H·D] → [B, T, H, D]), perm): returns x
/// and H.
std::optional<std::pair<Value, int64_t>> headsOf(Value v, ArrayRef<int64_t> perm) {
  auto tr = v.getDefiningOp<TransposeOp>();
  auto reshape = tr ? tr.getData().getDefiningOp<ReshapeOp>() : ReshapeOp();
  if (!reshape || tr.getPerm() != perm || !tr->hasOneUse() || !reshape->hasOneUse())
    return std::nullopt;
  Value x = reshape.getData();
  auto in = rankedOf(x), out = rankedOf(reshape.getOutput());
  if (in.getRank() != 3 || out.getRank() != 4 || !in.getElementType().isF32() || in.isDynamicDim(2) ||
      out.isDynamicDim(2))
    return std::nullopt;
  int64_t heads = out.getDimSize(2);
  if (heads < 1 || in.getDimSize(2) % heads != 0)
    return std::nullopt;
  // Batch and sequence kept and H heads split off: the element count then
  // forces the last dimension to be D.
  if (!reshapeKeeps(reshape, 0, x, 0) || !reshapeKeeps(reshape, 1, x, 1))
    return std::nullopt;
  return std::make_pair(x, heads);
}

/// Kᵀ per head: Transpose(heads, [0, 2, 3, 1]), or the [0, 1, 3, 2]
/// transpose of Transpose(heads, [0, 2, 1, 3]).
std::optional<std::pair<Value, int64_t>> keyHeadsOf(Value v) {
  if (auto direct = headsOf(v, {0, 2, 3, 1}))
    return direct;
  auto tr = v.getDefiningOp<TransposeOp>();
  if (!tr || tr.getPerm() != ArrayRef<int64_t>{0, 1, 3, 2} || !tr->hasOneUse())
    return std::nullopt;
  return headsOf(tr.getData(), {0, 2, 1, 3});
}

/// The splat float constant `v` holds, if any.
std::optional<double> splatFloat(Value v) {
  DenseFPElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr)) || !attr.isSplat())
    return std::nullopt;
  return attr.getSplatValue<APFloat>().convertToDouble();
}

/// Whether `v` is a constant boolean matrix that is true exactly on and
/// below the diagonal.
bool isLowerTriangle(Value v) {
  DenseIntElementsAttr attr;
  auto type = rankedOf(v);
  if (!matchPattern(v, m_Constant(&attr)) || type.getRank() != 2 || !type.getElementType().isInteger(1))
    return false;
  int64_t cols = type.getDimSize(1), i = 0;
  for (const APInt &x : attr.getValues<APInt>()) {
    if (x.getBoolValue() != (i % cols <= i / cols))
      return false;
    ++i;
  }
  return true;
}

/// Whether `mask` is the causal mask of `tokens` queries over as many keys:
/// a lower triangle, or its top-left corner cut by Slices from 0 with unit
/// steps to `tokens`' sequence length on both axes.
bool isCausalMask(Value mask, Value tokens) {
  auto type = rankedOf(mask);
  if (type.getRank() != 2)
    return false;
  bool rowsCut = false, colsCut = false;
  while (auto slice = mask.getDefiningOp<SliceOp>()) {
    DenseIntElementsAttr axes, starts, steps;
    if (!slice.getAxes() || !matchPattern(slice.getAxes(), m_Constant(&axes)) || axes.getNumElements() != 1 ||
        !matchPattern(slice.getStarts(), m_Constant(&starts)) || !(*starts.begin()).isZero() ||
        (slice.getSteps() && (!matchPattern(slice.getSteps(), m_Constant(&steps)) || !(*steps.begin()).isOne())))
      return false;
    int64_t axis = (*axes.begin()).getSExtValue();
    axis = axis < 0 ? axis + 2 : axis;
    if (axis != 0 && axis != 1)
      return false;
    if (!isDimOf(slice.getEnds(), tokens, 1))
      return false;
    (axis == 0 ? rowsCut : colsCut) = true;
    mask = slice.getData();
  }
  if (!isLowerTriangle(mask))
    return false;
  // Uncut axes must already be the sequence length.
  auto full = rankedOf(mask);
  return (rowsCut || sameDim(mask, 0, tokens, 1)) && (colsCut || sameDim(mask, 1, tokens, 1)) &&
         (rowsCut || colsCut || full.getDimSize(0) == full.getDimSize(1));
}

/// Reshape(Transpose(softmax(mask(scale · Q·Kᵀ)) · V, [0, 2, 1, 3]) → [B, T, H·Dv]),
/// Q, K and V split into heads from [B, ·, H·D] tensors: one nn.attention.
struct FuseAttentionPattern : OpRewritePattern<ReshapeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(ReshapeOp root, PatternRewriter &rewriter) const override {
    auto outTr = root.getData().getDefiningOp<TransposeOp>();
    auto context = outTr ? outTr.getData().getDefiningOp<MatMulOp>() : MatMulOp();
    auto softmax = context ? context.getLhs().getDefiningOp<SoftmaxOp>() : SoftmaxOp();
    if (!softmax || rankedOf(root.getOutput()).getRank() != 3 || outTr.getPerm() != ArrayRef<int64_t>{0, 2, 1, 3} ||
        !outTr->hasOneUse() || !context->hasOneUse() || !softmax->hasOneUse() ||
        (softmax.getAxis() != -1 && softmax.getAxis() != 3))
      return rewriter.notifyMatchFailure(root, "not the output of softmax(·)·V per head");
    // Optional causal mask: Where(mask, s, −∞) or Where(Not(mask), −∞, s).
    Value scores = softmax.getInput(), mask;
    if (auto where = scores.getDefiningOp<WhereOp>()) {
      auto isNegInf = [](Value v) {
        auto c = splatFloat(v);
        return c && std::isinf(*c) && *c < 0;
      };
      if (!where->hasOneUse())
        return failure();
      if (isNegInf(where.getY())) {
        mask = where.getCondition(), scores = where.getX();
      } else if (auto notOp = where.getCondition().getDefiningOp<NotOp>(); notOp && isNegInf(where.getX())) {
        mask = notOp.getInput(), scores = where.getY();
      } else {
        return rewriter.notifyMatchFailure(root, "a mask that is not −∞ where masked");
      }
    }
    // Optional scale: s · c, c · s or s / c.
    double scale = 1.0;
    Operation *scaleOp = scores.getDefiningOp();
    if (scaleOp && isa<MulOp, DivOp>(scaleOp) && scaleOp->hasOneUse()) {
      Value lhs = scaleOp->getOperand(0), rhs = scaleOp->getOperand(1);
      auto c = splatFloat(rhs);
      if (isa<MulOp>(scaleOp) && !c && (c = splatFloat(lhs)))
        std::swap(lhs, rhs);
      if (c && rankedOf(rhs).getNumElements() == 1 && *c != 0.0) {
        scale = isa<MulOp>(scaleOp) ? *c : 1.0 / *c;
        scores = lhs;
      }
    }
    auto product = scores.getDefiningOp<MatMulOp>();
    if (!product || !product->hasOneUse())
      return rewriter.notifyMatchFailure(root, "scores are not one Q·Kᵀ");
    auto q = headsOf(product.getLhs(), {0, 2, 1, 3});
    auto k = keyHeadsOf(product.getRhs());
    auto v = headsOf(context.getRhs(), {0, 2, 1, 3});
    if (!q || !k || !v || q->second != k->second || q->second != v->second)
      return rewriter.notifyMatchFailure(root, "Q, K or V is not split into heads from [B, T, H·D]");
    int64_t heads = q->second;
    Value query = q->first, key = k->first, value = v->first;
    if (rankedOf(query).getDimSize(2) != rankedOf(key).getDimSize(2))
      return failure();
    // The causal mask is [T, T]: it needs as many keys as queries.
    bool causal = static_cast<bool>(mask);
    if (causal && (!isCausalMask(mask, query) || !sameDim(query, 1, key, 1)))
      return rewriter.notifyMatchFailure(root, "a mask that is not the causal lower triangle");
    // The result keeps batch and query length and joins the heads.
    auto out = rankedOf(root.getOutput());
    if (out.getDimSize(2) != rankedOf(value).getDimSize(2) || !reshapeKeeps(root, 0, query, 0) ||
        !reshapeKeeps(root, 1, query, 1))
      return rewriter.notifyMatchFailure(root, "the result does not join the heads back");
    rewriter.replaceOpWithNewOp<AttentionOp>(root, out, query, key, value, rewriter.getI64IntegerAttr(heads),
                                             rewriter.getF32FloatAttr(static_cast<float>(scale)),
                                             causal ? rewriter.getUnitAttr() : UnitAttr());
    return success();
  }
};

struct FuseAttentionPass : impl::FuseAttentionBase<FuseAttentionPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseAttentionPattern>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
} // namespace sinter
