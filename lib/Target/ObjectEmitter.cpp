// LLVM IR → optimized object through LLVM's TargetMachine (in process), the
// shared-library link, and the generated C header.
#include "sinter/Target/ObjectEmitter.h"

#include "llvm/IR/LegacyPassManager.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/TargetParser/SubtargetFeature.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

#include <mutex>

using namespace mlir;

namespace sinter {

std::unique_ptr<llvm::TargetMachine> createTargetMachine(const TargetOptions &opts, std::string &error) {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeAllTargetInfos();
    llvm::InitializeAllTargets();
    llvm::InitializeAllTargetMCs();
    llvm::InitializeAllAsmPrinters();
    llvm::InitializeAllAsmParsers(); // inline asm in linked bitcode
  });
  llvm::Triple triple(opts.triple.empty() ? llvm::sys::getDefaultTargetTriple() : opts.triple);
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return nullptr;
  bool host = opts.cpu.empty() || opts.cpu == "host";
  bool native = triple.getArch() == llvm::Triple(llvm::sys::getDefaultTargetTriple()).getArch();
  std::string cpu = host ? (native ? llvm::sys::getHostCPUName().str() : "generic") : opts.cpu;
  std::string features;
  if (host && native) {
    llvm::SubtargetFeatures f;
    for (auto &kv : llvm::sys::getHostCPUFeatures())
      f.AddFeature(kv.first(), kv.second);
    features = f.getString();
  }
  if (!host) {
    // Reject CPU names the target does not know instead of silently
    // compiling for a generic one.
    auto *probe = target->createMCSubtargetInfo(triple, "", "");
    bool known = probe && probe->isCPUStringValid(cpu);
    delete probe;
    if (!known) {
      error = "unknown CPU '" + cpu + "' for target '" + triple.str() + "'";
      return nullptr;
    }
  }
  llvm::TargetOptions to;
  // Constructors and destructors (the runtime's pool shutdown) go in
  // .init_array/.fini_array: modern C runtimes do not run .ctors/.dtors.
  to.UseInitArray = true;
  auto level = opts.optLevel == 0 ? llvm::CodeGenOptLevel::None
               : opts.optLevel == 1 ? llvm::CodeGenOptLevel::Less
               : opts.optLevel == 2 ? llvm::CodeGenOptLevel::Default
                                    : llvm::CodeGenOptLevel::Aggressive;
  return std::unique_ptr<llvm::TargetMachine>(target->createTargetMachine(
      triple, cpu, features, to, llvm::Reloc::PIC_, std::nullopt, level));
}

LogicalResult checkTarget(const TargetOptions &opts, bool sharedLibrary, std::string &error) {
  llvm::Triple triple(opts.triple.empty() ? llvm::sys::getDefaultTargetTriple() : opts.triple);
  if (!createTargetMachine(opts, error)) {
    error = (error.find("CPU") != std::string::npos ? "--mcpu: " : "--target: ") + error;
    return failure();
  }
  if (triple.getArch() != llvm::Triple::x86_64 && triple.getArch() != llvm::Triple::aarch64) {
    error = "--target: no Sinter runtime for '" + triple.str() + "' (x86_64 and aarch64 are supported)";
    return failure();
  }
  if (sharedLibrary && triple.getArch() != llvm::Triple(llvm::sys::getDefaultTargetTriple()).getArch()) {
    error = "-o: shared libraries are linked for the host only; emit a .o for '" + triple.str() + "'";
    return failure();
  }
  return success();
}

LogicalResult prepareModuleForTarget(llvm::Module &m, const TargetOptions &opts, std::string &error) {
  auto tm = createTargetMachine(opts, error);
  if (!tm)
    return failure();
  m.setDataLayout(tm->createDataLayout());
  m.setTargetTriple(tm->getTargetTriple());
  return success();
}

std::string runtimeVariant(const TargetOptions &opts) {
  std::string error;
  auto tm = createTargetMachine(opts, error);
  if (!tm)
    return "";
  const llvm::MCSubtargetInfo *sti = tm->getMCSubtargetInfo();
  switch (tm->getTargetTriple().getArch()) {
  case llvm::Triple::aarch64:
    return "aarch64";
  case llvm::Triple::x86_64:
    // The int8 kernels (BinaryMoS with int8 activations) use VNNI dot
    // products and byte masks; f16 scales convert with F16C, which every
    // AVX2 CPU has.
    if (sti->checkFeatures("+avx512f,+avx512bw,+avx512vl,+avx512dq,+avx512vnni,+avx2,+fma,+f16c"))
      return "x86_64_avx512vnni";
    if (sti->checkFeatures("+avx512f,+avx2,+fma,+f16c"))
      return "x86_64_avx512";
    if (sti->checkFeatures("+avx2,+fma,+f16c"))
      return "x86_64_avx2";
    return "x86_64";
  default:
    return "";
  }
}

