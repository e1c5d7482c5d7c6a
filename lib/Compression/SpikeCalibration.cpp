// Coarse calibration of spiking conversion: the ANN and a copy of the SNN
// whose thresholds and membranes are inputs are built into libraries for
// this machine once; a coordinate search then runs the SNN with candidate
// per-layer threshold scales on calibration text and keeps the scales with
// the smallest KL(ANN ‖ SNN) (include/sinter/Compression/SpikeCalibration.h).
#include "sinter/Compression/SpikeCalibration.h"

#include "sinter/Frontend/ONNXImporter.h"
#include "sinter/Support/ConstantData.h"
#include "sinter/Target/HostLibrary.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Matchers.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

using namespace mlir;

namespace sinter {
namespace {

constexpr llvm::StringLiteral kLayerAttr = "sinter.spike_layer";

/// A library built from a copy of a module, loaded, its file removed.
struct BuiltModel {
  llvm::SmallString<256> path;
  std::unique_ptr<LoadedModel> loaded;
  ~BuiltModel() {
    loaded.reset();
    if (!path.empty())
      llvm::sys::fs::remove(path);
  }
};

LogicalResult build(ModuleOp module, llvm::StringRef name, BuiltModel &out, std::string &error) {
  if (auto ec = llvm::sys::fs::createTemporaryFile(name, "so", out.path)) {
    error = "spike calibration: cannot create a temporary file: " + ec.message();
    return failure();
  }
  if (failed(buildHostLibrary(module, name, out.path, error)))
    return failure();
  out.loaded = LoadedModel::load(out.path, name, error);
  return success(out.loaded != nullptr);
}

/// Makes every tagged layer's threshold and membrane inputs of the entry
/// (after the token ids) and its spikes' values extra outputs.
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
  auto ret = cast<func::ReturnOp>(entry.getBody().back().getTerminator());
  SmallVector<Value> results(ret.getOperands());
  for (size_t i = 0; i < neurons.size(); ++i) {
    spike::IFOp op = neurons[i];
    auto type = op.getThreshold().getType();
    auto named = [&](llvm::StringRef what) {
      return b.getDictionaryAttr(
          b.getNamedAttr(kTensorNameAttr, b.getStringAttr("sinter.spike." + what.str() + "." + std::to_string(i))));
    };
    if (failed(entry.insertArgument(entry.getNumArguments(), type, named("threshold"), op.getLoc())) ||
        failed(entry.insertArgument(entry.getNumArguments(), type, named("membrane"), op.getLoc()))) {
      error = "spike calibration: cannot add the thresholds as inputs";
      return failure();
    }
    Value theta = entry.getArgument(entry.getNumArguments() - 2), v0 = entry.getArgument(entry.getNumArguments() - 1);
    op.getThresholdMutable().assign(theta);
    op.getMembraneMutable().assign(v0);
    for (Operation *user : op->getUsers()) {
      auto values = dyn_cast<spike::ValuesOp>(user);
      if (!values) {
        error = "spike calibration: spikes must be read by spike.values before fusion";
        return failure();
      }
      values.getThresholdMutable().assign(theta);
      results.push_back(values);
    }
  }
  SmallVector<Type> types;
  for (Value v : results)
    types.push_back(v.getType());
  SmallVector<DictionaryAttr> attrs;
  entry.getAllResultAttrs(attrs);
  for (size_t i = attrs.size(); i < results.size(); ++i)
    attrs.push_back(b.getDictionaryAttr(
        b.getNamedAttr(kTensorNameAttr, b.getStringAttr("sinter.spike.values." + std::to_string(i)))));
  ret->setOperands(results);
  entry.setType(b.getFunctionType(entry.getArgumentTypes(), types));
  entry.setAllResultAttrs(attrs);
  return success();
}

/// The elements of a constant f32 tensor.
std::optional<std::vector<float>> readF32Values(Value v) {
  Attribute attr;
  if (!matchPattern(v, m_Constant(&attr)))
    return std::nullopt;
  return readF32(attr);
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

/// The SNN's runs: token ids and the per-layer unscaled thresholds.
struct Search {
  const sinter_model *snn;
  std::vector<int64_t> ids;
  int64_t windows, window, vocab = 0;
  std::vector<double> annLogP;
  std::vector<std::vector<float>> thetas; // unscaled, per neuron
  double membrane;

  /// Mean KL(ANN ‖ SNN) per token in bits, and each layer's firing rate.
  std::optional<std::pair<double, std::vector<double>>> run(const std::vector<double> &scales, std::string &error) {
    size_t layers = thetas.size();
    std::vector<std::vector<float>> th(layers), v0(layers);
    std::vector<sinter_tensor> inputs(1 + 2 * layers);
    inputs[0] = sinter_tensor{};
    inputs[0].data = ids.data();
    inputs[0].dtype = SINTER_INT64;
    inputs[0].rank = 2;
    inputs[0].shape[0] = windows;
    inputs[0].shape[1] = window;
    for (size_t l = 0; l < layers; ++l) {
      for (float t : thetas[l]) {
        th[l].push_back((float)(t * scales[l]));
        v0[l].push_back((float)(membrane * t * scales[l]));
      }
      for (int k = 0; k < 2; ++k) {
        sinter_tensor &in = inputs[1 + 2 * l + k];
        in = sinter_tensor{};
        in.data = (k ? v0[l] : th[l]).data();
        in.dtype = SINTER_FLOAT32;
        in.rank = 1;
        in.shape[0] = (int64_t)thetas[l].size();
      }
    }
    std::vector<sinter_tensor> outputs(snn->num_outputs);
    sinter_error err;
    if (snn->run(inputs.data(), (int)inputs.size(), outputs.data(), snn->num_outputs, &err) != SINTER_OK) {
      error = "spike calibration: running the SNN failed: " + std::string(err.message);
      return std::nullopt;
    }
    int64_t rows = windows * window;
    std::vector<double> logP = logSoftmax(static_cast<const float *>(outputs[0].data), rows, vocab);
    double kl = 0;
    for (int64_t i = 0; i < rows * vocab; ++i)
      kl += std::exp(annLogP[i]) * (annLogP[i] - logP[i]);
    std::vector<double> rates;
    for (int o = 1; o < snn->num_outputs; ++o) {
      const sinter_tensor &v = outputs[o];
      int64_t n = 1, fired = 0;
      for (int d = 0; d < v.rank; ++d)
        n *= v.shape[d];
      for (int64_t i = 0; i < n; ++i)
        fired += static_cast<const float *>(v.data)[i] != 0.0f;
      rates.push_back(n ? (double)fired / n : 0.0);
    }
    for (auto &o : outputs)
      snn->free_output(o.data);
    return std::make_pair(kl / rows / std::log(2.0), rates);
  }
};

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
  search.membrane = opts.membrane;
  for (spike::IFOp op : neurons) {
    auto values = readF32Values(spike::IFOp(op).getThreshold());
    if (!values) {
      error = "spike: calibration: a threshold is not a constant";
      return std::nullopt;
    }
    search.thetas.push_back(*values);
  }

  Builder b(ann.getContext());
  for (size_t i = 0; i < neurons.size(); ++i)
    neurons[i]->setAttr(kLayerAttr, b.getI64IntegerAttr(i));
  OwningOpRef<ModuleOp> annCopy = ann.clone(), snnCopy = snn.clone();
  for (spike::IFOp op : neurons)
    op->removeAttr(kLayerAttr);
  BuiltModel annLib, snnLib;
  if (failed(exposeNeurons(*snnCopy, neurons.size(), error)) ||
      failed(build(annCopy.release(), "sinter_spike_ann", annLib, error)) ||
      failed(build(snnCopy.release(), "sinter_spike_snn", snnLib, error)))
    return std::nullopt;

  // The ANN's next-token distributions, the target.
  const sinter_model *annModel = annLib.loaded->model();
  sinter_tensor in{};
  in.data = search.ids.data();
  in.dtype = SINTER_INT64;
  in.rank = 2;
  in.shape[0] = search.windows;
  in.shape[1] = search.window;
  std::vector<sinter_tensor> outputs(annModel->num_outputs);
  sinter_error err;
  if (annModel->run(&in, 1, outputs.data(), annModel->num_outputs, &err) != SINTER_OK) {
    error = "spike: calibration: running the ANN failed: " + std::string(err.message);
    return std::nullopt;
  }
  search.vocab = outputs[0].rank == 3 ? outputs[0].shape[2] : 0;
  search.annLogP = logSoftmax(static_cast<const float *>(outputs[0].data), search.windows * search.window,
                              search.vocab);
  for (auto &o : outputs)
    annModel->free_output(o.data);
  search.snn = snnLib.loaded->model();

  SpikeCalibration result;
  result.tokens = search.windows * search.window;
  result.scales.assign(neurons.size(), 1.0);
  auto best = search.run(result.scales, error);
  if (!best)
    return std::nullopt;
  result.klBitsUnscaled = best->first;
  for (int sweep = 0; sweep < opts.sweeps; ++sweep)
    for (size_t l = 0; l < neurons.size(); ++l)
      for (double candidate : opts.grid) {
        if (candidate == result.scales[l])
          continue;
        std::vector<double> scales = result.scales;
        scales[l] = candidate;
        auto tried = search.run(scales, error);
        if (!tried)
          return std::nullopt;
        if (tried->first < best->first) {
          best = tried;
          result.scales = scales;
        }
      }
  result.klBits = best->first;
  result.rates = best->second;
  llvm::errs() << "sinter-compile: spike calibration on " << result.tokens << " tokens: KL(ANN || SNN) "
               << llvm::format("%.4f", result.klBitsUnscaled) << " -> " << llvm::format("%.4f", result.klBits)
               << " bits/token\n";
  return result;
}

} // namespace sinter
