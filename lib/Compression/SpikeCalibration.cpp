// Coarse-to-fine calibration of spiking conversion: the ANN and a copy of
// the SNN whose thresholds and membranes are inputs are built into
// libraries for this machine once. The coarse stage runs the SNN with
// candidate per-layer threshold scales on calibration text and keeps those
// with the smallest KL(ANN ‖ SNN); the fine stage fits each neuron's
// threshold and initial membrane to the ANN's activation, layer by layer
// (include/sinter/Compression/SpikeCalibration.h).
#include "sinter/Compression/SpikeCalibration.h"

#include "sinter/Compression/Calibration.h"

#include "sinter/Dialect/NN/NNDialect.h"
#include "sinter/Frontend/ONNXImporter.h"
#include "sinter/Support/ConstantData.h"
#include "sinter/Target/HostLibrary.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

using namespace mlir;

namespace sinter {
namespace {

constexpr llvm::StringLiteral kLayerAttr = "sinter.spike_layer";

/// Makes every tagged layer's threshold and membrane inputs of the entry
/// (after the token ids), and its spikes' values and its current extra
/// outputs (two per layer, in layer order).
LogicalResult exposeNeurons(ModuleOp module, size_t layers, std::string &error) {
  auto entry = module.lookupSymbol<func::FuncOp>(kEntryName);
  if (!entry || entry.getNumArguments() != 1) {
    error = "spike calibration: the model must have one input (token ids)";
    return failure();
  }
  SmallVector<spike::IFOp> neurons(layers);
  entry.walk([&](spike::IFOp op) {
    if (auto index = op->getAttrOfType<IntegerAttr>(kLayerAttr))
      neurons[index.getInt()] = op;
  });
  Builder b(module.getContext());
  auto named = [&](llvm::StringRef what, size_t i) {
    return b.getDictionaryAttr(
        b.getNamedAttr(kTensorNameAttr, b.getStringAttr("sinter.spike." + what.str() + "." + std::to_string(i))));
  };
  SmallVector<Value> results;
  SmallVector<DictionaryAttr> attrs;
  for (size_t i = 0; i < layers; ++i) {
    spike::IFOp op = neurons[i];
    auto values = op ? dyn_cast<spike::ValuesOp>(*op->getUsers().begin()) : nullptr;
    if (!op || !op->hasOneUse() || !values) {
      error = "spike calibration: each layer's spikes must be read by one spike.values before fusion";
      return failure();
    }
    auto type = op.getThreshold().getType();
    if (failed(entry.insertArgument(entry.getNumArguments(), type, named("threshold", i), op.getLoc())) ||
        failed(entry.insertArgument(entry.getNumArguments(), type, named("membrane", i), op.getLoc()))) {
      error = "spike calibration: cannot add the thresholds as inputs";
      return failure();
    }
    Value theta = entry.getArgument(entry.getNumArguments() - 2), v0 = entry.getArgument(entry.getNumArguments() - 1);
    op.getThresholdMutable().assign(theta);
    op.getMembraneMutable().assign(v0);
    values.getThresholdMutable().assign(theta);
    results.push_back(values);
    attrs.push_back(named("values", i));
    results.push_back(op.getCurrent());
    attrs.push_back(named("current", i));
  }
  appendEntryResults(entry, results, attrs);
  return success();
}

/// Makes the ANN's QCFS activations extra outputs, in program order (the
/// order in which the conversion made the layers).
LogicalResult exposeActivations(ModuleOp module, size_t layers, std::string &error) {
  auto entry = module.lookupSymbol<func::FuncOp>(kEntryName);
  SmallVector<nn::QCFSOp> activations;
  if (entry)
    activations.assign(entry.getOps<nn::QCFSOp>().begin(), entry.getOps<nn::QCFSOp>().end());
  if (activations.size() != layers) {
    error = "spike calibration: the ANN's QCFS activations do not match the spiking layers";
    return failure();
  }
  Builder b(module.getContext());
  SmallVector<Value> results;
  SmallVector<DictionaryAttr> attrs;
  for (auto [i, qcfs] : llvm::enumerate(activations)) {
    results.push_back(qcfs);
    attrs.push_back(b.getDictionaryAttr(
        b.getNamedAttr(kTensorNameAttr, b.getStringAttr("sinter.spike.activation." + std::to_string(i)))));
  }
  appendEntryResults(entry, results, attrs);
  return success();
}

/// log p of every row of a [rows, vocab] logits block.
std::vector<double> logSoftmax(const float *logits, int64_t rows, int64_t vocab) {
  std::vector<double> out(rows * vocab);
  for (int64_t r = 0; r < rows; ++r) {
    const float *row = logits + r * vocab;
    double m = *std::max_element(row, row + vocab), sum = 0;
    for (int64_t v = 0; v < vocab; ++v)
      sum += std::exp(row[v] - m);
    double lse = m + std::log(sum);
    for (int64_t v = 0; v < vocab; ++v)
      out[r * vocab + v] = row[v] - lse;
  }
  return out;
}

/// A model's outputs, freed with it.
struct Outputs {
  const sinter_model *model;
  std::vector<sinter_tensor> tensors;
  explicit Outputs(const sinter_model *m) : model(m), tensors(m->num_outputs) {}
  ~Outputs() {
    for (auto &t : tensors)
      if (t.data)
        model->free_output(t.data);
  }
  const float *data(int i) const { return static_cast<const float *>(tensors[i].data); }
  int64_t size(int i) const {
    int64_t n = 1;
    for (int d = 0; d < tensors[i].rank; ++d)
      n *= tensors[i].shape[d];
    return n;
  }
};

/// Neuron parameters of every layer: thresholds and initial membranes.
struct Parameters {
  std::vector<std::vector<float>> thresholds, membranes;
};

/// Runs the SNN library on the calibration windows.
struct Search {
  const sinter_model *snn;
  std::vector<int64_t> ids;
  int64_t windows, window, vocab = 0, steps = 1;
  std::vector<double> annLogP;
  std::vector<std::vector<float>> annActivations; // per layer, [rows][neurons]