static void optimize(llvm::Module &m, llvm::TargetMachine &tm, unsigned level) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(&tm);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::OptimizationLevel ol = level == 0 ? llvm::OptimizationLevel::O0
                               : level == 1 ? llvm::OptimizationLevel::O1
                               : level == 2 ? llvm::OptimizationLevel::O2
                                            : llvm::OptimizationLevel::O3;
  llvm::ModulePassManager mpm = level == 0 ? pb.buildO0DefaultPipeline(ol)
                                           : pb.buildPerModuleDefaultPipeline(ol);
  mpm.run(m, mam);
}

LogicalResult writeObject(llvm::Module &m, const TargetOptions &opts, llvm::StringRef path,
                          std::string &error) {
  auto tm = createTargetMachine(opts, error);
  if (!tm)
    return failure();
  m.setDataLayout(tm->createDataLayout());
  optimize(m, *tm, opts.optLevel);
  std::error_code ec;
  llvm::raw_fd_ostream out(path, ec, llvm::sys::fs::OF_None);
  if (ec) {
    error = "cannot write '" + path.str() + "': " + ec.message();
    return failure();
  }
  llvm::legacy::PassManager pm;
  if (tm->addPassesToEmitFile(pm, out, nullptr, llvm::CodeGenFileType::ObjectFile)) {
    error = "the target cannot emit object files";
    return failure();
  }
  pm.run(m);
  out.flush();
  return success();
}

/// Runs clang (with ld.lld): `flags`, the objects, then `libraries`.
static LogicalResult runLinker(llvm::ArrayRef<llvm::StringRef> flags, llvm::ArrayRef<llvm::StringRef> objects,
                               llvm::ArrayRef<llvm::StringRef> libraries, llvm::StringRef path,
                               std::string &error) {
  auto clang = llvm::sys::findProgramByName(SINTER_CLANG_NAME);
  if (!clang) {
    error = std::string("cannot find ") + SINTER_CLANG_NAME + " to link '" + path.str() + "'";
    return failure();
  }
  std::vector<llvm::StringRef> args{*clang, "-fuse-ld=lld"};
  args.insert(args.end(), flags.begin(), flags.end());
  args.insert(args.end(), objects.begin(), objects.end());
  args.insert(args.end(), libraries.begin(), libraries.end());
  args.insert(args.end(), {"-o", path});
  std::string msg;
  if (llvm::sys::ExecuteAndWait(*clang, args, std::nullopt, {}, 0, 0, &msg) != 0) {
    error = "linking '" + path.str() + "' failed" + (msg.empty() ? "" : ": " + msg);
    return failure();
  }
  return success();
}

LogicalResult linkSharedLibrary(llvm::ArrayRef<llvm::StringRef> objects, llvm::StringRef path,
                                const TargetOptions &opts, std::string &error) {
  llvm::Triple triple(opts.triple.empty() ? llvm::sys::getDefaultTargetTriple() : opts.triple);
  if (triple.getArch() != llvm::Triple(llvm::sys::getDefaultTargetTriple()).getArch()) {
    error = "shared libraries are linked for the host only; emit a .o for '" + triple.str() + "'";
    return failure();
  }
  return runLinker({"-shared", "-nostartfiles"}, objects, {"-lm"}, path, error);
}

LogicalResult linkRelocatable(llvm::ArrayRef<llvm::StringRef> objects, llvm::StringRef path,
                              const TargetOptions &opts, std::string &error) {
  std::string target =
      "--target=" + (opts.triple.empty() ? llvm::sys::getDefaultTargetTriple() : opts.triple);
  return runLinker({target, "-r", "-nostdlib"}, objects, {}, path, error);
}

