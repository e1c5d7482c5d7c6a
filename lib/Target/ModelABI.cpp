// The C ABI of an emitted model (sinter/runtime/sinter.h): the model
// descriptor as LLVM constants, a trampoline from an argument array to the
// compiled function's C interface, and the runtime bitcode linked in.
#include "sinter/Target/ObjectEmitter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "sinter/Frontend/ONNXImporter.h"
#include "sinter/runtime/sinter.h"
#include "sinter/Transforms/Passes.h"
#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/Linker/Linker.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

using namespace mlir;

namespace sinter {

namespace {
#include "RuntimeBitcode.inc" // kRuntimeBitcode_<variant>

int32_t onnxDType(Type t) {
  if (t.isF32()) return 1;
  if (t.isInteger(8)) return 3;
  if (t.isInteger(16)) return 5;
  if (t.isInteger(32)) return 6;
  if (t.isInteger(64)) return 7;
  if (t.isInteger(1)) return 9;
  if (t.isF16()) return 10;
  if (t.isF64()) return 11;
  if (t.isBF16()) return 16;
  return 0;
}

FailureOr<TensorABI> describe(Type type, DictionaryAttr attrs, Location loc, size_t index) {
  auto t = dyn_cast<RankedTensorType>(type);
  TensorABI abi;
  if (!t || (abi.dtype = onnxDType(t.getElementType())) == 0)
    return emitError(loc) << "entry tensor " << index << " has unsupported type " << type;
  if (t.getRank() > 8)
    return emitError(loc) << "entry tensor " << index << " has rank " << t.getRank()
                          << "; the ABI supports up to 8";
  auto name = attrs ? attrs.getAs<StringAttr>(kTensorNameAttr) : StringAttr();
  abi.name = name ? name.str() : ("t" + std::to_string(index));
  auto dimNames = attrs ? attrs.getAs<ArrayAttr>(kDimNamesAttr) : ArrayAttr();
  for (int64_t i = 0; i < t.getRank(); ++i) {
    abi.dims.push_back(t.isDynamicDim(i) ? -1 : t.getDimSize(i));
    std::string dn;
    if (t.isDynamicDim(i))
      dn = dimNames && i < (int64_t)dimNames.size() ? cast<StringAttr>(dimNames[i]).str() : "?";
    abi.dimNames.push_back(dn);
  }
  return abi;
}
} // namespace

FailureOr<ModelABI> describeModel(ModuleOp module) {
  auto func = module.lookupSymbol<func::FuncOp>(kEntryName);
  if (!func)
    return emitError(module.getLoc()) << "module has no function @" << kEntryName;
  ModelABI abi;
  for (auto [i, t] : llvm::enumerate(func.getArgumentTypes())) {
    auto d = describe(t, func.getArgAttrDict(i), func.getLoc(), i);
    if (failed(d))
      return failure();
    abi.inputs.push_back(*d);
  }
  for (auto [i, t] : llvm::enumerate(func.getResultTypes())) {
    DictionaryAttr attrs = func.getResultAttrDict(i);
    if (attrs && attrs.get(kStatusAttr)) {
      abi.statusResult = i;
      continue;
    }
    auto d = describe(t, attrs, func.getLoc(), i);
    if (failed(d))
      return failure();
    abi.outputs.push_back(*d);
  }
  if (auto names = func->getAttrOfType<ArrayAttr>(kCheckNamesAttr))
    for (Attribute n : names)
      abi.checkNames.push_back(cast<StringAttr>(n).str());
  return abi;
}

namespace {

class DescriptorBuilder {
public:
  DescriptorBuilder(llvm::Module &m) : m(m), ctx(m.getContext()), ptr(llvm::PointerType::get(ctx, 0)),
                                       i32(llvm::Type::getInt32Ty(ctx)), i64(llvm::Type::getInt64Ty(ctx)) {}

  llvm::Constant *str(llvm::StringRef s) {
    auto *init = llvm::ConstantDataArray::getString(ctx, s);
    return new llvm::GlobalVariable(m, init->getType(), true, llvm::GlobalValue::PrivateLinkage, init, ".sinter.str");
  }
  llvm::Constant *array(llvm::Type *elem, llvm::ArrayRef<llvm::Constant *> elems, const char *name) {
    auto *type = llvm::ArrayType::get(elem, elems.size());
    return new llvm::GlobalVariable(m, type, true, llvm::GlobalValue::PrivateLinkage,
                                    llvm::ConstantArray::get(type, elems), name);
  }
  llvm::Constant *i64s(llvm::ArrayRef<int64_t> v, const char *name) {
    std::vector<uint64_t> u(v.begin(), v.end());
    auto *init = llvm::ConstantDataArray::get(ctx, llvm::ArrayRef<uint64_t>(u));
    return new llvm::GlobalVariable(m, init->getType(), true, llvm::GlobalValue::PrivateLinkage, init, name);
  }
  /// sinter_tensor_info[]: {name, dtype, rank, dims, dim_names}.
  llvm::Constant *infos(const std::vector<TensorABI> &ts, const char *name) {
    auto *infoType = llvm::StructType::get(ctx, {ptr, i32, i32, ptr, ptr});
    std::vector<llvm::Constant *> elems;
    for (const auto &t : ts) {
      std::vector<llvm::Constant *> names;
      for (const auto &n : t.dimNames)
        names.push_back(str(n));
      elems.push_back(llvm::ConstantStruct::get(
          infoType, {str(t.name), llvm::ConstantInt::get(i32, t.dtype),
                     llvm::ConstantInt::get(i32, t.dims.size()), i64s(t.dims, ".sinter.dims"),
                     array(ptr, names, ".sinter.dimnames")}));
    }
    return array(infoType, elems, name);
  }

