#include "sinter/Compression/Calibration.h"

#include "sinter/Compression/FFNBlocks.h"
#include "sinter/Frontend/ONNXImporter.h"
#include "sinter/Target/Pipeline.h"
#include "sinter/Transforms/Passes.h"
#include "sinter/runtime/sinter.h"

#include "mlir/Pass/PassManager.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <dlfcn.h>

using namespace mlir;

namespace sinter {

namespace {

constexpr llvm::StringLiteral kProbePrefix = "sinter.probe.";

/// Makes every FFN pre-activation an extra result of the entry function,
/// named after its layer; returns the layers in result order.
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
    error = "calibration: the model has no Linear → GELU/ReLU → Linear block to calibrate";
    return failure();
  }
  auto ret = cast<func::ReturnOp>(entry.getBody().back().getTerminator());
  SmallVector<Value> results(ret.getOperands());
  SmallVector<Type> types(entry.getResultTypes());
  SmallVector<DictionaryAttr> attrs;
  entry.getAllResultAttrs(attrs);
  Builder b(module.getContext());
  for (const FFNBlock &block : blocks) {
    results.push_back(block.preActivation);
    types.push_back(block.preActivation.getType());
    attrs.push_back(b.getDictionaryAttr(b.getNamedAttr(kTensorNameAttr, b.getStringAttr(kProbePrefix + block.name))));
  }
  ret->setOperands(results);
  entry.setType(b.getFunctionType(entry.getArgumentTypes(), types));
  entry.setAllResultAttrs(attrs);
  return blocks;
}

/// Compiles the instrumented module into a shared library at `path`.
LogicalResult buildLibrary(ModuleOp module, llvm::StringRef path, std::string &error) {
  TargetOptions topts{"", "host", 3, "sinter_calibration"};
  auto entry = module.lookupSymbol<func::FuncOp>(kEntryName);
  entry->setAttr("llvm.emit_c_interface", UnitAttr::get(module.getContext()));
  if (failed(lowerModule(module, Stage::NN, Stage::Linalg))) {
    error = "calibration: lowering the instrumented model failed";
    return failure();
  }
  auto abi = describeModel(module);
  if (failed(abi) || failed(lowerModule(module, Stage::Linalg, Stage::LLVM, gemmPanelWidth(runtimeVariant(topts))))) {
    error = "calibration: lowering the instrumented model failed";
    return failure();
  }
  llvm::LLVMContext llvmCtx;
  auto llvmModule = buildLLVMModule(module, *abi, topts, llvmCtx);
  if (failed(llvmModule)) {
    error = "calibration: building the instrumented model failed";
    return failure();
  }
  llvm::SmallString<256> object;
  if (auto ec = llvm::sys::fs::createTemporaryFile("sinter-calibration", "o", object)) {
    error = "calibration: cannot create a temporary file: " + ec.message();
    return failure();
  }
  llvm::FileRemover remover(object);
  if (failed(writeObject(**llvmModule, topts, object, error)) ||
      failed(linkSharedLibrary(object, path, topts, error)))
    return failure();
  return success();
}

/// The samples of one layer, appended run by run: [tokens][neurons].
struct LayerSamples {
  const FFNBlock *block;
  int output; // the model output holding it
  std::vector<float> values;
};

LayerProfile summarise(const LayerSamples &s, int64_t levels) {
  LayerProfile p;
  p.name = s.block->name;
  p.activation = activationName(s.block->activation).str();
  p.neurons = s.block->hidden;
  p.samples = s.values.size() / p.neurons;
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
  return p;
}

/// Runs the library on the text and collects each layer's samples.
LogicalResult runCalibration(const sinter_model *model, llvm::StringRef text, const CalibrationOptions &opts,
                             std::vector<LayerSamples> &layers, int64_t &tokens, std::string &error) {
  const sinter_tensor_info &in = model->inputs[0];
  if (model->num_inputs != 1 || in.dtype != SINTER_INT64 || in.rank != 2) {
    error = "calibration: text calibration needs a model whose one input is int64 token ids "
            "[batch, sequence]; input '" + std::string(in.name) + "' is not";
    return failure();
  }
  int64_t window = in.dims[1] > 0 ? in.dims[1] : opts.window;
  int64_t windows = std::min<int64_t>(opts.maxTokens, text.size()) / window;
  if (windows == 0) {
    error = "calibration: '" + opts.dataPath + "' holds fewer than " + std::to_string(window) + " bytes";
    return failure();
  }
  std::vector<int64_t> ids;
  std::vector<sinter_tensor> outputs(model->num_outputs);
  for (int64_t first = 0; first < windows;) {
    int64_t batch = in.dims[0] > 0 ? in.dims[0] : std::min(opts.batch, windows - first);
    batch = std::min(batch, windows - first);
    if (in.dims[0] > 0 && batch != in.dims[0])
      break; // a static batch that the remaining text cannot fill
    ids.assign(batch * window, 0);
    for (int64_t i = 0; i < batch * window; ++i)
      ids[i] = (unsigned char)text[first * window + i];
    sinter_tensor input{};
    input.data = ids.data();
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
  return success();
}

} // namespace

std::optional<Profile> calibrate(ModuleOp module, const CalibrationOptions &opts, std::string &error) {
  auto text = llvm::MemoryBuffer::getFile(opts.dataPath);
  if (!text) {
    error = "--calibration: cannot read '" + opts.dataPath + "': " + text.getError().message();
    return std::nullopt;
  }
  OwningOpRef<ModuleOp> copy = module.clone();
  auto blocks = exposePreActivations(*copy, error);
  if (failed(blocks))
    return std::nullopt;
  llvm::SmallString<256> library;
  if (auto ec = llvm::sys::fs::createTemporaryFile("sinter-calibration", "so", library)) {
    error = "calibration: cannot create a temporary file: " + ec.message();
    return std::nullopt;
  }
  llvm::FileRemover remover(library);
  if (failed(buildLibrary(*copy, library, error)))
    return std::nullopt;
  void *handle = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    error = std::string("calibration: cannot load the instrumented model: ") + dlerror();
    return std::nullopt;
  }
  auto getter = reinterpret_cast<const sinter_model *(*)()>(dlsym(handle, "sinter_calibration"));
  const sinter_model *model = getter ? getter() : nullptr;
  std::vector<LayerSamples> layers;
  for (const FFNBlock &block : *blocks)
    for (int i = 0; model && i < model->num_outputs; ++i)
      if (llvm::StringRef(model->outputs[i].name) == (kProbePrefix + block.name).str())
        layers.push_back({&block, i, {}});
  Profile profile;
  profile.source = opts.dataPath;
  bool ok = model && layers.size() == blocks->size() &&
            succeeded(runCalibration(model, (*text)->getBuffer(), opts, layers, profile.tokens, error));
  dlclose(handle);
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
