// Lowering of the ops that compression passes add to nn: each becomes a call
// to its runtime kernel on buffers (lib/Runtime), wrapped so that one-shot
// bufferization sees a read of the inputs and a fresh result buffer.
#include "LoweringUtils.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "sinter/Dialect/NN/NNDialect.h"

using namespace mlir;
using namespace sinter::nn;

namespace sinter::lowering {
namespace {

constexpr llvm::StringLiteral kFFNCorrection = "__sinter_ffn_correction";

/// Declares `name(index...)` in the module once.
void declareKernel(PatternRewriter &rewriter, Operation *op, StringRef name, unsigned numArgs) {
  auto module = op->getParentOfType<ModuleOp>();
  if (module.lookupSymbol(name))
    return;
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPointToStart(module.getBody());
  SmallVector<Type> args(numArgs, rewriter.getIndexType());
  auto decl = func::FuncOp::create(rewriter, module.getLoc(), name, rewriter.getFunctionType(args, {}));
  decl.setPrivate();
}

/// The address of a tensor's data, as a dense row-major buffer.
Value addressOf(PatternRewriter &rewriter, Location loc, Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  auto memrefType = MemRefType::get(type.getShape(), type.getElementType());
  Value buffer = bufferization::ToBufferOp::create(rewriter, loc, memrefType, tensor, /*read_only=*/true);
  return memref::ExtractAlignedPointerAsIndexOp::create(rewriter, loc, buffer);
}

struct FFNOutlierCorrectionLowering : OpRewritePattern<FFNOutlierCorrectionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(FFNOutlierCorrectionOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getType());
    int64_t rank = type.getRank();
    // Rows: the product of the leading dims (of `linear`, which the verifier
    // ties to the input's).
    Value rows = arith::ConstantIndexOp::create(rewriter, loc, 1);
    SmallVector<Value> dynamicDims;
    for (int64_t i = 0; i < rank; ++i) {
      Value dim = dimValue(rewriter, loc, op.getLinear(), i);
      if (type.isDynamicDim(i))
        dynamicDims.push_back(dim);
      if (i + 1 < rank)
        rows = arith::MulIOp::create(rewriter, loc, rows, dim);
    }
    auto outType = MemRefType::get(type.getShape(), type.getElementType());
    Value out = memref::AllocOp::create(rewriter, loc, outType, dynamicDims, rewriter.getI64IntegerAttr(64));
    auto index = [&](int64_t v) -> Value { return arith::ConstantIndexOp::create(rewriter, loc, v); };
    int64_t d = cast<RankedTensorType>(op.getInput().getType()).getShape().back();
    int64_t dOut = type.getShape().back();
    int64_t kept = cast<RankedTensorType>(op.getUpWeight().getType()).getDimSize(0);
    SmallVector<Value> args = {addressOf(rewriter, loc, op.getInput()),
                               addressOf(rewriter, loc, op.getLinear()),
                               memref::ExtractAlignedPointerAsIndexOp::create(rewriter, loc, out),
                               rows, index(d), index(dOut), index(kept)};
    // Operands 2..10: the predictor and the per-neuron tables, in order.
    for (Value v : op->getOperands().drop_front(2))
      args.push_back(addressOf(rewriter, loc, v));
    args.push_back(index(op.getPredictorBits()));
    args.push_back(index(op.getActivation() == "gelu" ? 1 : 0));
    declareKernel(rewriter, op, kFFNCorrection, args.size());
    func::CallOp::create(rewriter, loc, kFFNCorrection, TypeRange{}, args);
    rewriter.replaceOpWithNewOp<bufferization::ToTensorOp>(op, type, out, /*restrict=*/true, /*writable=*/true);
    return success();
  }
};

} // namespace

void populateCompressionPatterns(RewritePatternSet &patterns) {
  patterns.add<FFNOutlierCorrectionLowering>(patterns.getContext());
}

} // namespace sinter::lowering
