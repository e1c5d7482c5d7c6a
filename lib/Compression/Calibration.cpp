#include "sinter/Compression/Calibration.h"

#include "sinter/Compression/FFNBlocks.h"
#include "sinter/Frontend/ONNXImporter.h"
#include "sinter/Target/HostLibrary.h"
#include "sinter/Transforms/Passes.h"
#include "sinter/runtime/sinter.h"

#include "mlir/Pass/PassManager.h"
#include "onnx/onnx_pb.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstring>

using namespace mlir;

namespace sinter {

namespace {

constexpr llvm::StringLiteral kProbePrefix = "sinter.probe.";
constexpr llvm::StringLiteral kInputPrefix = "sinter.input.";
constexpr llvm::StringLiteral kNeuronPrefix = "sinter.neurons.";
/// FFN input rows kept per layer, for the passes to test predictors on.
constexpr int64_t kInputRows = 256;

/// Makes every FFN's pre-activation, input and neurons h extra results of
/// the entry function, named after its layer; returns the layers.
FailureOr<SmallVector<FFNBlock>> exposePreActivations(ModuleOp module, std::string &error) {
  PassManager pm(module.getContext());
  pm.addPass(createRaiseActivations());
  if (failed(pm.run(module))) {
    error = "calibration: recognising activations failed";
    return failure();
  }
  auto entry = module.lookupSymbol<func::FuncOp>(kEntryName);
  if (!entry) {
    error = "calibration: the model has no entry function";
    return failure();
  }
  SmallVector<FFNBlock> blocks = findFFNBlocks(entry);
  if (blocks.empty()) {
    error = "calibration: the model has no FFN block (Linear → GELU/ReLU → Linear, or gated) to calibrate";
    return failure();
  }
  SmallVector<Value> results;
  SmallVector<DictionaryAttr> attrs;
  Builder b(module.getContext());
  auto expose = [&](Value v, llvm::StringRef prefix, const std::string &name) {
    results.push_back(v);
    attrs.push_back(b.getDictionaryAttr(b.getNamedAttr(kTensorNameAttr, b.getStringAttr(prefix + name))));
  };
  for (const FFNBlock &block : blocks) {
    expose(block.preActivation, kProbePrefix, block.name);
    expose(block.input, kInputPrefix, block.name);
    expose(block.neurons, kNeuronPrefix, block.name);
  }
  appendEntryResults(entry, results, attrs);
  return blocks;
}

/// |h| values kept per layer for its layer-wide distribution.
constexpr int64_t kMagnitudeSamples = 1 << 20;

/// The samples of one layer, appended run by run: [tokens][neurons].
struct LayerSamples {
  const FFNBlock *block;
  int output, inputOutput, neuronOutput; // the model outputs holding z, x and h
  std::vector<float> values, inputs;
  std::vector<double> magnitudeSum; // Σ|h_i| per neuron
  std::vector<float> magnitudes;    // |h| at a fixed stride, for the quantiles
  int64_t seen = 0;                 // h values offered to `magnitudes`