  sinter_tensor idsTensor() {
    sinter_tensor in{};
    in.data = ids.data();
    in.dtype = SINTER_INT64;
    in.rank = 2;
    in.shape[0] = windows;
    in.shape[1] = window;
    return in;
  }

  std::unique_ptr<Outputs> run(Parameters &p, std::string &error) {
    std::vector<sinter_tensor> inputs{idsTensor()};
    for (size_t l = 0; l < p.thresholds.size(); ++l)
      for (std::vector<float> *v : {&p.thresholds[l], &p.membranes[l]}) {
        sinter_tensor in{};
        in.data = v->data();
        in.dtype = SINTER_FLOAT32;
        in.rank = 1;
        in.shape[0] = (int64_t)v->size();
        inputs.push_back(in);
      }
    auto out = std::make_unique<Outputs>(snn);
    sinter_error err;
    if (snn->run(inputs.data(), (int)inputs.size(), out->tensors.data(), snn->num_outputs, &err) != SINTER_OK) {
      error = "spike calibration: running the SNN failed: " + std::string(err.message);
      return nullptr;
    }
    return out;
  }

  /// Mean KL(ANN ‖ SNN) per token in bits.
  double klBits(const Outputs &out) {
    int64_t rows = windows * window;
    std::vector<double> logP = logSoftmax(out.data(0), rows, vocab);
    double kl = 0;
    for (int64_t i = 0; i < rows * vocab; ++i)
      kl += std::exp(annLogP[i]) * (annLogP[i] - logP[i]);
    return kl / rows / std::log(2.0);
  }

