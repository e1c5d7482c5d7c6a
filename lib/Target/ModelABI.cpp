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

namespace {
FailureOr<ModelABI> describeFunction(func::FuncOp func) {
  ModelABI abi;
  abi.function = func.getSymName().str();
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

std::optional<LoRAABI> describeLoRA(ModuleOp module) {
  auto attr = module->getAttrOfType<DictionaryAttr>(kLoRAAttr);
  if (!attr)
    return std::nullopt;
  auto f = [&](StringRef key) {
    auto v = attr.getAs<FloatAttr>(key);
    return v ? v.getValueAsDouble() : 0.0;
  };
  auto rank = attr.getAs<IntegerAttr>("rank");
  return LoRAABI{rank ? rank.getInt() : 0, f("alpha"), f("beta1"), f("beta2"), f("epsilon")};
}
} // namespace

void markEntriesForC(ModuleOp module) {
  for (auto f : module.getOps<func::FuncOp>())
    if (isEntryFunction(f))
      f->setAttr("llvm.emit_c_interface", UnitAttr::get(module.getContext()));
}

FailureOr<ModelABI> describeModel(ModuleOp module) {
  auto func = module.lookupSymbol<func::FuncOp>(kEntryName);
  if (!func)
    return emitError(module.getLoc()) << "module has no function @" << kEntryName;
  auto abi = describeFunction(func);
  if (failed(abi))
    return failure();
  for (auto f : module.getOps<func::FuncOp>()) {
    if (!f->hasAttr(kEntryAttr))
      continue;
    auto entry = describeFunction(f);
    if (failed(entry))
      return failure();
    abi->entries.push_back(std::move(*entry));
  }
  abi->lora = describeLoRA(module);
  if (abi->lora && (!abi->entry(kLoRAForwardName) || !abi->entry(kLoRAStepName)))
    return emitError(module.getLoc()) << "module has " << kLoRAAttr << " but lacks @" << kLoRAForwardName
                                      << " or @" << kLoRAStepName;
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

namespace {

/// One exported function: its sinter_model descriptor, the description
/// that the runtime's __sinter_run_entry reads (result layout, trampoline,
/// check messages), and the descriptor's `run`, which passes that
/// description on. Returns the descriptor, or null with `error` set.
llvm::GlobalVariable *emitEntry(llvm::Module &m, DescriptorBuilder &d, const ModelABI &abi, llvm::StringRef modelName,
                                bool gpu, std::string &error) {
  llvm::LLVMContext &ctx = m.getContext();
  std::string cifaceName = "_mlir_ciface_" + abi.function;
  llvm::Function *ciface = m.getFunction(cifaceName);
  llvm::Function *entry = m.getFunction(abi.function);
  if (!ciface || !entry) {
    error = "lowered module lacks " + cifaceName;
    return nullptr;
  }
  size_t numResults = abi.outputs.size() + (abi.statusResult >= 0 ? 1 : 0);
  bool hasResults = numResults > 0;

  // Result struct layout: one descriptor, or a struct of descriptors; the
  // status (if any) is the last result.
  const llvm::DataLayout &dl = m.getDataLayout();
  std::vector<int64_t> offsets;
  int64_t resultsSize = 0, statusOffset = -1;
  if (hasResults) {
    auto *st = llvm::cast<llvm::StructType>(entry->getReturnType());
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

  std::string suffix = "." + abi.function;
  llvm::Function *invoke = buildInvoke(m, ciface, abi.inputs.size(), hasResults);
  invoke->setName("__sinter_invoke" + suffix);
  auto *runType = llvm::FunctionType::get(d.i32, {d.ptr, d.i32, d.ptr, d.i32, d.ptr}, false);
  auto *run = llvm::Function::Create(runType, llvm::GlobalValue::InternalLinkage, "__sinter_run" + suffix, m);
  auto *freeType = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {d.ptr}, false);
  auto freeFn = m.getOrInsertFunction("__sinter_free_output", freeType);
  auto *threadsType = llvm::FunctionType::get(d.i32, {d.i32}, false);
  auto threadsFn = m.getOrInsertFunction(gpu ? "__sinter_gpu_set_num_threads" : "__sinter_set_num_threads",
                                         threadsType);

  auto *deviceType = llvm::FunctionType::get(d.i32, {d.i32, d.ptr}, false);
  auto deviceFn = m.getOrInsertFunction("__sinter_set_device", deviceType);

  auto *modelType =
      llvm::StructType::get(ctx, {d.i32, d.ptr, d.i32, d.i32, d.ptr, d.ptr, d.ptr, d.ptr, d.ptr, d.i32, d.ptr});
  auto *modelInit = llvm::ConstantStruct::get(
      modelType, {llvm::ConstantInt::get(d.i32, SINTER_ABI_VERSION), d.str(modelName),
                  llvm::ConstantInt::get(d.i32, abi.inputs.size()),
                  llvm::ConstantInt::get(d.i32, abi.outputs.size()),
                  d.infos(abi.inputs, ".sinter.inputs"), d.infos(abi.outputs, ".sinter.outputs"), run,
                  llvm::cast<llvm::Constant>(freeFn.getCallee()), llvm::cast<llvm::Constant>(threadsFn.getCallee()),
                  llvm::ConstantInt::get(d.i32, gpu ? SINTER_DEVICE_CUDA : SINTER_DEVICE_CPU),
                  llvm::cast<llvm::Constant>(deviceFn.getCallee())});
  auto *model = new llvm::GlobalVariable(m, modelType, true, llvm::GlobalValue::InternalLinkage, modelInit,
                                         "__sinter_model" + suffix);
  std::vector<llvm::Constant *> checkNames;
  for (const auto &n : abi.checkNames)
    checkNames.push_back(d.str(n));
  auto *internalType = llvm::StructType::get(ctx, {d.ptr, d.i64, d.ptr, d.ptr, d.i64, d.i32, d.ptr});
  auto *internal = new llvm::GlobalVariable(
      m, internalType, true, llvm::GlobalValue::InternalLinkage,
      llvm::ConstantStruct::get(internalType,
                                {model, llvm::ConstantInt::get(d.i64, resultsSize),
                                 d.i64s(offsets, ".sinter.offsets"), invoke,
                                 llvm::ConstantInt::get(d.i64, statusOffset),
                                 llvm::ConstantInt::get(d.i32, checkNames.size()),
                                 d.array(d.ptr, checkNames, ".sinter.checks")}),
      "__sinter_internal" + suffix);

  // run(...) = __sinter_run_entry(&internal, ...).
  auto *runEntryType = llvm::FunctionType::get(d.i32, {d.ptr, d.ptr, d.i32, d.ptr, d.i32, d.ptr}, false);
  auto runEntry = m.getOrInsertFunction("__sinter_run_entry", runEntryType);
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", run));
  std::vector<llvm::Value *> args{internal};
  for (llvm::Argument &a : run->args())
    args.push_back(&a);
  b.CreateRet(b.CreateCall(runEntry, args));
  return model;
}

/// `const sinter_lora *NAME_lora(void)`: the adapters of the step entry's
/// inputs, the two entries, and the runtime's functions over a workspace.
void emitLoRA(llvm::Module &m, DescriptorBuilder &d, const ModelABI &abi, llvm::GlobalVariable *forward,
              llvm::GlobalVariable *step, llvm::StringRef getterName) {
  llvm::LLVMContext &ctx = m.getContext();
  const ModelABI &stepABI = *abi.entry(kLoRAStepName);
  size_t numAdapters = (stepABI.inputs.size() - 3) / 3;
  std::vector<TensorABI> adapters(stepABI.inputs.begin() + 3, stepABI.inputs.begin() + 3 + numAdapters);
  // The moments' element type is the step's (bf16 with moments=bf16).
  int64_t momentBytes = stepABI.inputs[3 + numAdapters].dtype == SINTER_BFLOAT16 ? 2 : 4;
  auto *f32 = llvm::Type::getFloatTy(ctx);
  auto fn = [&](const char *name, llvm::Type *ret, llvm::ArrayRef<llvm::Type *> params) {
    return llvm::cast<llvm::Constant>(
        m.getOrInsertFunction(name, llvm::FunctionType::get(ret, params, false)).getCallee());
  };
  llvm::Type *p = d.ptr, *i32 = d.i32, *i64 = d.i64;
  std::vector<llvm::Constant *> fields{
      llvm::ConstantInt::get(i32, SINTER_LORA_ABI_VERSION),
      llvm::ConstantInt::get(i32, abi.lora->rank),
      llvm::ConstantFP::get(f32, abi.lora->alpha),
      llvm::ConstantInt::get(i32, numAdapters),
      d.infos(adapters, ".sinter.adapters"),
      llvm::ConstantInt::get(i64, loraWorkspaceBytes(adapters, momentBytes)),
      llvm::ConstantFP::get(f32, abi.lora->beta1),
      llvm::ConstantFP::get(f32, abi.lora->beta2),
      llvm::ConstantFP::get(f32, abi.lora->epsilon),
      forward,
      step,
      fn("__sinter_lora_init", i32, {p, p, i64}),
      fn("__sinter_lora_train_step", i32, {p, p, p, p, f32, p, p}),
      fn("__sinter_lora_run", i32, {p, p, p, i32, p, i32, p}),
      fn("__sinter_lora_get_adapter", i32, {p, p, i32, p, i64}),
      fn("__sinter_lora_set_adapter", i32, {p, p, i32, p, i64})};
  std::vector<llvm::Type *> types;
  for (llvm::Constant *c : fields)
    types.push_back(c->getType());
  auto *type = llvm::StructType::get(ctx, types);
  auto *lora = new llvm::GlobalVariable(m, type, true, llvm::GlobalValue::InternalLinkage,
                                        llvm::ConstantStruct::get(type, fields), "__sinter_lora");
  auto *getter = llvm::Function::Create(llvm::FunctionType::get(d.ptr, {}, false),
                                        llvm::GlobalValue::ExternalLinkage, getterName, m);
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", getter));
  b.CreateRet(lora);
}

} // namespace

// sinter_lora.c lays the workspace out the same way.
int64_t loraWorkspaceBytes(llvm::ArrayRef<TensorABI> adapters, int64_t momentBytes) {
  auto padded = [](int64_t bytes) { return (bytes + 63) / 64 * 64; };
  int64_t bytes = 64;
  for (const TensorABI &t : adapters) {
    int64_t n = 1;
    for (int64_t dim : t.dims)
      n *= dim;
    bytes += padded(4 * n) + 2 * padded(momentBytes * n);
  }
  return bytes;
}

std::string loraGetterName(llvm::StringRef modelName) { return (modelName + "_lora").str(); }

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

  DescriptorBuilder d(*m);
  bool gpu = opts.gpuSM > 0;
  llvm::GlobalVariable *model = emitEntry(*m, d, abi, opts.modelName, gpu, error);
  if (!model)
    return emitError(module.getLoc()) << error;
  std::vector<std::string> exported{opts.modelName};
  llvm::StringMap<llvm::GlobalVariable *> entries;
  for (const ModelABI &e : abi.entries) {
    entries[e.function] = emitEntry(*m, d, e, opts.modelName + "." + e.function, gpu, error);
    if (!entries[e.function])
      return emitError(module.getLoc()) << error;
  }
  if (abi.lora) {
    exported.push_back(loraGetterName(opts.modelName));
    emitLoRA(*m, d, abi, entries[kLoRAForwardName], entries[kLoRAStepName], exported.back());
  }

  // The exported symbol: `const sinter_model *NAME(void)`.
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
  // The runtime's GPU side is live only in GPU objects: a constant the
  // optimizer folds, dropping it from CPU ones.
  llvm::GlobalVariable *gpuSM = m->getGlobalVariable("__sinter_gpu_sm");
  if (!gpuSM)
    return emitError(module.getLoc()) << "the Sinter runtime lacks __sinter_gpu_sm";
  gpuSM->setInitializer(llvm::ConstantInt::get(d.i32, opts.gpuSM));
  gpuSM->setConstant(true);

  // Everything but the getters is private to the object, so several models
  // link into one program.
  for (llvm::Function &f : *m)
    if (!f.isDeclaration() && !llvm::is_contained(exported, f.getName()))
      f.setLinkage(llvm::GlobalValue::InternalLinkage);
  // llvm.global_dtors (the runtime's shutdown on dlclose) keeps its
  // appending linkage.
  for (llvm::GlobalVariable &g : m->globals())
    if (!g.isDeclaration() && !g.hasAppendingLinkage())
      g.setLinkage(g.hasPrivateLinkage() ? g.getLinkage() : llvm::GlobalValue::InternalLinkage);
  return std::move(m);
}

} // namespace sinter
