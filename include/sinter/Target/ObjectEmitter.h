#ifndef SINTER_TARGET_OBJECTEMITTER_H
#define SINTER_TARGET_OBJECTEMITTER_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/IR/Module.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sinter {

struct TargetOptions {
  std::string triple; // empty: the host
  std::string cpu;    // empty or "host": the host CPU (and its features)
  unsigned optLevel = 3;
  std::string modelName = "sinter_model"; // the exported getter's name
  /// GPU objects: the compute capability of their kernels (90 for sm_90);
  /// 0 for CPU objects. The triple and CPU above are then the host's.
  int gpuSM = 0;
};

/// --train-lora's functions, and the module attribute that describes the
/// adapters to the emitter (rank, alpha, Adam's constants, the adapted
/// linears in argument order).
inline constexpr llvm::StringLiteral kLoRAAttr = "sinter.lora";
inline constexpr llvm::StringLiteral kLoRAForwardName = "lora_forward";
inline constexpr llvm::StringLiteral kLoRAStepName = "lora_train_step";

/// Describes one entry-function argument or result of the C ABI.
struct TensorABI {
  std::string name;
  int32_t dtype = 0; // ONNX code
  std::vector<int64_t> dims;
  std::vector<std::string> dimNames;
};
/// What sinter_lora (sinter.h) describes, from the kLoRAAttr.
struct LoRAABI {
  int64_t rank = 0;
  double alpha = 0, beta1 = 0, beta2 = 0, epsilon = 0;
};

struct ModelABI {
  std::string function; // the compiled function
  std::vector<TensorABI> inputs, outputs;
  /// Index of the entry function's run-time check result, or -1.
  int statusResult = -1;
  /// The node each run-time check guards, by check number - 1.
  std::vector<std::string> checkNames;
  /// For the model: the other exported functions (kEntryAttr), each a
  /// sinter_model of its own; and the adapters when built with --train-lora.
  std::vector<ModelABI> entries;
  std::optional<LoRAABI> lora;

  const ModelABI *entry(llvm::StringRef name) const {
    for (const ModelABI &e : entries)
      if (e.function == name)
        return &e;
    return nullptr;
  }
};

/// Asks for the C interface (what the emitted trampolines call) of every
/// exported function: main_graph and the kEntryAttr ones.
void markEntriesForC(mlir::ModuleOp module);

/// Reads the ABI from the entry function while it still has tensor types
/// (nn or linalg level).
mlir::FailureOr<ModelABI> describeModel(mlir::ModuleOp module);

/// Bytes of the sinter_lora workspace for these adapters: a 64-byte header
/// (the step count and β1^t, β2^t), then the adapters (f32), Adam's first
/// and second moments (momentBytes an element), each matrix padded to 64
/// bytes.
int64_t loraWorkspaceBytes(llvm::ArrayRef<TensorABI> adapters, int64_t momentBytes);

/// The getter an object built with --train-lora also exports:
/// `const sinter_lora *NAME_lora(void)`.
std::string loraGetterName(llvm::StringRef modelName);

/// Translates an LLVM-dialect module to LLVM IR, adds the ABI (model
/// descriptor, trampoline, runtime) and optimizes it for the target.
mlir::FailureOr<std::unique_ptr<llvm::Module>>
buildLLVMModule(mlir::ModuleOp module, const ModelABI &abi,
                const TargetOptions &opts, llvm::LLVMContext &llvmCtx);

/// Checks the triple, CPU and that a runtime exists for the target, before
/// any work is done; `error` names the flag at fault.
mlir::LogicalResult checkTarget(const TargetOptions &opts, bool sharedLibrary,
                                std::string &error);
/// Sets the module's triple and data layout from the target options.
mlir::LogicalResult prepareModuleForTarget(llvm::Module &module, const TargetOptions &opts,
                                           std::string &error);
/// The runtime variant (lib/Runtime/CMakeLists.txt) whose instruction set
/// the target CPU has: x86_64_avx512vnni, x86_64_avx512, x86_64_avx2, x86_64 or aarch64; empty
/// if the target is invalid or has no runtime.
std::string runtimeVariant(const TargetOptions &opts);
/// That variant's runtime bitcode, parsed into `ctx`.
mlir::FailureOr<std::unique_ptr<llvm::Module>> loadRuntime(llvm::LLVMContext &ctx,
                                                           llvm::StringRef variant);
/// The column-panel width the variant's GEMM kernel wants constant weights
/// packed into (its `__sinter_gemm_panel_width`); 0 if unknown.
int64_t gemmPanelWidth(llvm::StringRef variant);
/// Writes `module` as an object file for the target.
mlir::LogicalResult writeObject(llvm::Module &module, const TargetOptions &opts,
                                llvm::StringRef path, std::string &error);
/// Links objects into a shared library (ld.lld through clang).
mlir::LogicalResult linkSharedLibrary(llvm::ArrayRef<llvm::StringRef> objects, llvm::StringRef path,
                                      const TargetOptions &opts, std::string &error);
/// Links objects into one relocatable object (ld.lld -r), for any target.
mlir::LogicalResult linkRelocatable(llvm::ArrayRef<llvm::StringRef> objects, llvm::StringRef path,
                                    const TargetOptions &opts, std::string &error);
/// The target machine for the options (null, with `error` set, if invalid).
std::unique_ptr<llvm::TargetMachine> createTargetMachine(const TargetOptions &opts, std::string &error);

/// A constant global whose bytes bypass LLVM IR (WeightsObject.cpp).
struct ExternalWeight {
  std::string symbol;
  uint64_t alignment;
  mlir::DenseResourceElementsAttr data;
};
/// Turns every constant `llvm.mlir.global` of at least `minBytes` that a
/// resource blob holds into an external declaration (hidden, dso_local) and
/// returns them: translation to LLVM IR then copies none of their bytes.
/// Their symbols become `prefix.NAME` (the model's name): global, so that
/// the weights object links, and distinct between models.
std::vector<ExternalWeight> externalizeWeights(mlir::ModuleOp module, int64_t minBytes, llvm::StringRef prefix);
/// Writes the weights as an object of their own (read-only data, hidden
/// symbols) straight from the blobs; with `release`, frees each blob once
/// written, so the compiler never holds two copies of the weights.
mlir::LogicalResult writeWeightsObject(llvm::ArrayRef<ExternalWeight> weights, const TargetOptions &opts,
                                       llvm::StringRef path, bool release, std::string &error);
/// The C header declaring the model's getter and a typed run function.
std::string generateHeader(const ModelABI &abi, const TargetOptions &opts);

} // namespace sinter

#endif