  /// Each layer's fraction of neuron-steps that fired.
  static std::vector<double> rates(const Outputs &out, size_t layers) {
    std::vector<double> r;
    for (size_t l = 0; l < layers; ++l) {
      int o = 1 + 2 * (int)l;
      int64_t n = out.size(o), fired = 0;
      for (int64_t i = 0; i < n; ++i)
        fired += out.data(o)[i] != 0.0f;
      r.push_back(n ? (double)fired / n : 0.0);
    }
    return r;
  }
};

/// Squared error between one neuron's mean output over the steps and the
/// ANN's activation, over every row: the IF rule of sinter_spike.c.
double neuronError(const float *current, int64_t rows, int64_t steps, int64_t neurons, int64_t j, float theta,
                   float v0, const float *target) {
  double sse = 0;
  for (int64_t r = 0; r < rows; ++r) {
    float v = v0;
    int64_t fired = 0;
    for (int64_t t = 0; t < steps; ++t) {
      float m = v + current[(t * rows + r) * neurons + j];
      bool f = m >= theta;
      v = f ? m - theta : m;
      fired += f;
    }
    double d = (double)fired * theta / steps - target[r * neurons + j];
    sse += d * d;
  }
  return sse;
}

/// The fine stage for layer `l`: each neuron's threshold and membrane from
/// a grid around its coarse values, by the squared error of its mean output
/// against the ANN's activation on the currents the SNN gives it now.
void fitNeurons(const Outputs &out, Search &search, size_t l, Parameters &p) {
  const float *current = out.data(2 + 2 * (int)l);
  int64_t neurons = (int64_t)p.thresholds[l].size();
  int64_t rows = out.size(2 + 2 * (int)l) / neurons / search.steps;
  const float *target = search.annActivations[l].data();
  static const float thetaFactors[] = {0.8f, 0.9f, 1.0f, 1.1f, 1.25f};
  static const float membraneFractions[] = {0.3f, 0.4f, 0.5f, 0.6f, 0.7f};
  for (int64_t j = 0; j < neurons; ++j) {
    float theta0 = p.thresholds[l][j], bestTheta = theta0, bestV0 = p.membranes[l][j];
    double best = neuronError(current, rows, search.steps, neurons, j, theta0, bestV0, target);
    for (float f : thetaFactors)
      for (float g : membraneFractions) {
        float theta = theta0 * f, v0 = g * theta;
        double e = neuronError(current, rows, search.steps, neurons, j, theta, v0, target);
        if (e < best)
          best = e, bestTheta = theta, bestV0 = v0;
      }
    p.thresholds[l][j] = bestTheta;
    p.membranes[l][j] = bestV0;
  }
}

} // namespace

std::optional<SpikeCalibration> calibrateSpiking(ModuleOp ann, ModuleOp snn, llvm::ArrayRef<spike::IFOp> neurons,
                                                 const SpikeCalibrationOptions &opts, std::string &error) {
  auto file = llvm::MemoryBuffer::getFile(opts.textPath);
  if (!file) {
    error = "spike: calibration: cannot read '" + opts.textPath + "': " + file.getError().message();
    return std::nullopt;
  }
  llvm::StringRef text = (*file)->getBuffer();
  Search search;
  search.window = opts.window;
  search.windows = std::min<int64_t>(opts.tokens, (int64_t)text.size()) / opts.window;
  if (search.windows < 1) {
    error = "spike: calibration: '" + opts.textPath + "' holds fewer than " + std::to_string(opts.window) + " bytes";
    return std::nullopt;
  }
  for (int64_t i = 0; i < search.windows * search.window; ++i)
    search.ids.push_back((unsigned char)text[i]);
  std::vector<std::vector<float>> unscaled;
  for (spike::IFOp op : neurons) {
    auto values = readConstantF32(spike::IFOp(op).getThreshold());
    if (!values) {
      error = "spike: calibration: a threshold is not a constant";
      return std::nullopt;
    }
    unscaled.push_back(*values);
    search.steps = cast<spike::TrainType>(spike::IFOp(op).getType()).getSteps();
  }

  Builder b(ann.getContext());
  for (size_t i = 0; i < neurons.size(); ++i)
    neurons[i]->setAttr(kLayerAttr, b.getI64IntegerAttr(i));
  OwningOpRef<ModuleOp> annCopy = ann.clone(), snnCopy = snn.clone();
  for (spike::IFOp op : neurons)
    op->removeAttr(kLayerAttr);
  if (failed(exposeNeurons(*snnCopy, neurons.size(), error)) ||
      failed(exposeActivations(*annCopy, neurons.size(), error)))
    return std::nullopt;
  std::unique_ptr<LoadedModel> annLib = LoadedModel::build(*annCopy, "sinter_spike_ann", error);
  std::unique_ptr<LoadedModel> snnLib = annLib ? LoadedModel::build(*snnCopy, "sinter_spike_snn", error) : nullptr;
  if (!snnLib) {
    error = "spike: calibration: building the models: " + error;
    return std::nullopt;
  }

  // The ANN's next-token distributions and activations, the targets.
  {
    const sinter_model *annModel = annLib->model();
    sinter_tensor in = search.idsTensor();
    Outputs out(annModel);
    sinter_error err;
    if (annModel->run(&in, 1, out.tensors.data(), annModel->num_outputs, &err) != SINTER_OK) {
      error = "spike: calibration: running the ANN failed: " + std::string(err.message);
      return std::nullopt;
    }
    search.vocab = out.tensors[0].rank == 3 ? out.tensors[0].shape[2] : 0;
    search.annLogP = logSoftmax(out.data(0), search.windows * search.window, search.vocab);
    for (size_t l = 0; l < neurons.size(); ++l)
      search.annActivations.emplace_back(out.data(1 + l), out.data(1 + l) + out.size(1 + l));
  }
  search.snn = snnLib->model();

  auto parameters = [&](const std::vector<double> &scales) {
    Parameters p;
    for (size_t l = 0; l < unscaled.size(); ++l) {
      p.thresholds.emplace_back(), p.membranes.emplace_back();
      for (float t : unscaled[l]) {
        p.thresholds[l].push_back((float)(t * scales[l]));
        p.membranes[l].push_back((float)(opts.membrane * t * scales[l]));
      }
    }
    return p;
  };
  auto klOf = [&](Parameters &p) -> std::optional<double> {
    auto out = search.run(p, error);
    return out ? std::optional<double>(search.klBits(*out)) : std::nullopt;
  };

  // Coarse: a threshold scale per layer, by coordinate search.
  SpikeCalibration result;
  result.tokens = search.windows * search.window;
  result.scales.assign(neurons.size(), 1.0);
  Parameters p = parameters(result.scales);
  auto best = klOf(p);
  if (!best)
    return std::nullopt;
  result.klBitsUnscaled = *best;
  for (int sweep = 0; sweep < opts.sweeps; ++sweep)
    for (size_t l = 0; l < neurons.size(); ++l)
      for (double candidate : opts.grid) {
        if (candidate == result.scales[l])
          continue;
        std::vector<double> scales = result.scales;
        scales[l] = candidate;
        Parameters q = parameters(scales);
        auto kl = klOf(q);
        if (!kl)
          return std::nullopt;
        if (*kl < *best)
          best = kl, result.scales = scales;
      }
  result.klBitsCoarse = *best;

  // Fine: per neuron, layer by layer on the currents the calibrated layers
  // before it give; a layer keeps the fit only if the KL drops.
  p = parameters(result.scales);
  result.fitted.assign(neurons.size(), false);
  for (size_t l = 0; opts.fine && l < neurons.size(); ++l) {
    auto out = search.run(p, error);
    if (!out)
      return std::nullopt;
    Parameters q = p;
    fitNeurons(*out, search, l, q);
    auto kl = klOf(q);
    if (!kl)
      return std::nullopt;
    if (*kl < *best)
      best = kl, p = std::move(q), result.fitted[l] = true;
  }
  auto out = search.run(p, error);
  if (!out)
    return std::nullopt;
  result.klBits = search.klBits(*out);
  result.rates = Search::rates(*out, neurons.size());
  result.thresholds = std::move(p.thresholds);
  result.membranes = std::move(p.membranes);
  llvm::errs() << "sinter-compile: spike calibration on " << result.tokens << " tokens: KL(ANN || SNN) "
               << llvm::format("%.4f", result.klBitsUnscaled) << " -> " << llvm::format("%.4f", result.klBitsCoarse)
               << " (coarse) -> " << llvm::format("%.4f", result.klBits) << " (fine) bits/token\n";
  return result;
}

} // namespace sinter