  llvm::Module &m;
  llvm::LLVMContext &ctx;
  llvm::PointerType *ptr;
  llvm::IntegerType *i32, *i64;
};

/// `void __sinter_invoke(void **args, void *results)`: calls the compiled
/// function's C interface with one descriptor pointer per input.
llvm::Function *buildInvoke(llvm::Module &m, llvm::Function *ciface, size_t numInputs, bool hasResults) {
  auto &ctx = m.getContext();
  auto *ptr = llvm::PointerType::get(ctx, 0);
  auto *fnType = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptr, ptr}, false);
  auto *fn = llvm::Function::Create(fnType, llvm::GlobalValue::InternalLinkage, "__sinter_invoke", m);
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", fn));
  std::vector<llvm::Value *> args;
  if (hasResults)
    args.push_back(fn->getArg(1));
  for (size_t i = 0; i < numInputs; ++i) {
    auto *slot = b.CreateConstGEP1_64(ptr, fn->getArg(0), i);
    args.push_back(b.CreateLoad(ptr, slot));
  }
  b.CreateCall(ciface, args);
  b.CreateRetVoid();
  return fn;
}

} // namespace

FailureOr<std::unique_ptr<llvm::Module>> loadRuntime(llvm::LLVMContext &ctx, llvm::StringRef variant) {
#define SINTER_RUNTIME(NAME) {#NAME, llvm::StringRef(reinterpret_cast<const char *>(kRuntimeBitcode_##NAME), sizeof(kRuntimeBitcode_##NAME))}
  static const std::pair<llvm::StringRef, llvm::StringRef> variants[] = {
      SINTER_RUNTIME(x86_64), SINTER_RUNTIME(x86_64_avx2), SINTER_RUNTIME(x86_64_avx512),
      SINTER_RUNTIME(x86_64_avx512vnni),
      SINTER_RUNTIME(aarch64)};
#undef SINTER_RUNTIME
  llvm::StringRef bc;
  for (auto [name, bits] : variants)
    if (name == variant)
      bc = bits;
  if (bc.empty())
    return failure();
  auto mod = llvm::parseBitcodeFile(llvm::MemoryBufferRef(bc, "sinter_runtime.bc"), ctx);
  if (!mod) {
    llvm::consumeError(mod.takeError());
    return failure();
  }
  return std::move(*mod);
}

int64_t gemmPanelWidth(llvm::StringRef variant) {
  llvm::LLVMContext ctx;
  auto runtime = loadRuntime(ctx, variant);
  if (failed(runtime))
    return 0;
  auto *g = (*runtime)->getGlobalVariable("__sinter_gemm_panel_width");
  auto *value = g && g->hasInitializer() ? llvm::dyn_cast<llvm::ConstantInt>(g->getInitializer()) : nullptr;
  return value ? value->getSExtValue() : 0;
}

