// sinter-convert-to-spiking: FAS's stage 2. QCFS activations become
// integrate-and-fire neurons over T time steps folded into the batch, and
// the linears they feed become accumulate-only. The method:
// include/sinter/Compression/Passes.td and docs/compression.md.
#include "sinter/Compression/Linears.h"
#include "sinter/Compression/Passes.h"
#include "sinter/Compression/SpikeCalibration.h"
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
    if (!w || !values)
      return failure();
    auto weights = readF32(w), theta = readConstantF32(values.getThreshold());
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

/// One converted activation.
struct SpikingLayer {
  std::string name;
  spike::IFOp neurons;
  spike::ValuesOp values;
  int64_t levels, count;
  int64_t fedK = 0, fedN = 0; // the linear that reads the spikes, if any
  std::string fed = "none";
  double scale = 1.0, rate = -1.0; // calibrated scale; firing rate (-1: not measured)
  bool fitted = false;             // whether the fine stage fitted its neurons
};

struct ConvertToSpikingPass : impl::ConvertToSpikingBase<ConvertToSpikingPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (steps < 1 || thresholdScale <= 0 || membrane < 0 || membrane > 1 || calibrationTokens < 1 ||
        calibrationWindow < 1) {
      module.emitError("spike: T must be >= 1, threshold-scale > 0, membrane in [0, 1], calibration-tokens and calibration-window >= 1");
      return signalPassFailure();
    }
    RewritePatternSet raise(&getContext());
    populateRaiseActivationsPatterns(raise);
    (void)applyPatternsGreedily(module, std::move(raise));
    OwningOpRef<ModuleOp> ann;
    if (!calibration.empty())
      ann = module.clone();

    SmallVector<SpikingLayer> layers;
    for (auto func : module.getOps<func::FuncOp>()) {
      SmallVector<nn::QCFSOp> activations(func.getOps<nn::QCFSOp>());
      if (activations.empty())
        continue;
      if (failed(foldTimeIntoBatch(func)))
        return signalPassFailure();
      for (nn::QCFSOp qcfs : activations) {
        auto layer = convertNeurons(qcfs);
        if (!layer)
          return signalPassFailure();
        layers.push_back(*layer);
      }
    }
    if (layers.empty()) {
      module.emitError("spike: the model has no QCFS activations (export them with sinter.spike.QCFS; "
                       "python3 -m sinter.qcfs fine-tunes a model with them)");
      return signalPassFailure();
    }
    if (ann && failed(calibrate(*ann, layers)))
      return signalPassFailure();
    RewritePatternSet fuse(&getContext());
    fuse.add<FuseValuesIntoMatmul>(&getContext());
    (void)applyPatternsGreedily(module, std::move(fuse));
    recordFiringRates(layers);
    SmallVector<Attribute> report;
    for (const SpikingLayer &layer : layers)
      report.push_back(reportEntry(layer));
    report.push_back(modelEntry(layers));
    appendCompressionReport(module, report);
  }

  /// What stays float: one entry for the model, counting the MACs per row
  /// and step of the linears that still multiply (the attention products
  /// Q·Kᵀ and P·V also do, in proportion to the sequence).
  Attribute modelEntry(ArrayRef<SpikingLayer> layers) {
    int64_t floatMacs = 0, synapses = 0;
    for (auto func : getOperation().getOps<func::FuncOp>())
      for (const Linear &linear : findLinears(func))
        floatMacs += linear.dIn * linear.dOut;
    for (const SpikingLayer &layer : layers)
      synapses += layer.fedK * layer.fedN;
    Builder b(&getContext());
    return b.getDictionaryAttr(
        {b.getNamedAttr("pass", b.getStringAttr("spike-model")),
         b.getNamedAttr("steps", b.getI64IntegerAttr(steps)),
         b.getNamedAttr("float_at_every_step",
                        b.getStringAttr("attention (Q K^T, softmax, P V), LayerNorm, embeddings and every linear "
                                        "that reads float values")),
         b.getNamedAttr("float_linear_macs_per_row_step", b.getI64IntegerAttr(floatMacs)),
         b.getNamedAttr("accumulate_only_synapses_per_row_step", b.getI64IntegerAttr(synapses))});
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

  /// nn.qcfs(x, θ) → spike.values(spike.if(x, θ·scale, membrane·θ·scale)).
  std::optional<SpikingLayer> convertNeurons(nn::QCFSOp qcfs) {
    SpikingLayer layer;
    layer.name = onnxNodeName(qcfs, "qcfs");
    layer.levels = qcfs.getLevels();
    auto type = cast<RankedTensorType>(qcfs.getType());
    auto theta = readConstantF32(qcfs.getThreshold());
    if (!theta || !type.getElementType().isF32() || type.isDynamicDim(type.getRank() - 1)) {
      qcfs.emitError("spike: '") << layer.name << "' needs a constant f32 threshold and a static neuron dimension";
      return std::nullopt;
    }
    layer.count = type.getShape().back();
    std::vector<float> thresholds(layer.count);
    for (int64_t j = 0; j < layer.count; ++j)
      thresholds[j] = (float)((*theta)[theta->size() == 1 ? 0 : j] * thresholdScale);
    OpBuilder b(qcfs);
    SmallVector<int64_t> shape{steps};
    shape.append(type.getShape().begin(), type.getShape().end());
    if (!ShapedType::isDynamic(shape[1]))
      shape[1] /= steps;
    auto train = spike::TrainType::get(&getContext(), shape, signedNeurons);
    layer.neurons = spike::IFOp::create(b, qcfs.getLoc(), train, qcfs.getInput(), qcfs.getThreshold(),
                                        qcfs.getThreshold(), signedNeurons ? b.getI64IntegerAttr(steps) : IntegerAttr());
    layer.values = spike::ValuesOp::create(b, qcfs.getLoc(), type, layer.neurons, qcfs.getThreshold());
    std::vector<float> membranes;
    for (float t : thresholds)
      membranes.push_back((float)(membrane * t));
    setThresholds(layer, thresholds, membranes);
    qcfs.replaceAllUsesWith(layer.values.getResult());
    if (layer.values->hasOneUse())
      if (auto matmul = dyn_cast<nn::MatMulOp>(*layer.values->getUsers().begin())) {
        auto w = cast<RankedTensorType>(matmul.getRhs().getType());
        if (w.getRank() == 2 && w.hasStaticShape())
          layer.fed = onnxNodeName(matmul, "linear"), layer.fedK = w.getDimSize(0), layer.fedN = w.getDimSize(1);
      }
    qcfs.erase();
    return layer;
  }

  /// Gives a layer's neurons these thresholds and initial membranes (one
  /// per neuron).
  void setThresholds(SpikingLayer &layer, llvm::ArrayRef<float> thresholds, llvm::ArrayRef<float> membranes) {
    OpBuilder b(layer.neurons);
    Location loc = layer.neurons.getLoc();
    auto type = RankedTensorType::get({(int64_t)thresholds.size()}, b.getF32Type());
    Value th = arith::ConstantOp::create(b, loc, makeF32Elements(type, thresholds, layer.name + ".spike_threshold"));
    Value v0 = arith::ConstantOp::create(b, loc, makeF32Elements(type, membranes, layer.name + ".spike_membrane"));
    SmallVector<Operation *> old{layer.neurons.getThreshold().getDefiningOp(),
                                 layer.neurons.getMembrane().getDefiningOp()};
    layer.neurons.getThresholdMutable().assign(th);
    layer.neurons.getMembraneMutable().assign(v0);
    layer.values.getThresholdMutable().assign(th);
    for (Operation *op : old)
      if (op && op->use_empty() && isa<arith::ConstantOp>(op))
        op->erase();
  }

  /// Coarse calibration: a threshold scale per layer chosen on the
  /// calibration text (SpikeCalibration.h), applied to the neurons.
  LogicalResult calibrate(ModuleOp ann, MutableArrayRef<SpikingLayer> layers) {
    SpikeCalibrationOptions opts;
    opts.textPath = calibration;
    opts.tokens = calibrationTokens;
    opts.window = calibrationWindow;
    opts.fine = perNeuron;
    opts.membrane = membrane;
    opts.grid = {0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2};
    SmallVector<spike::IFOp> neurons;
    for (const SpikingLayer &layer : layers)
      neurons.push_back(layer.neurons);
    std::string error;
    auto result = calibrateSpiking(ann, getOperation(), neurons, opts, error);
    if (!result)
      return getOperation().emitError(error);
    for (auto [i, layer] : llvm::enumerate(layers)) {
      layer.scale = result->scales[i];
      layer.rate = result->rates[i];
      layer.fitted = result->fitted[i];
      setThresholds(layer, result->thresholds[i], result->membranes[i]);
    }
    // One entry for the whole calibration: KL(ANN ‖ SNN) per token after
    // each stage.
    Builder b(&getContext());
    appendCompressionReport(
        getOperation(),
        {b.getDictionaryAttr({b.getNamedAttr("pass", b.getStringAttr("spike-calibration")),
                              b.getNamedAttr("text", b.getStringAttr(calibration)),
                              b.getNamedAttr("tokens", b.getI64IntegerAttr(result->tokens)),
                              b.getNamedAttr("kl_bits_unscaled", b.getF64FloatAttr(result->klBitsUnscaled)),
                              b.getNamedAttr("kl_bits_coarse", b.getF64FloatAttr(result->klBitsCoarse)),
                              b.getNamedAttr("kl_bits", b.getF64FloatAttr(result->klBits))})});
    return success();
  }

  /// Copies measured firing rates onto the spike.matmul ops they feed.
  void recordFiringRates(ArrayRef<SpikingLayer> layers) {
    for (const SpikingLayer &layer : layers) {
      if (layer.rate < 0)
        continue;
      for (Operation *user : spike::IFOp(layer.neurons)->getUsers())
        if (auto matmul = dyn_cast<spike::MatmulOp>(user))
          matmul.setFiringRateAttr(FloatAttr::get(Float32Type::get(&getContext()), layer.rate));
    }
  }

  /// The layer's compile report entry; with a measured firing rate, its
  /// accumulates per row (T · rate · K · N, against K · N MACs in the ANN)
  /// and their energy at 0.9 pJ an accumulate and 4.6 pJ a MAC.
  Attribute reportEntry(const SpikingLayer &layer) {
    Builder b(&getContext());
    auto thresholds = readConstantF32(spike::IFOp(layer.neurons).getThreshold());
    double sum = 0;
    for (float t : *thresholds)
      sum += t;
    SmallVector<NamedAttribute> entry{
        b.getNamedAttr("pass", b.getStringAttr("spike")),
        b.getNamedAttr("layer", b.getStringAttr(layer.name)),
        b.getNamedAttr("steps", b.getI64IntegerAttr(steps)),
        b.getNamedAttr("levels", b.getI64IntegerAttr(layer.levels)),
        b.getNamedAttr("neurons", b.getI64IntegerAttr(layer.count)),
        b.getNamedAttr("mean_threshold", b.getF64FloatAttr(sum / layer.count)),
        b.getNamedAttr("signed", b.getBoolAttr(signedNeurons)),
        b.getNamedAttr("feeds", b.getStringAttr(layer.fed)),
    };
    if (layer.fedK)
      entry.push_back(b.getNamedAttr("ann_macs_per_row", b.getI64IntegerAttr(layer.fedK * layer.fedN)));
    if (layer.rate >= 0) {
      entry.push_back(b.getNamedAttr("threshold_scale", b.getF64FloatAttr(layer.scale)));
      entry.push_back(b.getNamedAttr("per_neuron_fit", b.getBoolAttr(layer.fitted)));
      entry.push_back(b.getNamedAttr("firing_rate", b.getF64FloatAttr(layer.rate)));
      if (layer.fedK) {
        double macs = (double)layer.fedK * layer.fedN, acs = steps * layer.rate * macs;
        entry.push_back(b.getNamedAttr("acs_per_row", b.getF64FloatAttr(acs)));
        entry.push_back(b.getNamedAttr("energy_pj_per_row_ann", b.getF64FloatAttr(4.6 * macs)));
        entry.push_back(b.getNamedAttr("energy_pj_per_row_snn", b.getF64FloatAttr(0.9 * acs)));
      }
    }
    return b.getDictionaryAttr(entry);
  }
};

} // namespace
} // namespace sinter