namespace {
std::string cIdent(llvm::StringRef s) {
  std::string out;
  for (char c : s)
    out.push_back(std::isalnum((unsigned char)c) ? c : '_');
  if (out.empty() || std::isdigit((unsigned char)out[0]))
    out.insert(out.begin(), '_');
  return out;
}
const char *cType(int32_t dtype) {
  switch (dtype) {
  case 1: return "float";
  case 3: return "int8_t";
  case 5: return "int16_t";
  case 6: return "int32_t";
  case 7: return "int64_t";
  case 9: return "uint8_t";
  case 10: case 16: return "uint16_t";
  case 11: return "double";
  default: return "void";
  }
}
} // namespace

std::string generateHeader(const ModelABI &abi, const TargetOptions &opts) {
  std::string name = opts.modelName, guard = cIdent(name);
  for (char &c : guard)
    c = std::toupper((unsigned char)c);
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "/* Generated by sinter-compile. Model '" << name << "'.\n";
  for (const auto *list : {&abi.inputs, &abi.outputs})
    for (const auto &t : *list) {
      os << " *   " << (list == &abi.inputs ? "input  " : "output ") << t.name << ": "
         << cType(t.dtype) << "[";
      for (size_t i = 0; i < t.dims.size(); ++i)
        os << (i ? ", " : "") << (t.dims[i] >= 0 ? std::to_string(t.dims[i]) : t.dimNames[i]);
      os << "]\n";
    }
  os << " */\n#ifndef " << guard << "_H\n#define " << guard << "_H\n\n"
     << "#include \"sinter/runtime/sinter.h\"\n\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n"
     << "const sinter_model *" << name << "(void);\n\n";
  if (abi.lora)
    os << "/* Built with --train-lora: adapters, a training step and the adapted\n"
       << " * model over a caller-provided workspace (sinter_lora in sinter.h). */\n"
       << "const sinter_lora *" << loraGetterName(name) << "(void);\n\n";
  // A typed wrapper: one pointer and shape per input, one buffer per output.
  os << "/* Runs the model. Output buffers may be NULL (then *NAME is set to a\n"
     << " * buffer to release with free_output); shapes are written to *_shape. */\n"
     << "static inline int " << name << "_run(";
  bool first = true;
  for (const auto &t : abi.inputs) {
    os << (first ? "" : ", ") << "const " << cType(t.dtype) << " *" << cIdent(t.name)
       << ", const int64_t " << cIdent(t.name) << "_shape[" << std::max<size_t>(t.dims.size(), 1) << "]";
    first = false;
  }
  for (const auto &t : abi.outputs) {
    os << (first ? "" : ", ") << cType(t.dtype) << " **" << cIdent(t.name) << ", size_t "
       << cIdent(t.name) << "_capacity, int64_t " << cIdent(t.name) << "_shape["
       << std::max<size_t>(t.dims.size(), 1) << "]";
    first = false;
  }
  os << (first ? "" : ", ") << "sinter_error *error) {\n"
     << "  sinter_tensor in[" << std::max<size_t>(abi.inputs.size(), 1) << "] = {{0}}, out["
     << std::max<size_t>(abi.outputs.size(), 1) << "] = {{0}};\n";
  for (size_t i = 0; i < abi.inputs.size(); ++i) {
    const auto &t = abi.inputs[i];
    std::string id = cIdent(t.name);
    os << "  in[" << i << "].data = (void *)" << id << "; in[" << i << "].dtype = " << t.dtype
       << "; in[" << i << "].rank = " << t.dims.size() << ";\n";
    for (size_t d = 0; d < t.dims.size(); ++d)
      os << "  in[" << i << "].shape[" << d << "] = " << id << "_shape[" << d << "];\n";
  }
  for (size_t i = 0; i < abi.outputs.size(); ++i) {
    std::string id = cIdent(abi.outputs[i].name);
    os << "  out[" << i << "].data = *" << id << "; out[" << i << "].capacity = " << id << "_capacity;\n";
  }
  os << "  int status = " << name << "()->run(in, " << abi.inputs.size() << ", out, "
     << abi.outputs.size() << ", error);\n";
  for (size_t i = 0; i < abi.outputs.size(); ++i) {
    const auto &t = abi.outputs[i];
    std::string id = cIdent(t.name);
    os << "  *" << id << " = (" << cType(t.dtype) << " *)out[" << i << "].data;\n";
    for (size_t d = 0; d < t.dims.size(); ++d)
      os << "  " << id << "_shape[" << d << "] = out[" << i << "].shape[" << d << "];\n";
  }
  os << "  return status;\n}\n\n#ifdef __cplusplus\n}\n#endif\n\n#endif\n";
  return s;
}

} // namespace sinter
