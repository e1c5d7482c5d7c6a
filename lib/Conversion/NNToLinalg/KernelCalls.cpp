#include "KernelCalls.h"
#include "LoweringUtils.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;

namespace sinter::lowering {

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

/// A fresh buffer for a kernel's result of `type`, whose leading dims are
/// those of `like` (the verifiers tie them), and the rows: their product.
std::pair<Value, Value> resultBuffer(PatternRewriter &rewriter, Location loc, RankedTensorType type, Value like) {
  int64_t rank = type.getRank();
  Value rows = arith::ConstantIndexOp::create(rewriter, loc, 1);
  SmallVector<Value> dynamicDims;
  for (int64_t i = 0; i < rank; ++i) {
    Value dim = i + 1 < rank || !type.isDynamicDim(i) ? dimValue(rewriter, loc, like, i) : Value();
    if (type.isDynamicDim(i))
      dynamicDims.push_back(dim);
    if (i + 1 < rank)
      rows = arith::MulIOp::create(rewriter, loc, rows, dim);
  }
  auto outType = MemRefType::get(type.getShape(), type.getElementType());
  Value out = memref::AllocOp::create(rewriter, loc, outType, dynamicDims, rewriter.getI64IntegerAttr(64));
  return {out, rows};
}

/// Calls `kernel(args...)` and replaces `op` with the tensor of `out`.
void callKernel(PatternRewriter &rewriter, Operation *op, StringRef kernel, ArrayRef<Value> args, Value out) {
  declareKernel(rewriter, op, kernel, args.size());
  func::CallOp::create(rewriter, op->getLoc(), kernel, TypeRange{}, args);
  rewriter.replaceOpWithNewOp<bufferization::ToTensorOp>(op, op->getResult(0).getType(), out, /*restrict=*/true,
                                                         /*writable=*/true);
}


} // namespace sinter::lowering
