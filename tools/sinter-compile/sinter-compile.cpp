// sinter-compile: ONNX model → object, shared library, header, MLIR or LLVM IR.
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "sinter/Compression/Calibration.h"
#include "sinter/Compression/Evaluation.h"
#include "sinter/Compression/Methods.h"
#include "sinter/Compression/Passes.h"
#include "sinter/Training/Passes.h"
#include "sinter/Dialect/GSE/GSEDialect.h"
#include "sinter/Dialect/NN/NNDialect.h"
#include "sinter/Frontend/ONNXImporter.h"
#include "sinter/Support/ConstantData.h"
#include "sinter/Target/GPUTarget.h"
#include "sinter/Target/HostLibrary.h"
#include "sinter/Target/ObjectEmitter.h"
#include "sinter/Target/Pipeline.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Tools/Plugins/PassPlugin.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <malloc.h>
#include <map>

using namespace mlir;
using sinter::Stage;
namespace cl = llvm::cl;

static cl::OptionCategory cat("sinter-compile options");
static cl::opt<std::string> inputPath(cl::Positional, cl::desc("<model.onnx>"), cl::Required, cl::cat(cat));
static cl::opt<std::string> outputPath("o", cl::desc("Output: .so, .o (+ .h), .mlir or .ll"),
                                       cl::value_desc("file"), cl::Required, cl::cat(cat));
static cl::opt<std::string> emitStage("emit", cl::desc("Stage printed for .mlir output: nn, linalg or llvm"),
                                      cl::init("nn"), cl::cat(cat));
static cl::opt<std::string> targetTriple("target", cl::desc("Target triple (default: the host)"),
                                         cl::init(""), cl::cat(cat));
static cl::opt<std::string> targetCpu("mcpu", cl::desc("Target CPU (default: host), or GPU chip (sm_80 and up)"),
                                      cl::init("host"), cl::cat(cat));
static cl::opt<std::string> cudaPath(
    "cuda-path",
    cl::desc("GPU target: CUDA toolkit whose ptxas and fatbinary make a cubin, embedded beside the PTX (default: "
             "$CUDA_HOME, else /usr/local/cuda, where present; 'none': PTX only, compiled by the driver)"),
    cl::value_desc("dir"), cl::init(""), cl::cat(cat));
static cl::opt<unsigned> optLevel("O", cl::desc("Optimization level 0-3 (default 3)"), cl::Prefix,
                                  cl::init(3), cl::cat(cat));
static cl::opt<std::string> modelName("name", cl::desc("Name of the exported getter function"),
                                      cl::init("sinter_model"), cl::cat(cat));
static cl::opt<std::string> reportPath("report", cl::desc("Write a JSON compile report"),
                                       cl::value_desc("file.json"), cl::init(""), cl::cat(cat));
static cl::list<std::string> compressSpecs(
    "compress",
    cl::desc("Compression method and options, applied in the order given: linearize-ffn, sparsify-ffn, or one a "
             "--load-pass-plugin library registers"),
    cl::value_desc("name[:key=value,...]"), cl::cat(cat));
static cl::opt<std::string> trainLoRA(
    "train-lora",
    cl::desc("Add LoRA adapters and an in-object Adam training step (sinter_lora in sinter.h); options rank (8), "
             "alpha (16), targets (all, or node-name substrings), beta1, beta2, epsilon, moments (f32 or bf16)"),
    cl::value_desc("rank=R[,alpha=A,targets=a,b,...]"), cl::init(""), cl::ValueOptional, cl::cat(cat));
static cl::list<std::string> passPlugins(
    "load-pass-plugin", cl::desc("Load passes and compression methods from a pass plugin (repeatable)"),
    cl::value_desc("lib.so"), cl::cat(cat));
static cl::opt<std::string> calibrationPath("calibration",
                                            cl::desc("Calibration text (each byte a token) to build a profile from"),
                                            cl::value_desc("file"), cl::init(""), cl::cat(cat));
static cl::opt<int64_t> calibrationTokens("calibration-tokens", cl::desc("Tokens of calibration text to run (default 8192)"),
                                          cl::init(8192), cl::cat(cat));
static cl::opt<int64_t> calibrationWindow("calibration-window",
                                          cl::desc("Tokens per calibration sequence when the model's is symbolic (default 128)"),
                                          cl::init(128), cl::cat(cat));
