#include "LoweringUtils.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Transforms/DialectConversion.h"
#include "sinter/Conversion/Passes.h"
#include "sinter/Dialect/BNN/BNNDialect.h"
#include "sinter/Dialect/GSE/GSEDialect.h"
#include "sinter/Dialect/NN/NNDialect.h"
#include "sinter/Dialect/Spike/SpikeDialect.h"

namespace sinter {
#define GEN_PASS_DEF_CONVERTNNTOLINALG
#include "sinter/Conversion/Passes.h.inc"
} // namespace sinter

using namespace mlir;

namespace sinter {

void populateNNToLinalgPatterns(RewritePatternSet &patterns, bool runtimeKernels) {
  if (runtimeKernels)
    lowering::populateDenseKernelPatterns(patterns);
  lowering::populateElementwisePatterns(patterns);
  lowering::populateContractionPatterns(patterns);
  lowering::populateNormalizationPatterns(patterns);
  lowering::populateDataMovementPatterns(patterns);
  lowering::populateCompressionPatterns(patterns);
  lowering::populateSpikePatterns(patterns);
  lowering::populateAttentionPatterns(patterns);
}

namespace {
struct ConvertNNToLinalgPass
    : impl::ConvertNNToLinalgBase<ConvertNNToLinalgPass> {
  using Base::Base;
  void runOnOperation() override {
    ConversionTarget target(getContext());
    target.addIllegalDialect<nn::NNDialect, bnn::BNNDialect>();
    target.addLegalDialect<linalg::LinalgDialect, tensor::TensorDialect,
                           arith::ArithDialect, math::MathDialect,
                           func::FuncDialect, bufferization::BufferizationDialect,
                           memref::MemRefDialect>();
    // gse.quantize, gse.transpose and gse.constant feed gse.matmul's kernel
    // call or gse.gather's loops and die with them; any other gse value is
    // an error.
    target.addIllegalOp<gse::MatmulOp, gse::GatherOp>();
    // Spike trains live only inside the kernels of their consumers: spike.if
    // lowers with the op that reads its spikes and must be gone after.
    target.addIllegalOp<spike::EncodeOp, spike::DecodeOp, spike::MatmulOp, spike::ValuesOp>();
    RewritePatternSet patterns(&getContext());
    populateNNToLinalgPatterns(patterns, runtimeKernels);
    if (failed(applyPartialConversion(getOperation(), target, std::move(patterns))))
      return signalPassFailure();
    // What fed the lowered gse.matmuls is dead now; a gse.transpose keeps
    // its constant used until it goes, so last first.
    SmallVector<Operation *> gseOps;
    getOperation()->walk([&](Operation *op) {
      if (isa<gse::GSEDialect>(op->getDialect()))
        gseOps.push_back(op);
    });
    for (Operation *op : llvm::reverse(gseOps))
      if (isOpTriviallyDead(op))
        op->erase();
    WalkResult leftover = getOperation()->walk([](Operation *op) {
      if (!isa<gse::GSEDialect, spike::SpikeDialect>(op->getDialect()) || op->use_empty())
        return WalkResult::advance();
      op->emitError(isa<spike::IFOp>(op) ? "spikes read other than by spike.matmul or spike.values cannot be lowered"
                                         : "a GSE value used other than by gse.matmul or gse.gather cannot be lowered yet");
      return WalkResult::interrupt();
    });
    if (leftover.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace

} // namespace sinter
