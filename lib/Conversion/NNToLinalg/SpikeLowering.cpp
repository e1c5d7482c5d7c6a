// Lowering of the spike dialect. Time-folded tensors need no new storage:
// spike.encode concatenates T copies along the leading dimension and
// spike.decode averages T slices of it. Spike trains are never stored: a
// spike.if lowers into the kernel of its consumer (lib/Runtime/
// sinter_spike.c), which runs the neurons' time loop and feeds the spikes
// straight to the synaptic product (spike.matmul) or to their values
// (spike.values).
#include "KernelCalls.h"
#include "LoweringUtils.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "sinter/Dialect/Spike/SpikeDialect.h"

using namespace mlir;

namespace sinter::lowering {
namespace {

constexpr llvm::StringLiteral kSpikeLinear = "__sinter_spike_linear";
constexpr llvm::StringLiteral kSpikeValues = "__sinter_spike_values";

/// `value` as `type` (a tensor.cast where the static shapes differ).
Value castTo(PatternRewriter &rewriter, Location loc, Value value, Type type) {
  return value.getType() == type ? value : tensor::CastOp::create(rewriter, loc, type, value);
}

struct EncodeLowering : OpRewritePattern<spike::EncodeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(spike::EncodeOp op, PatternRewriter &rewriter) const override {
    SmallVector<Value> copies(op.getSteps(), op.getInput());
    Value joined = tensor::ConcatOp::create(rewriter, op.getLoc(), /*dim=*/0, copies);
    rewriter.replaceOp(op, castTo(rewriter, op.getLoc(), joined, op.getType()));
    return success();
  }
};

struct DecodeLowering : OpRewritePattern<spike::DecodeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(spike::DecodeOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto in = rankedOf(op.getInput());
    int64_t steps = op.getSteps();
    // Step t is rows [t·B, (t + 1)·B) of the input.
    Value rows = dimValue(rewriter, loc, op.getInput(), 0);
    Value perStep = arith::DivUIOp::create(rewriter, loc, rows, arith::ConstantIndexOp::create(rewriter, loc, steps));
    auto out = rankedOf(op.getOutput());
    SmallVector<Value> slices;
    for (int64_t t = 0; t < steps; ++t) {
      SmallVector<OpFoldResult> offsets(in.getRank(), rewriter.getIndexAttr(0)), sizes, strides(in.getRank(), rewriter.getIndexAttr(1));
      offsets[0] = arith::MulIOp::create(rewriter, loc, perStep, arith::ConstantIndexOp::create(rewriter, loc, t)).getResult();
      sizes.push_back(perStep);
      for (int64_t i = 1; i < in.getRank(); ++i)
        sizes.push_back(in.isDynamicDim(i) ? OpFoldResult(dimValue(rewriter, loc, op.getInput(), i))
                                           : OpFoldResult(rewriter.getIndexAttr(in.getDimSize(i))));
      Value slice = tensor::ExtractSliceOp::create(rewriter, loc, op.getInput(), offsets, sizes, strides);
      slices.push_back(castTo(rewriter, loc, slice, out));
    }
    Type elem = out.getElementType();
    Value mean = buildElementwise(rewriter, loc, out, slices, [&](OpBuilder &b, Location l, ValueRange a) -> Value {
      Value sum = a[0];
      for (Value v : a.drop_front())
        sum = arith::AddFOp::create(b, l, sum, v);
      return arith::MulFOp::create(b, l, sum, scalarConst(b, l, elem, 1.0 / steps));
    });
    rewriter.replaceOp(op, mean);
    return success();
  }
};

/// The arguments every spiking kernel starts with: current, out, rows of
/// the current (all steps), steps, neurons, thresholds, whether there is one
/// per neuron, initial membranes, and 0 or (signed neurons) the bound.
SmallVector<Value> neuronArgs(PatternRewriter &rewriter, Location loc, spike::IFOp neurons, Value out, Value rows) {
  auto train = cast<spike::TrainType>(neurons.getType());
  auto index = [&](int64_t v) -> Value { return arith::ConstantIndexOp::create(rewriter, loc, v); };
  bool perNeuron = rankedOf(neurons.getThreshold()).getRank() == 1;
  int64_t bound = train.getIsSigned() ? neurons.getBound().value_or(train.getSteps()) : 0;
  return {addressOf(rewriter, loc, neurons.getCurrent()),
          memref::ExtractAlignedPointerAsIndexOp::create(rewriter, loc, out),
          rows,
          index(train.getSteps()),
          index(train.getNeurons()),
          addressOf(rewriter, loc, neurons.getThreshold()),
          index(perNeuron),
          addressOf(rewriter, loc, neurons.getMembrane()),
          index(bound)};
}

/// The spike.if that makes `spikes`, or an error on `op`.
FailureOr<spike::IFOp> neuronsOf(Operation *op, Value spikes) {
  if (auto neurons = spikes.getDefiningOp<spike::IFOp>())
    return neurons;
  return op->emitError("lowers only with the spike.if that makes its spikes (spike trains are not stored)");
}

/// Replaces `op` by `kernel(args)` and erases its neurons when nothing else
/// reads them.
void callSpikeKernel(PatternRewriter &rewriter, Operation *op, spike::IFOp neurons, StringRef kernel,
                     ArrayRef<Value> args, Value out) {
  callKernel(rewriter, op, kernel, args, out);
  if (neurons->use_empty())
    rewriter.eraseOp(neurons);
}

struct MatmulLowering : OpRewritePattern<spike::MatmulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(spike::MatmulOp op, PatternRewriter &rewriter) const override {
    auto neurons = neuronsOf(op, op.getSpikes());
    if (failed(neurons))
      return failure();
    Location loc = op.getLoc();
    auto [out, rows] = resultBuffer(rewriter, loc, rankedOf(op.getOutput()), neurons->getCurrent());
    SmallVector<Value> args = neuronArgs(rewriter, loc, *neurons, out, rows);
    args.push_back(arith::ConstantIndexOp::create(rewriter, loc, rankedOf(op.getWeight()).getDimSize(1)));
    args.push_back(addressOf(rewriter, loc, op.getWeight()));
    callSpikeKernel(rewriter, op, *neurons, kSpikeLinear, args, out);
    return success();
  }
};

struct ValuesLowering : OpRewritePattern<spike::ValuesOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(spike::ValuesOp op, PatternRewriter &rewriter) const override {
    auto neurons = neuronsOf(op, op.getSpikes());
    if (failed(neurons))
      return failure();
    if (op.getThreshold() != neurons->getThreshold())
      return op.emitError("lowers only with the threshold of its spike.if");
    Location loc = op.getLoc();
    auto [out, rows] = resultBuffer(rewriter, loc, rankedOf(op.getOutput()), neurons->getCurrent());
    callSpikeKernel(rewriter, op, *neurons, kSpikeValues, neuronArgs(rewriter, loc, *neurons, out, rows), out);
    return success();
  }
};

} // namespace

void populateSpikePatterns(RewritePatternSet &patterns) {
  patterns.add<EncodeLowering, DecodeLowering, MatmulLowering, ValuesLowering>(patterns.getContext());
}

} // namespace sinter::lowering