static cl::opt<std::string> profilePath("profile", cl::desc("Calibration profile to use instead of calibrating"),
                                        cl::value_desc("file.json"), cl::init(""), cl::cat(cat));
static cl::opt<std::string> evalTextPath(
    "eval-text", cl::desc("Measure bits per byte of the compiled .so (and of the uncompressed model) on this text"),
    cl::value_desc("file"), cl::init(""), cl::cat(cat));
static cl::opt<int64_t> evalBytes("eval-bytes", cl::desc("Bytes of --eval-text to use, from its start (default 100000)"),
                                  cl::init(100000), cl::cat(cat));
static cl::opt<int64_t> evalContext("eval-context",
                                    cl::desc("Window of --eval-text evaluation (default: the model's static sequence "
                                             "length, else 128)"),
                                    cl::init(0), cl::cat(cat));
static cl::opt<std::string> saveProfilePath("save-profile", cl::desc("Write the calibration profile to this file"),
                                            cl::value_desc("file.json"), cl::init(""), cl::cat(cat));

namespace {

int die(const llvm::Twine &msg) {
  llvm::errs() << "sinter-compile: error: " << msg << "\n";
  return 1;
}

/// Prints diagnostics as one line each, naming the node or value at fault.
void printDiagnostic(Diagnostic &diag) {
  std::string where;
  Location loc = diag.getLocation();
  if (auto name = dyn_cast<NameLoc>(loc))
    where = name.getName().str() + ": ";
  else if (auto file = dyn_cast<FileLineColLoc>(loc))
    where = file.getFilename().str() + ": ";
  const char *kind = diag.getSeverity() == DiagnosticSeverity::Error     ? "error"
                     : diag.getSeverity() == DiagnosticSeverity::Warning ? "warning"
                                                                         : "note";
  llvm::errs() << "sinter-compile: " << kind << ": " << where << diag.str() << "\n";
  for (auto &note : diag.getNotes())
    printDiagnostic(note);
}

/// Bytes of the constants in use, each counted once however many functions
/// read it (--train-lora's entries share the model's; a compression pass
/// leaves the constants it replaced dead until lowering removes them).
int64_t weightBytes(ModuleOp module) {
  int64_t bytes = 0;
  llvm::DenseSet<Attribute> seen;
  module.walk([&](Operation *op) {
    if (op->getNumResults() && op->use_empty())
      return;
    if (auto c = dyn_cast<sinter::gse::ConstantOp>(op)) {
      // Mantissas of at most 4 bits are stored as nibbles.
      auto type = cast<sinter::gse::GSETensorType>(c.getType());
      int64_t n = cast<ShapedType>(c.getMantissas().getType()).getNumElements();
      int64_t e = cast<ShapedType>(c.getExponents().getType()).getNumElements();
      if (seen.insert(c.getMantissas()).second)
        bytes += (type.getFormat().getMantissa() <= 4 ? (n + 1) / 2 : n) + e;
      return;
    }
    for (NamedAttribute a : op->getAttrs())
      if (auto e = dyn_cast<ElementsAttr>(a.getValue()))
        if (auto t = dyn_cast<ShapedType>(e.getType()); t && seen.insert(e).second)
          bytes += t.getNumElements() * std::max<int64_t>(1, t.getElementTypeBitWidth() / 8);
  });
  return bytes;
}

std::map<std::string, int> opCounts(ModuleOp module) {
  std::map<std::string, int> counts;
  module.walk([&](Operation *op) {
    if (op->getDialect() && op->getDialect()->getNamespace() == "nn")
      counts[op->getName().getStringRef().str()]++;
  });
  return counts;
}

bool writeText(llvm::StringRef path, llvm::function_ref<void(llvm::raw_ostream &)> fn) {
  std::error_code ec;
  llvm::ToolOutputFile out(path, ec, llvm::sys::fs::OF_Text);
  if (ec) {
    die("cannot write '" + path + "': " + ec.message());
    return false;
  }
  fn(out.os());
  out.keep();
  return true;
}

/// Constants at least this large bypass LLVM IR in objects and shared
/// libraries (sinter::writeWeightsObject).
constexpr int64_t kExternalWeightBytes = 64 << 10;

/// This process's peak resident memory since exec (VmHWM); getrusage's
/// maxrss would include the parent's memory copied at fork.
int64_t peakResidentBytes() {
  auto status = llvm::MemoryBuffer::getFileAsStream("/proc/self/status");
  if (!status)
    return -1;
  llvm::StringRef text = (*status)->getBuffer();
  size_t at = text.find("VmHWM:");
  int64_t kb = -1;
  if (at != llvm::StringRef::npos && text.drop_front(at + 6).ltrim().consumeInteger(10, kb))
    return -1;
  return kb * 1024;
}

/// Report values of a compression pass's per-layer summary.
nlohmann::json toJson(Attribute attr) {
  if (auto flag = dyn_cast<BoolAttr>(attr))
    return flag.getValue();
  if (auto i = dyn_cast<IntegerAttr>(attr))
    return i.getInt();
  if (auto f = dyn_cast<FloatAttr>(attr))
    return f.getValueAsDouble();
  if (auto str = dyn_cast<StringAttr>(attr))
    return str.str();
  if (auto dict = dyn_cast<DictionaryAttr>(attr)) {
    nlohmann::json j = nlohmann::json::object();
    for (NamedAttribute a : dict)
      j[a.getName().str()] = toJson(a.getValue());
    return j;
  }
  if (auto array = dyn_cast<ArrayAttr>(attr)) {
    nlohmann::json j = nlohmann::json::array();
    for (Attribute a : array)
      j.push_back(toJson(a));
    return j;
  }
  return nullptr;
}

/// The method names --compress knows, for its errors.
std::string methodList() {
  std::string names;
  for (const sinter::CompressionMethod &m : sinter::compressionMethods())
    names += (names.empty() ? "" : ", ") + m.name;
  return names;
}

/// `pass{k=v ...}` from "k=v,k=v,..." after `args`; a piece without '='
/// continues the previous value (targets=a,b). Empty with `error` set if
/// an option is malformed.
std::string withOptions(llvm::StringRef pass, llvm::StringRef flag, llvm::StringRef options,
                        llvm::SmallVector<std::string> args, std::string &error) {
  llvm::SmallVector<llvm::StringRef> pairs;
  options.split(pairs, ',', -1, /*KeepEmpty=*/false);
  size_t fixed = args.size();
  for (llvm::StringRef kv : pairs) {
    if (kv.contains(' ') || kv.contains('{') || kv.contains('}') || kv.starts_with("profile=") ||
        (!kv.contains('=') && args.size() == fixed)) {
      error = flag.str() + ": '" + kv.str() + "' is not key=value";
      return "";
    }
    if (kv.contains('='))
      args.push_back(kv.str());
    else
      args.back() += "," + kv.str();
  }
  return args.empty() ? pass.str() : pass.str() + "{" + llvm::join(args, " ") + "}";
}

/// The pass for one --compress=NAME[:k=v,...]; empty with `error` set if
/// the method is unknown or its options are malformed.
std::string compressionPass(llvm::StringRef spec, llvm::StringRef profile, std::string &error) {
  auto [name, options] = spec.split(':');
  auto method = sinter::lookupCompressionMethod(name);
  if (!method) {
    error = "--compress: unknown method '" + name.str() + "' (available: " + methodList() + ")";
    return "";
  }
  if (method->readsProfile && profile.empty()) {
    error = "--compress=" + name.str() + " needs calibration statistics: give --calibration=FILE or --profile=FILE";
    return "";
  }
  llvm::SmallVector<std::string> args;
  if (method->readsProfile)
    args.push_back("profile=" + profile.str());
  return withOptions(method->passArgument, "--compress=" + spec.str(), options, args, error);
}

/// Loads the --load-pass-plugin libraries, registering their passes and
/// compression methods; false (after printing why) if one fails.
bool loadPassPlugins() {
  for (const std::string &path : passPlugins) {
    auto plugin = mlir::PassPlugin::load(path);
    if (!plugin)
      return !die("--load-pass-plugin=" + path + ": " + llvm::toString(plugin.takeError()));
    plugin->registerPassRegistryCallbacks();
  }
  return true;
}

/// Bits per byte of the library at `path` on the --eval-text.
std::optional<sinter::BitsPerByte> evaluateLibrary(llvm::StringRef path, llvm::StringRef name, llvm::StringRef text,
                                                   std::string &error) {
  auto loaded = sinter::LoadedModel::load(path, name, error);
  if (!loaded)
    return std::nullopt;
  int64_t seq = loaded->model()->num_inputs == 1 && loaded->model()->inputs[0].rank == 2
                    ? loaded->model()->inputs[0].dims[1]
                    : -1;
  int64_t context = evalContext > 0 ? evalContext.getValue() : seq > 0 ? seq : 128;
  return sinter::bitsPerByte(loaded->model(), text, context, error);
}

/// --eval-text: the compiled model's held-out bits per byte, and the
/// uncompressed model's when `dense` (a copy taken before compression) is
/// given; both into the report.
bool evaluate(ModuleOp dense, nlohmann::json &accuracy) {
  auto file = llvm::MemoryBuffer::getFile(evalTextPath);
  if (!file)
    return !die("--eval-text: cannot read '" + evalTextPath + "': " + file.getError().message());
  llvm::StringRef text = (*file)->getBuffer().take_front(evalBytes);
  std::string error;
  auto compiled = evaluateLibrary(outputPath, modelName, text, error);
  if (!compiled)
    return !die("--eval-text: " + error);
  accuracy = {{"text", evalTextPath.getValue()}, {"bytes_predicted", compiled->bytes},
              {"bits_per_byte", compiled->bits}};
  std::string line = "sinter-compile: " + evalTextPath + ": " + std::to_string(compiled->bits) + " bits/byte";
  if (dense) {
    llvm::SmallString<256> tmp;
    if (auto ec = llvm::sys::fs::createTemporaryFile("sinter-dense", "so", tmp))
      return !die("cannot create a temporary file: " + ec.message());
    llvm::FileRemover remover(tmp);
    std::optional<sinter::BitsPerByte> reference;
    if (failed(sinter::buildHostLibrary(dense, "sinter_dense", tmp, error)) ||
        !(reference = evaluateLibrary(tmp, "sinter_dense", text, error)))
      return !die("--eval-text: the uncompressed model: " + error);
    accuracy["uncompressed_bits_per_byte"] = reference->bits;
    line += " (uncompressed " + std::to_string(reference->bits) + ")";
  }
  llvm::errs() << line << "\n";
  return true;
}

/// Calibrates or loads the profile that compression passes read; returns
/// its path ("" if none is needed).
std::optional<std::string> prepareProfile(ModuleOp module, llvm::SmallString<256> &tmpProfile) {
  if (!profilePath.empty() && !calibrationPath.empty()) {
    die("--profile and --calibration exclude each other: a profile is the result of a calibration");
    return std::nullopt;
  }
  if (!saveProfilePath.empty() && calibrationPath.empty()) {
    die("--save-profile needs --calibration=FILE");
    return std::nullopt;
  }
  if (calibrationTokens <= 0 || calibrationWindow <= 0) {
    die(calibrationTokens <= 0 ? "--calibration-tokens must be positive" : "--calibration-window must be positive");
    return std::nullopt;
  }
  if (calibrationPath.empty())
    return profilePath.getValue();
  sinter::CalibrationOptions copts;
  copts.dataPath = calibrationPath;
  copts.maxTokens = calibrationTokens;
  copts.window = calibrationWindow;
  std::string error;
  auto profile = sinter::calibrate(module, copts, error);
  if (!profile) {
    die(error);
    return std::nullopt;
  }
  std::string path = saveProfilePath;
  if (path.empty()) {
    if (auto ec = llvm::sys::fs::createTemporaryFile("sinter-profile", "json", tmpProfile)) {
      die("cannot create a temporary file: " + ec.message());
      return std::nullopt;
    }
    path = tmpProfile.str().str();
  }
  if (!sinter::writeProfile(*profile, path, error)) {
    die(error);
    return std::nullopt;
  }
  return path;
}

/// The GPU target has kernels for dense nn ops only: a call into the CPU
/// runtime (the kernels of compression methods) left at the linalg stage
/// has no GPU counterpart yet.
LogicalResult checkGPUKernelsExist(ModuleOp module) {
  WalkResult walk = module.walk([](func::CallOp call) {
    if (!call.getCallee().starts_with("__sinter_"))
      return WalkResult::advance();
    call.emitError() << "the GPU target has no kernel for " << call.getCallee()
                     << " (a compression method's CPU kernel); compile for the CPU";
    return WalkResult::interrupt();
  });
  return failure(walk.wasInterrupted());
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  // Weights are large blocks freed as the compiler goes (packed originals,
  // each blob once written). glibc raises its mmap threshold each time such
  // a block is freed, so later ones would stay in the heap and count against
  // peak memory; a fixed threshold returns each to the OS.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  // MLIR's pass-manager flags (--mlir-timing, --mlir-print-ir-after-all,
  // ...) apply to every pass pipeline the compiler runs.
  sinter::registerPassManagerOptions();
  cl::HideUnrelatedOptions(cat);
  cl::ParseCommandLineOptions(argc, argv, "Sinter ahead-of-time ONNX compiler\n");
  auto start = std::chrono::steady_clock::now();
  if (!loadPassPlugins())
    return 1;

  llvm::StringRef ext = llvm::sys::path::extension(outputPath);
  bool gpu = sinter::isNVPTXTriple(targetTriple);
  if ((ext != ".so" && ext != ".o" && ext != ".mlir" && ext != ".ll" && ext != ".ptx") || (!gpu && ext == ".ptx"))
    return die("-o: unknown output extension '" + ext + "' (use .so, .o, .mlir or .ll; .ptx with "
               "--target=nvptx64-nvidia-cuda)");
  Stage emit;
  if (emitStage == "nn")
    emit = Stage::NN;
  else if (emitStage == "linalg")
    emit = Stage::Linalg;
  else if (emitStage == "llvm")
    emit = Stage::LLVM;
  else
    return die("--emit: unknown stage '" + emitStage + "' (use nn, linalg or llvm)");
  if (optLevel > 3)
    return die("-O: level must be 0..3");
  if (modelName.empty() || !(std::isalpha((unsigned char)modelName[0]) || modelName[0] == '_') ||
      !llvm::all_of(modelName, [](char c) { return std::isalnum((unsigned char)c) || c == '_'; }))
    return die("--name: '" + modelName + "' is not a C identifier");

  sinter::TargetOptions topts{targetTriple, targetCpu, optLevel, modelName};
  std::string toolkit;
  if (gpu) {
    // A GPU object's host code is for this machine; its kernels for the chip.
    std::string error;
    if (!(topts.gpuSM = sinter::checkNVPTXChip(targetCpu, error)))
      return die(error);
    topts.triple = "";
    topts.cpu = "host";
    toolkit = sinter::findCUDAToolkit(cudaPath, error);
    if (!error.empty())
      return die(error);
    if (trainLoRA.getNumOccurrences())
      return die("--train-lora: the GPU target has no training entries yet; compile for the CPU");
  } else if (cudaPath.getNumOccurrences()) {
    return die("--cuda-path: only the GPU target (--target=nvptx64-nvidia-cuda) uses a CUDA toolkit");
  }
  if (std::string error; ext != ".mlir" && ext != ".ptx" && failed(sinter::checkTarget(topts, ext == ".so", error)))
    return die(error);

  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllToLLVMIRTranslations(registry);
  registry.insert<sinter::nn::NNDialect>();
  sinter::registerCompressionPasses();
  sinter::registerTrainingPasses();
  MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();
  ScopedDiagnosticHandler handler(&ctx, [](Diagnostic &d) {
    printDiagnostic(d);
    return success();
  });

  OwningOpRef<ModuleOp> module = sinter::importONNXFile(ctx, inputPath);
  if (!module || failed(verify(*module)))
    return 1;
  auto counts = opCounts(*module);
  int64_t weights = weightBytes(*module);

  if (!evalTextPath.empty() && ext != ".so")
    return die("--eval-text needs -o FILE.so: the compiled model is run in this process");
  if (evalBytes < 2 || evalContext < 0)
    return die(evalBytes < 2 ? "--eval-bytes must be at least 2" : "--eval-context must be positive");
  OwningOpRef<ModuleOp> uncompressed;
  if (!evalTextPath.empty() && !compressSpecs.empty())
    uncompressed = module->clone();

  // Calibration and compression, on the nn module.
  llvm::SmallString<256> tmpProfile;
  auto profile = prepareProfile(*module, tmpProfile);
  if (!profile)
    return 1;
  llvm::FileRemover profileRemover(tmpProfile);
  // Compression, then --train-lora (it adapts whatever linears are left).
  struct PassStage {
    std::string flag, text, error;
  };
  std::vector<PassStage> stages;
  for (const std::string &spec : compressSpecs) {
    PassStage &st = stages.emplace_back();
    st.flag = "--compress=" + spec;
    st.text = compressionPass(spec, *profile, st.error);
  }
  if (trainLoRA.getNumOccurrences()) {
    PassStage &st = stages.emplace_back();
    st.flag = "--train-lora=" + trainLoRA;
    st.text = withOptions("sinter-add-lora-training", "--train-lora", trainLoRA, {}, st.error);
  }
  if (!stages.empty()) {
    PassManager pm(&ctx);
    if (failed(sinter::applyCommandLineOptions(pm)))
      return die("invalid pass-manager options");
    for (const PassStage &st : stages) {
      std::string parseErrors;
      llvm::raw_string_ostream errs(parseErrors);
      if (st.text.empty())
        return die(st.error);
      if (failed(parsePassPipeline(st.text, pm, errs)))
        return die(st.flag + ": " + llvm::StringRef(parseErrors).trim());
    }
    if (failed(pm.run(*module)))
      return die(trainLoRA.getNumOccurrences() ? "compression or --train-lora failed" : "compression failed");
  }
  int64_t compressedWeights = weightBytes(*module);
  ArrayAttr compression = (*module)->getAttrOfType<ArrayAttr>(sinter::kCompressionReportAttr);
  (*module)->removeAttr(sinter::kCompressionReportAttr);

  // Describe the ABI at the tensor level, after run-time checks are added.
  Stage stop = ext == ".mlir" ? emit : Stage::LLVM;
  if (stop != Stage::NN)
    sinter::markEntriesForC(*module);
  if (stop != Stage::NN && failed(sinter::lowerModule(*module, Stage::NN, Stage::Linalg, 0, false, /*cpuKernels=*/!gpu)))
    return die("lowering to linalg failed");
  auto abi = sinter::describeModel(*module);
  if (failed(abi))
    return 1;
  int64_t panelWidth = gpu ? 0 : sinter::gemmPanelWidth(sinter::runtimeVariant(topts));
  // Weights are freed as they are packed unless a copy for --eval-text
  // shares them.
  std::optional<sinter::GPUKernels> kernels;
  if (gpu && stop == Stage::LLVM) {
    if (failed(checkGPUKernelsExist(*module)))
      return 1;
    // .ptx: the kernels alone; otherwise the image as the object needs it.
    auto lowered = sinter::lowerToGPUKernels(*module, targetCpu, ext == ".ptx" ? "" : toolkit);
    if (failed(lowered))
      return die("lowering to GPU kernels failed");
    kernels = std::move(*lowered);
    if (kernels->hostLoops > 0)
      llvm::errs() << "sinter-compile: warning: " << kernels->hostLoops
                   << " parallel loop(s) found no GPU mapping and run on the host (report: gpu_host_loops)\n";
    if (ext == ".ptx" && kernels->image.empty())
      return die("-o: the model has no GPU kernels to write (all its work is host code)");
    if (ext == ".ptx" && !writeText(outputPath, [&](llvm::raw_ostream &os) { os << kernels->image; }))
      return 1;
    if (ext != ".ptx" && failed(sinter::lowerGPUHost(*module)))
      return die("lowering the GPU host code to LLVM failed");
  } else if (stop == Stage::LLVM &&
             failed(sinter::lowerModule(*module, Stage::Linalg, Stage::LLVM, panelWidth,
                                        /*releasePackedWeights=*/!uncompressed))) {
    return die("lowering to LLVM failed");
  }

  if (ext == ".ptx") {
    // Written above.
  } else if (ext == ".mlir") {
    if (!writeText(outputPath, [&](llvm::raw_ostream &os) { module->print(os); }))
      return 1;
  } else {
    // For an object or a shared library the weights go into an object of
    // their own, written first, straight from their blobs (freed as written
    // unless the --eval-text copy shares them); LLVM IR then holds only
    // declarations, and the two objects are linked into the output.
    llvm::SmallString<256> weightsObject;
    std::optional<llvm::FileRemover> weightsRemover;
    if (ext != ".ll") {
      auto weights = sinter::externalizeWeights(*module, kExternalWeightBytes, topts.modelName);
      if (!weights.empty()) {
        if (auto ec = llvm::sys::fs::createTemporaryFile("sinter-weights", "o", weightsObject))
          return die("cannot create a temporary file: " + ec.message());
        weightsRemover.emplace(weightsObject);
        std::string error;
        if (failed(sinter::writeWeightsObject(weights, topts, weightsObject, /*release=*/!uncompressed, error)))
          return die(error);
      }
    }
    llvm::LLVMContext llvmCtx;
    auto llvmModule = sinter::buildLLVMModule(*module, *abi, topts, llvmCtx);
    if (failed(llvmModule))
      return 1;
    // The LLVM module holds its own copy of the weights now. (A copy taken
    // for --eval-text shares the blobs and still needs them.)
    if (!uncompressed)
      sinter::releaseResourceBlobs(*module);
    std::string error;
    if (ext == ".ll") {
      if (!writeText(outputPath, [&](llvm::raw_ostream &os) { (*llvmModule)->print(os, nullptr); }))
        return 1;
    } else if (ext == ".o") {
      if (weightsObject.empty()) {
        if (failed(sinter::writeObject(**llvmModule, topts, outputPath, error)))
          return die(error);
      } else {
        llvm::SmallString<256> code;
        if (auto ec = llvm::sys::fs::createTemporaryFile("sinter", "o", code))
          return die("cannot create a temporary file: " + ec.message());
        llvm::FileRemover codeRemover(code);
        if (failed(sinter::writeObject(**llvmModule, topts, code, error)) ||
            failed(sinter::linkRelocatable({code.str(), weightsObject.str()}, outputPath, topts, error)))
          return die(error);
      }
      llvm::SmallString<256> header(outputPath);
      llvm::sys::path::replace_extension(header, ".h");
      if (!writeText(header, [&](llvm::raw_ostream &os) { os << sinter::generateHeader(*abi, topts); }))
        return 1;
    } else {
      llvm::SmallString<256> tmp;
      if (auto ec = llvm::sys::fs::createTemporaryFile("sinter", "o", tmp))
        return die("cannot create a temporary file: " + ec.message());
      llvm::FileRemover remover(tmp);
      llvm::SmallVector<llvm::StringRef> objects{tmp};
      if (!weightsObject.empty())
        objects.push_back(weightsObject);
      if (failed(sinter::writeObject(**llvmModule, topts, tmp, error)) ||
          failed(sinter::linkSharedLibrary(objects, outputPath, topts, error)))
        return die(error);
    }
  }

  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  nlohmann::json accuracy;
  if (!evalTextPath.empty() && !evaluate(uncompressed ? *uncompressed : ModuleOp(), accuracy))
    return 1;
  if (!reportPath.empty()) {
    nlohmann::json report;
    report["model"] = inputPath.getValue();
    report["output"] = outputPath.getValue();
    report["target"] = targetTriple.empty() ? "host" : targetTriple.getValue();
    report["cpu"] = targetCpu.getValue();
    report["opt_level"] = optLevel.getValue();
    report["compile_seconds"] = seconds;
    if (kernels) {
      report["gpu_kernel_launches"] = kernels->launches;
      report["gpu_host_loops"] = kernels->hostLoops;
      report["gpu_image"] = {{"format", kernels->fatbin ? "fatbin" : "ptx"}, {"bytes", kernels->image.size()}};
    }
    report["peak_rss_bytes"] = peakResidentBytes();
    report["weight_bytes"] = weights;
    report["weight_bytes_compiled"] = compressedWeights;
    if (compression)
      report["compression"] = toJson(compression);
    if (!accuracy.is_null())
      report["accuracy"] = accuracy;
    report["ops"] = counts;
    for (const auto *list : {&abi->inputs, &abi->outputs})
      for (const auto &t : *list)
        report[list == &abi->inputs ? "inputs" : "outputs"].push_back(
            {{"name", t.name}, {"dtype", t.dtype}, {"dims", t.dims}, {"dim_names", t.dimNames}});
    if (!writeText(reportPath, [&](llvm::raw_ostream &os) { os << report.dump(2) << "\n"; }))
      return 1;
  }
  return 0;
}