FailureOr<std::unique_ptr<llvm::Module>> buildLLVMModule(ModuleOp module, const ModelABI &abi,
                                                         const TargetOptions &opts,
                                                         llvm::LLVMContext &llvmCtx) {
  DialectRegistry registry;
  registerAllToLLVMIRTranslations(registry);
  module->getContext()->appendDialectRegistry(registry);
  auto m = translateModuleToLLVMIR(module, llvmCtx, "sinter_model");
  if (!m)
    return emitError(module.getLoc()) << "translation to LLVM IR failed";
  std::string error;
  if (failed(prepareModuleForTarget(*m, opts, error)))
    return emitError(module.getLoc()) << error;
  llvm::Triple triple = m->getTargetTriple();

  std::string cifaceName = "_mlir_ciface_" + kEntryName.str();
  llvm::Function *ciface = m->getFunction(cifaceName);
  llvm::Function *entry = m->getFunction(kEntryName);
  if (!ciface || !entry)
    return emitError(module.getLoc()) << "lowered module lacks " << cifaceName;
  size_t numResults = abi.outputs.size() + (abi.statusResult >= 0 ? 1 : 0);
  bool hasResults = numResults > 0;

  // Result struct layout: one descriptor, or a struct of descriptors; the
  // status (if any) is the last result.
  const llvm::DataLayout &dl = m->getDataLayout();
  std::vector<int64_t> offsets;
  int64_t resultsSize = 0, statusOffset = -1;
  llvm::Type *retType = entry->getReturnType();
  if (hasResults) {
    auto *st = llvm::cast<llvm::StructType>(retType);
    resultsSize = dl.getTypeAllocSize(st);
    const llvm::StructLayout *layout = numResults > 1 ? dl.getStructLayout(st) : nullptr;
    for (size_t i = 0; i < numResults; ++i) {
      int64_t off = layout ? layout->getElementOffset(i) : 0;
      if ((int)i == abi.statusResult)
        statusOffset = off;
      else
        offsets.push_back(off);
    }
  }

  DescriptorBuilder d(*m);
  llvm::Function *invoke = buildInvoke(*m, ciface, abi.inputs.size(), hasResults);
  auto *runType = llvm::FunctionType::get(d.i32, {d.ptr, d.i32, d.ptr, d.i32, d.ptr}, false);
  auto *run = llvm::Function::Create(runType, llvm::GlobalValue::ExternalLinkage, "__sinter_run", *m);
  auto *freeType = llvm::FunctionType::get(llvm::Type::getVoidTy(llvmCtx), {d.ptr}, false);
  auto *freeFn = llvm::Function::Create(freeType, llvm::GlobalValue::ExternalLinkage, "__sinter_free_output", *m);

  auto *threadsType = llvm::FunctionType::get(d.i32, {d.i32}, false);
  auto *threadsFn = llvm::Function::Create(threadsType, llvm::GlobalValue::ExternalLinkage,
                                           "__sinter_set_num_threads", *m);

  auto *modelType = llvm::StructType::get(llvmCtx, {d.i32, d.ptr, d.i32, d.i32, d.ptr, d.ptr, d.ptr, d.ptr, d.ptr});
  auto *modelInit = llvm::ConstantStruct::get(
      modelType, {llvm::ConstantInt::get(d.i32, SINTER_ABI_VERSION), d.str(opts.modelName),
                  llvm::ConstantInt::get(d.i32, abi.inputs.size()),
                  llvm::ConstantInt::get(d.i32, abi.outputs.size()),
                  d.infos(abi.inputs, ".sinter.inputs"), d.infos(abi.outputs, ".sinter.outputs"), run,
                  freeFn, threadsFn});
  auto *model = new llvm::GlobalVariable(*m, modelType, true, llvm::GlobalValue::InternalLinkage,
                                         modelInit, "__sinter_model");
  std::vector<llvm::Constant *> checkNames;
  for (const auto &n : abi.checkNames)
    checkNames.push_back(d.str(n));
  auto *internalType = llvm::StructType::get(llvmCtx, {d.ptr, d.i64, d.ptr, d.ptr, d.i64, d.i32, d.ptr});
  new llvm::GlobalVariable(
      *m, internalType, true, llvm::GlobalValue::ExternalLinkage,
      llvm::ConstantStruct::get(internalType,
                                {model, llvm::ConstantInt::get(d.i64, resultsSize),
                                 d.i64s(offsets, ".sinter.offsets"), invoke,
                                 llvm::ConstantInt::get(d.i64, statusOffset),
                                 llvm::ConstantInt::get(d.i32, checkNames.size()),
                                 d.array(d.ptr, checkNames, ".sinter.checks")}),
      "__sinter_internal");

  // The one exported symbol: `const sinter_model *NAME(void)`.
  auto *getterType = llvm::FunctionType::get(d.ptr, {}, false);
  auto *getter = llvm::Function::Create(getterType, llvm::GlobalValue::ExternalLinkage, opts.modelName, *m);
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(llvmCtx, "entry", getter));
  b.CreateRet(model);

  auto runtime = loadRuntime(llvmCtx, runtimeVariant(opts));
  if (failed(runtime))
    return emitError(module.getLoc()) << "no Sinter runtime for target '" << triple.str()
                                      << "' (x86_64 and aarch64 are supported)";
  (*runtime)->setTargetTriple(triple);
  (*runtime)->setDataLayout(m->getDataLayout());
  if (llvm::Linker::linkModules(*m, std::move(*runtime)))
    return emitError(module.getLoc()) << "linking the Sinter runtime failed";

  // Everything but the getter is private to the object, so several models
  // link into one program.
  for (llvm::Function &f : *m)
    if (!f.isDeclaration() && f.getName() != opts.modelName)
      f.setLinkage(llvm::GlobalValue::InternalLinkage);
  // llvm.global_dtors (the runtime's shutdown on dlclose) keeps its
  // appending linkage.
  for (llvm::GlobalVariable &g : m->globals())
    if (!g.isDeclaration() && !g.hasAppendingLinkage())
      g.setLinkage(g.hasPrivateLinkage() ? g.getLinkage() : llvm::GlobalValue::InternalLinkage);
  return std::move(m);
}

} // namespace sinter
