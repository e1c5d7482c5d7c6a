// sinter-convert-to-spiking: FAS's stage 2. QCFS activations become
// integrate-and-fire neurons over T time steps folded into the batch, and
// the linears they feed become accumulate-only. The method:
// include/sinter/Compression/Passes.td and docs/compression.md.
#include "sinter/Compression/Linears.h"
#include "sinter/Compression/Passes.h"
#include "sinter/Support/ConstantData.h"
#include "sinter/Transforms/Passes.h"

#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace sinter {
#define GEN_PASS_DEF_CONVERTTOSPIKING
#include "sinter/Compression/Passes.h.inc"
} // namespace sinter

using namespace mlir;

namespace sinter {
namespace {

/// nn.matmul(spike.values(s, θ), W) with θ and W constant →
/// spike.matmul(s, diag(θ)·W): each spike then adds one row of the scaled
/// weights.
struct FuseValuesIntoMatmul : OpRewritePattern<nn::MatMulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(nn::MatMulOp op, PatternRewriter &rewriter) const override {
    Value x;
    ElementsAttr w = matchLinear(op, x);
    auto values = x ? x.getDefiningOp<spike::ValuesOp>() : nullptr;
    Attribute thetaAttr;
    if (!w || !values || !matchPattern(values.getThreshold(), m_Constant(&thetaAttr)))
      return failure();
    auto weights = readF32(w), theta = readF32(thetaAttr);
    if (!weights || !theta)
      return failure();
    auto wType = cast<ShapedType>(w.getType());
    int64_t k = wType.getDimSize(0), n = wType.getDimSize(1);
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < n; ++j)
        (*weights)[i * n + j] *= (*theta)[theta->size() == 1 ? 0 : i];
    std::string name = onnxNodeName(op, "linear") + ".spike_synapses";
    Value scaled = arith::ConstantOp::create(rewriter, op.getLoc(), makeF32Elements(wType, *weights, name));
    rewriter.replaceOpWithNewOp<spike::MatmulOp>(op, op.getType(), values.getSpikes(), scaled, nullptr);
    return success();
  }
};

