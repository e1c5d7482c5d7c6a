// Dense ops the CPU runtime has kernels for: nn.attention → the fused
// attention kernel (sinter_attention.c), whose Q, K and V are passed as
// strided views, so a slice of a fused QKV projection is read where it lies;
// and, when runtime kernels are on, f32 nn.layer_norm over the last
// dimension → sinter_layer_norm.c (one vectorized pass per row instead of
// five loops, two of them scalar reductions).
#include "KernelCalls.h"
#include "LoweringUtils.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "sinter/Dialect/NN/NNDialect.h"

using namespace mlir;
using namespace sinter::nn;

namespace sinter::lowering {
namespace {

constexpr llvm::StringLiteral kAttention = "__sinter_attention";
constexpr llvm::StringLiteral kLayerNorm = "__sinter_layer_norm";

/// The address of [B, T, F] `tensor`'s element 0 and its batch and row
/// strides, in elements. Rows must be contiguous; any other layout (a
/// slice along the rows, an offset) is read in place.
std::array<Value, 3> stridedView(PatternRewriter &rewriter, Location loc, Value tensor) {
  auto type = rankedOf(tensor);
  int64_t dyn = ShapedType::kDynamic;
  auto layout = StridedLayoutAttr::get(rewriter.getContext(), dyn, {dyn, dyn, 1});
  auto memrefType = MemRefType::get(type.getShape(), type.getElementType(), layout);
  Value buffer = bufferization::ToBufferOp::create(rewriter, loc, memrefType, tensor, /*read_only=*/true);
  auto meta = memref::ExtractStridedMetadataOp::create(rewriter, loc, buffer);
  Value base = memref::ExtractAlignedPointerAsIndexOp::create(rewriter, loc, buffer);
  Value bytes = arith::MulIOp::create(rewriter, loc, meta.getOffset(),
                                      arith::ConstantIndexOp::create(rewriter, loc, sizeof(float)));
  return {arith::AddIOp::create(rewriter, loc, base, bytes), meta.getStrides()[0], meta.getStrides()[1]};
}

struct AttentionLowering : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AttentionOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getType());
    auto index = [&](int64_t v) -> Value { return arith::ConstantIndexOp::create(rewriter, loc, v); };
    int64_t heads = op.getHeads();
    int64_t dk = rankedOf(op.getKey()).getDimSize(2) / heads, dv = type.getDimSize(2) / heads;
    Value out = resultBuffer(rewriter, loc, type, op.getQuery()).first;
    Value tokens = dimValue(rewriter, loc, op.getQuery(), 1);
    SmallVector<Value> args = {dimValue(rewriter, loc, op.getQuery(), 0), tokens,
                               dimValue(rewriter, loc, op.getKey(), 1), index(heads), index(dk), index(dv)};
    for (Value operand : {op.getQuery(), op.getKey(), op.getValue()})
      llvm::append_range(args, stridedView(rewriter, loc, operand));
    args.push_back(memref::ExtractAlignedPointerAsIndexOp::create(rewriter, loc, out));
    args.push_back(arith::MulIOp::create(rewriter, loc, tokens, index(type.getDimSize(2))));
    args.push_back(index(type.getDimSize(2)));
    args.push_back(index(llvm::bit_cast<uint32_t>(op.getScale().convertToFloat())));
    args.push_back(index(op.getCausal() ? 1 : 0));
    callKernel(rewriter, op, kAttention, args, out);
    return success();
  }
};

struct LayerNormKernelLowering : OpRewritePattern<LayerNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LayerNormOp op, PatternRewriter &rewriter) const override {
    auto type = cast<RankedTensorType>(op.getType());
    int64_t rank = type.getRank(), d = rank ? type.getDimSize(rank - 1) : 0;
    auto isRow = [&](Value v) {
      auto t = rankedOf(v);
      return t.getRank() == 1 && t.getDimSize(0) == d;
    };
    if (rank < 1 || !type.getElementType().isF32() || ShapedType::isDynamic(d) ||
        (op.getAxis() != -1 && op.getAxis() != rank - 1) || !isRow(op.getScale()) ||
        (op.getBias() && !isRow(op.getBias())))
      return rewriter.notifyMatchFailure(op, "not an f32 LayerNorm of the last dimension with [d] parameters");
    Location loc = op.getLoc();
    auto index = [&](int64_t v) -> Value { return arith::ConstantIndexOp::create(rewriter, loc, v); };
    auto [out, rows] = resultBuffer(rewriter, loc, type, op.getInput());
    SmallVector<Value> args = {rows,
                               index(d),
                               addressOf(rewriter, loc, op.getInput()),
                               addressOf(rewriter, loc, op.getScale()),
                               op.getBias() ? addressOf(rewriter, loc, op.getBias()) : index(0),
                               memref::ExtractAlignedPointerAsIndexOp::create(rewriter, loc, out),
                               index(llvm::bit_cast<uint32_t>(op.getEpsilon().convertToFloat()))};
    callKernel(rewriter, op, kLayerNorm, args, out);
    return success();
  }
};

} // namespace

void populateAttentionPatterns(RewritePatternSet &patterns) { patterns.add<AttentionLowering>(patterns.getContext()); }

void populateDenseKernelPatterns(RewritePatternSet &patterns) {
  // Preferred over the linalg lowering of the same op.
  patterns.add<LayerNormKernelLowering>(patterns.getContext(), /*benefit=*/2);
}

} // namespace sinter::lowering