  /// Takes one run's h, [rows][neurons].
  void addNeurons(const float *h, int64_t rows, int64_t stride) {
    int64_t n = block->hidden;
    magnitudeSum.resize(n);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t i = 0; i < n; ++i, ++seen) {
        float a = std::fabs(h[r * n + i]);
        magnitudeSum[i] += a;
        if (seen % stride == 0)
          magnitudes.push_back(a);
      }
  }
};

LayerProfile summarise(const LayerSamples &s, int64_t levels) {
  LayerProfile p;
  p.name = s.block->name;
  p.activation = activationName(s.block->activation).str();
  p.gated = s.block->gated();
  p.neurons = s.block->hidden;
  p.samples = s.values.size() / p.neurons;
  p.inputWidth = s.block->dIn;
  p.inputs = s.inputs;
  p.mean.resize(p.neurons);
  p.quantiles.resize(p.neurons * levels);
  std::vector<float> column(p.samples);
  for (int64_t n = 0; n < p.neurons; ++n) {
    double sum = 0;
    for (int64_t t = 0; t < p.samples; ++t)
      sum += column[t] = s.values[t * p.neurons + n];
    p.mean[n] = p.samples ? (float)(sum / p.samples) : 0.0f;
    computeQuantiles(column, levels, p.quantiles.data() + n * levels);
  }
  p.magnitude.resize(p.neurons);
  for (int64_t n = 0; n < p.neurons; ++n)
    p.magnitude[n] = p.samples ? (float)(s.magnitudeSum[n] / p.samples) : 0.0f;
  std::vector<float> magnitudes = s.magnitudes;
  p.magnitudeQuantiles.resize(levels);
  computeQuantiles(magnitudes, levels, p.magnitudeQuantiles.data());
  return p;
}

/// Calibration sequences: `rows` of `length` token ids, row-major.
struct Sequences {
  std::vector<int64_t> ids;
  int64_t rows = 0, length = 0;
};

/// Text: each byte a token, cut into windows of `window` tokens.
std::optional<Sequences> textSequences(llvm::StringRef text, int64_t window, int64_t maxTokens,
                                       const std::string &path, std::string &error) {
  Sequences s;
  s.length = window;
  s.rows = std::min<int64_t>(maxTokens, text.size()) / window;
  if (s.rows == 0) {
    error = "--calibration: '" + path + "' holds fewer than " + std::to_string(window) + " bytes";
    return std::nullopt;
  }
  s.ids.resize(s.rows * window);
  for (int64_t i = 0; i < s.rows * window; ++i)
    s.ids[i] = (unsigned char)text[i];
  return s;
}

/// A serialized ONNX TensorProto of int64 token ids, [sequences, length]
/// (or one sequence, [length]); whole sequences up to `maxTokens`.
std::optional<Sequences> tensorSequences(llvm::StringRef bytes, int64_t maxTokens, const std::string &path,
                                         std::string &error) {
  onnx::TensorProto t;
  auto bad = [&](const std::string &why) {
    error = "--calibration: '" + path + "': " + why;
    return std::nullopt;
  };
  if (!t.ParseFromArray(bytes.data(), (int)bytes.size()))
    return bad("not a serialized ONNX TensorProto");
  if (t.data_type() != onnx::TensorProto::INT64 || t.dims_size() < 1 || t.dims_size() > 2)
    return bad("token ids must be an int64 tensor [sequences, length] or [length]");
  Sequences s;
  s.rows = t.dims_size() == 2 ? t.dims(0) : 1;
  s.length = t.dims(t.dims_size() - 1);
  if (s.rows <= 0 || s.length <= 0 || s.rows > ((int64_t)1 << 40) / s.length)
    return bad("the tensor is empty or too large");
  int64_t count = s.rows * s.length;
  if (t.has_raw_data()) {
    if ((int64_t)t.raw_data().size() != count * 8)
      return bad("raw_data holds " + std::to_string(t.raw_data().size()) + " bytes, the shape needs " +
                 std::to_string(count * 8));
    s.ids.resize(count);
    std::memcpy(s.ids.data(), t.raw_data().data(), count * 8);
  } else {
    if (t.int64_data_size() != count)
      return bad("int64_data holds " + std::to_string(t.int64_data_size()) + " values, the shape needs " +
                 std::to_string(count));
    s.ids.assign(t.int64_data().begin(), t.int64_data().end());
  }
  s.rows = std::max<int64_t>(1, std::min(s.rows, maxTokens / s.length));
  s.ids.resize(s.rows * s.length);
  return s;
}

/// Runs the library on the sequences and collects each layer's samples.
LogicalResult runCalibration(const sinter_model *model, const Sequences &seqs, const CalibrationOptions &opts,
                             std::vector<LayerSamples> &layers, int64_t &tokens, std::string &error) {
  const sinter_tensor_info &in = model->inputs[0];
  int64_t window = seqs.length, windows = seqs.rows;
  std::vector<sinter_tensor> outputs(model->num_outputs);
  for (int64_t first = 0; first < windows;) {
    int64_t batch = in.dims[0] > 0 ? in.dims[0] : std::min(opts.batch, windows - first);
    if (batch > windows - first)
      break; // a static batch that the remaining sequences cannot fill
    sinter_tensor input{};
    input.data = const_cast<int64_t *>(seqs.ids.data() + first * window);
    input.dtype = SINTER_INT64;
    input.rank = 2;
    input.shape[0] = batch;
    input.shape[1] = window;
    for (auto &o : outputs)
      o = sinter_tensor{};
    sinter_error err;
    if (model->run(&input, 1, outputs.data(), model->num_outputs, &err) != SINTER_OK) {
      error = "calibration: running the instrumented model failed: " + std::string(err.message);
      return failure();
    }
    for (LayerSamples &l : layers) {
      const float *data = static_cast<const float *>(outputs[l.output].data);
      l.values.insert(l.values.end(), data, data + batch * window * l.block->hidden);
      const float *x = static_cast<const float *>(outputs[l.inputOutput].data);
      int64_t rows = std::min(batch * window, kInputRows - (int64_t)l.inputs.size() / l.block->dIn);
      l.inputs.insert(l.inputs.end(), x, x + rows * l.block->dIn);
      int64_t stride = std::max<int64_t>(1, windows * window * l.block->hidden / kMagnitudeSamples);
      l.addNeurons(static_cast<const float *>(outputs[l.neuronOutput].data), batch * window, stride);
    }
    for (auto &o : outputs)
      model->free_output(o.data);
    first += batch;
    tokens = first * window;
    // One line rewritten in place on a terminal, else a line per tenth.
    int64_t total = windows * window;
    bool terminal = llvm::errs().is_displayed();
    if (opts.progress && (terminal || first == windows || (tokens * 10 / total) != ((tokens - batch * window) * 10 / total)))
      llvm::errs() << "sinter-compile: calibrating: " << tokens << "/" << total << " tokens"
                   << (terminal && first < windows ? "\r" : "\n");
  }
  if (tokens == 0) {
    error = "calibration: the model's static batch of " + std::to_string(in.dims[0]) +
            " is more than the calibration data's " + std::to_string(windows) + " sequences";
    return failure();
  }
  return success();
}

/// Checks the model's one input against the sequences: int64 ids
/// [batch, sequence], and a static sequence length must match.
LogicalResult checkInput(const sinter_model *model, Sequences &seqs, bool fromText, const CalibrationOptions &opts,
                         llvm::StringRef text, std::string &error) {
  const sinter_tensor_info &in = model->inputs[0];
  if (model->num_inputs != 1 || in.dtype != SINTER_INT64 || in.rank != 2) {
    error = "calibration: the model must take one input of int64 token ids [batch, sequence]; input '" +
            std::string(in.name) + "' is not";
    return failure();
  }
  if (in.dims[1] > 0 && in.dims[1] != seqs.length) {
    if (!fromText) {
      error = "calibration: the model's input '" + std::string(in.name) + "' takes sequences of " +
              std::to_string(in.dims[1]) + " tokens; '" + opts.dataPath + "' holds sequences of " +
              std::to_string(seqs.length);
      return failure();
    }
    auto again = textSequences(text, in.dims[1], opts.maxTokens, opts.dataPath, error);
    if (!again)
      return failure();
    seqs = std::move(*again);
  }
  return success();
}

} // namespace