struct ConvertToSpikingPass : impl::ConvertToSpikingBase<ConvertToSpikingPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (steps < 1 || thresholdScale <= 0 || membrane < 0 || membrane > 1) {
      module.emitError("spike: T must be >= 1, threshold-scale > 0 and membrane in [0, 1]");
      return signalPassFailure();
    }
    RewritePatternSet raise(&getContext());
    populateRaiseActivationsPatterns(raise);
    (void)applyPatternsGreedily(module, std::move(raise));

    SmallVector<Attribute> report;
    for (auto func : module.getOps<func::FuncOp>()) {
      SmallVector<nn::QCFSOp> activations(func.getOps<nn::QCFSOp>());
      if (activations.empty())
        continue;
      if (failed(foldTimeIntoBatch(func)))
        return signalPassFailure();
      for (nn::QCFSOp qcfs : activations) {
        Attribute entry = convertNeurons(qcfs);
        if (!entry)
          return signalPassFailure();
        report.push_back(entry);
      }
    }
    if (report.empty()) {
      module.emitError("spike: the model has no QCFS activations (export them with sinter.spike.QCFS; "
                       "python3 -m sinter.qcfs fine-tunes a model with them)");
      return signalPassFailure();
    }
    RewritePatternSet fuse(&getContext());
    fuse.add<FuseValuesIntoMatmul>(&getContext());
    (void)applyPatternsGreedily(module, std::move(fuse));
    appendCompressionReport(module, report);
  }

  /// Repeats every input T times along its leading dimension and averages
  /// every output over the steps.
  LogicalResult foldTimeIntoBatch(func::FuncOp func) {
    auto needsDynamicBatch = [&](Type type, StringRef what, unsigned i) -> LogicalResult {
      auto ranked = dyn_cast<RankedTensorType>(type);
      if (ranked && ranked.getRank() >= 1 && ranked.isDynamicDim(0))
        return success();
      return func.emitError("spike: ") << what << " " << i << " (" << type
                                       << ") needs a dynamic leading (batch) dimension: the time steps fold "
                                          "into it (export the model with a dynamic batch)";
    };
    Block &entry = func.getBody().front();
    OpBuilder b(&getContext());
    b.setInsertionPointToStart(&entry);
    for (BlockArgument arg : entry.getArguments()) {
      if (failed(needsDynamicBatch(arg.getType(), "input", arg.getArgNumber())))
        return failure();
      auto encode = spike::EncodeOp::create(b, func.getLoc(), arg.getType(), arg, b.getI64IntegerAttr(steps));
      arg.replaceAllUsesExcept(encode, encode);
    }
    auto ret = cast<func::ReturnOp>(entry.getTerminator());
    b.setInsertionPoint(ret);
    for (OpOperand &result : ret->getOpOperands()) {
      auto type = dyn_cast<RankedTensorType>(result.get().getType());
      if (failed(needsDynamicBatch(result.get().getType(), "output", result.getOperandNumber())))
        return failure();
      if (!type.getElementType().isF32())
        return func.emitError("spike: output ") << result.getOperandNumber() << " (" << type
                                                << ") must be f32 to be averaged over the time steps";
      result.set(spike::DecodeOp::create(b, func.getLoc(), type, result.get(), b.getI64IntegerAttr(steps)));
    }
    return success();
  }

  /// nn.qcfs(x, θ) → spike.values(spike.if(x, θ·scale, membrane·θ·scale));
  /// returns the layer's report entry.
  Attribute convertNeurons(nn::QCFSOp qcfs) {
    std::string name = onnxNodeName(qcfs, "qcfs");
    auto type = cast<RankedTensorType>(qcfs.getType());
    Attribute thetaAttr;
    std::optional<std::vector<float>> theta;
    if (matchPattern(qcfs.getThreshold(), m_Constant(&thetaAttr)))
      theta = readF32(thetaAttr);
    if (!theta || !type.getElementType().isF32() || type.isDynamicDim(type.getRank() - 1)) {
      qcfs.emitError("spike: '") << name << "' needs a constant f32 threshold and a static neuron dimension";
      return {};
    }
    int64_t neurons = type.getShape().back();
    std::vector<float> thresholds(neurons), membranes(neurons);
    double sum = 0;
    for (int64_t j = 0; j < neurons; ++j) {
      thresholds[j] = (float)((*theta)[theta->size() == 1 ? 0 : j] * thresholdScale);
      membranes[j] = (float)(membrane * thresholds[j]);
      sum += thresholds[j];
    }
    OpBuilder b(qcfs);
    Location loc = qcfs.getLoc();
    auto perNeuron = RankedTensorType::get({neurons}, b.getF32Type());
    Value th = arith::ConstantOp::create(b, loc, makeF32Elements(perNeuron, thresholds, name + ".spike_threshold"));
    Value v0 = arith::ConstantOp::create(b, loc, makeF32Elements(perNeuron, membranes, name + ".spike_membrane"));
    SmallVector<int64_t> shape{steps};
    shape.append(type.getShape().begin(), type.getShape().end());
    if (!ShapedType::isDynamic(shape[1]))
      shape[1] /= steps;
    auto train = spike::TrainType::get(&getContext(), shape, signedNeurons);
    Value spikes = spike::IFOp::create(b, loc, train, qcfs.getInput(), th, v0,
                                       signedNeurons ? b.getI64IntegerAttr(steps) : IntegerAttr());
    Value values = spike::ValuesOp::create(b, loc, type, spikes, th);
    qcfs.replaceAllUsesWith(values);
    std::string fed = "none";
    if (values.hasOneUse())
      if (auto matmul = dyn_cast<nn::MatMulOp>(*values.getUsers().begin()))
        fed = onnxNodeName(matmul, "linear");
    int64_t levels = qcfs.getLevels();
    qcfs.erase();
    SmallVector<NamedAttribute> entry{
        b.getNamedAttr("pass", b.getStringAttr("spike")),
        b.getNamedAttr("layer", b.getStringAttr(name)),
        b.getNamedAttr("steps", b.getI64IntegerAttr(steps)),
        b.getNamedAttr("levels", b.getI64IntegerAttr(levels)),
        b.getNamedAttr("neurons", b.getI64IntegerAttr(neurons)),
        b.getNamedAttr("mean_threshold", b.getF64FloatAttr(sum / neurons)),
        b.getNamedAttr("signed", b.getBoolAttr(signedNeurons)),
        b.getNamedAttr("feeds", b.getStringAttr(fed)),
    };
    return b.getDictionaryAttr(entry);
  }
};

} // namespace
} // namespace sinter
