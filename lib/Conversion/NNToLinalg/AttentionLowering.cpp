// nn.attention → the runtime's fused attention kernel (sinter_attention.c).
// Q, K and V are passed as strided views, so a slice of a fused QKV
// projection is read where it lies instead of being copied out first.
#include "KernelCalls.h"
#include "LoweringUtils.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "sinter/Dialect/NN/NNDialect.h"

#include <cstring>

using namespace mlir;
using namespace sinter::nn;

namespace sinter::lowering {
namespace {

constexpr llvm::StringLiteral kAttention = "__sinter_attention";

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
    auto [out, rows] = resultBuffer(rewriter, loc, type, op.getQuery());
    Value tokens = dimValue(rewriter, loc, op.getQuery(), 1);
    float scale = op.getScale().convertToFloat();
    uint32_t scaleBits;
    std::memcpy(&scaleBits, &scale, sizeof(scaleBits));
    SmallVector<Value> args = {dimValue(rewriter, loc, op.getQuery(), 0), tokens,
                               dimValue(rewriter, loc, op.getKey(), 1), index(heads), index(dk), index(dv)};
    for (Value operand : {op.getQuery(), op.getKey(), op.getValue()})
      llvm::append_range(args, stridedView(rewriter, loc, operand));
    args.push_back(memref::ExtractAlignedPointerAsIndexOp::create(rewriter, loc, out));
    args.push_back(arith::MulIOp::create(rewriter, loc, tokens, index(type.getDimSize(2))));
    args.push_back(index(type.getDimSize(2)));
    args.push_back(index(scaleBits));
    args.push_back(index(op.getCausal() ? 1 : 0));
    (void)rows;
    callKernel(rewriter, op, kAttention, args, out);
    return success();
  }
};

} // namespace

void populateAttentionPatterns(RewritePatternSet &patterns) { patterns.add<AttentionLowering>(patterns.getContext()); }

} // namespace sinter::lowering