void appendEntryResults(func::FuncOp entry, ArrayRef<Value> extra, ArrayRef<DictionaryAttr> attrs) {
  auto ret = cast<func::ReturnOp>(entry.getBody().back().getTerminator());
  SmallVector<Value> results(ret.getOperands());
  results.append(extra.begin(), extra.end());
  SmallVector<DictionaryAttr> all;
  entry.getAllResultAttrs(all);
  all.append(attrs.begin(), attrs.end());
  SmallVector<Type> types;
  for (Value v : results)
    types.push_back(v.getType());
  ret->setOperands(results);
  entry.setType(FunctionType::get(entry.getContext(), entry.getArgumentTypes(), types));
  entry.setAllResultAttrs(all);
}

std::optional<Profile> calibrate(ModuleOp module, const CalibrationOptions &opts, std::string &error) {
  auto file = llvm::MemoryBuffer::getFile(opts.dataPath);
  if (!file) {
    error = "--calibration: cannot read '" + opts.dataPath + "': " + file.getError().message();
    return std::nullopt;
  }
  llvm::StringRef data = (*file)->getBuffer();
  bool fromText = !llvm::StringRef(opts.dataPath).ends_with(".pb");
  auto seqs = fromText ? textSequences(data, opts.window, opts.maxTokens, opts.dataPath, error)
                       : tensorSequences(data, opts.maxTokens, opts.dataPath, error);
  if (!seqs)
    return std::nullopt;
  OwningOpRef<ModuleOp> copy = module.clone();
  auto blocks = exposePreActivations(*copy, error);
  if (failed(blocks))
    return std::nullopt;
  auto loaded = LoadedModel::build(*copy, "sinter_calibration", error);
  if (!loaded) {
    error = "calibration: building the instrumented model: " + error;
    return std::nullopt;
  }
  const sinter_model *model = loaded->model();
  std::vector<LayerSamples> layers;
  auto outputNamed = [&](const std::string &name) {
    for (int i = 0; i < model->num_outputs; ++i)
      if (name == model->outputs[i].name)
        return i;
    return -1;
  };
  for (const FFNBlock &block : *blocks) {
    int z = outputNamed((kProbePrefix + block.name).str()), x = outputNamed((kInputPrefix + block.name).str()),
        h = outputNamed((kNeuronPrefix + block.name).str());
    if (z >= 0 && x >= 0 && h >= 0)
      layers.push_back({&block, z, x, h});
  }
  Profile profile;
  profile.source = opts.dataPath;
  bool ok = layers.size() == blocks->size() && succeeded(checkInput(model, *seqs, fromText, opts, data, error)) &&
            succeeded(runCalibration(model, *seqs, opts, layers, profile.tokens, error));
  if (!ok) {
    if (error.empty())
      error = "calibration: the instrumented model does not expose its FFN pre-activations";
    return std::nullopt;
  }
  for (const LayerSamples &l : layers)
    profile.layers.push_back(summarise(l, profile.levels));
  return profile;
}

} // namespace sinter
