// sinter-gpu-host-to-runtime (include/sinter/Conversion/Passes.td): kernel
// launches and constants of a GPU object's host code as calls into its
// CUDA runtime (lib/Runtime/sinter_cuda.c).
#include "sinter/Conversion/Passes.h"

#include "mlir/Dialect/LLVMIR/FunctionCallUtils.h"
#include "mlir/Interfaces/DataLayoutInterfaces.h"

namespace sinter {
#define GEN_PASS_DEF_GPUHOSTTORUNTIME
#include "sinter/Conversion/Passes.h.inc"
} // namespace sinter

using namespace mlir;

namespace {

constexpr llvm::StringLiteral kImageName = "__sinter_gpu_image";

/// A private constant global holding `bytes` and a NUL.
LLVM::GlobalOp byteString(OpBuilder &b, Location loc, StringRef name, StringRef bytes) {
  std::string text = bytes.str();
  text.push_back('\0');
  auto type = LLVM::LLVMArrayType::get(b.getI8Type(), text.size());
  return LLVM::GlobalOp::create(b, loc, type, /*isConstant=*/true, LLVM::Linkage::Internal, name,
                                b.getStringAttr(text), /*alignment=*/8);
}

struct GPUHostToRuntimePass : sinter::impl::GPUHostToRuntimeBase<GPUHostToRuntimePass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto binaries = llvm::to_vector(module.getOps<gpu::BinaryOp>());
    if (binaries.empty())
      return;
    if (binaries.size() > 1 || binaries.front().getObjects().size() != 1) {
      binaries.front().emitError("sinter-gpu-host-to-runtime: expected one gpu.binary holding one object");
      return signalPassFailure();
    }
    gpu::BinaryOp binary = binaries.front();
    // Constants first: the image and the kernel names below are constants
    // of the runtime's own, read by the host.
    if (failed(copyConstantsToDevice(module)))
      return signalPassFailure();
    OpBuilder b(binary);
    auto object = cast<gpu::ObjectAttr>(binary.getObjects()[0]);
    LLVM::GlobalOp image = byteString(b, binary.getLoc(), kImageName, object.getObject().getValue());
    WalkResult result = module.walk([&](gpu::LaunchFuncOp launch) {
      return succeeded(lowerLaunch(launch, image)) ? WalkResult::advance() : WalkResult::interrupt();
    });
    if (result.wasInterrupted())
      return signalPassFailure();
    binary.erase();
    module->removeAttr(gpu::GPUDialect::getContainerModuleAttrName());
  }

  /// Every address of a constant global taken in host code becomes the
  /// address of its device copy.
  LogicalResult copyConstantsToDevice(ModuleOp module) {
    SymbolTable symbols(module);
    DataLayout layout(module);
    MLIRContext *ctx = &getContext();
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    auto i64 = IntegerType::get(ctx, 64);
    llvm::SmallVector<LLVM::AddressOfOp> uses;
    module.walk([&](LLVM::AddressOfOp op) {
      auto global = symbols.lookup<LLVM::GlobalOp>(op.getGlobalName());
      if (global && global.getConstant() && op->getParentOfType<LLVM::LLVMFuncOp>())
        uses.push_back(op);
    });
    if (uses.empty())
      return success();
    OpBuilder b(ctx);
    b.setInsertionPointToEnd(module.getBody());
    FailureOr<LLVM::LLVMFuncOp> copyFn =
        LLVM::lookupOrCreateFn(b, module, "__sinter_gpu_constant", {ptr, i64}, ptr);
    if (failed(copyFn))
      return module.emitError("sinter-gpu-host-to-runtime: __sinter_gpu_constant has another signature");
    for (LLVM::AddressOfOp op : uses) {
      auto global = symbols.lookup<LLVM::GlobalOp>(op.getGlobalName());
      b.setInsertionPointAfter(op);
      Value bytes = LLVM::ConstantOp::create(b, op.getLoc(), i64,
                                             b.getI64IntegerAttr(layout.getTypeSize(global.getType())));
      auto call = LLVM::CallOp::create(b, op.getLoc(), *copyFn, ValueRange{op.getResult(), bytes});
      op.getResult().replaceAllUsesExcept(call.getResult(), call);
    }
    return success();
  }

  /// launch_func → __sinter_gpu_launch(image, name, gx, gy, gz, bx, by, bz,
  /// shared bytes, argument pointers).
  LogicalResult lowerLaunch(gpu::LaunchFuncOp launch, LLVM::GlobalOp image) {
    if (launch.getAsyncToken() || !launch.getAsyncDependencies().empty() || launch.getAsyncObject())
      return launch.emitError("sinter-gpu-host-to-runtime: asynchronous launches are not supported");
    if (launch.hasClusterSize())
      return launch.emitError("sinter-gpu-host-to-runtime: cluster launches are not supported");
    auto func = launch->getParentOfType<LLVM::LLVMFuncOp>();
    if (!func)
      return launch.emitError("sinter-gpu-host-to-runtime: the launch is not in an llvm.func (run gpu-to-llvm first)");
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    Location loc = launch.getLoc();
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    auto i32 = IntegerType::get(ctx, 32), i64 = IntegerType::get(ctx, 64);

    // One stack slot per argument, and the array of their addresses, in the
    // entry block: a launch in a loop reuses them.
    SmallVector<Value> operands(launch.getKernelOperands());
    SmallVector<Type> types;
    for (Value v : operands)
      types.push_back(v.getType());
    auto structType = LLVM::LLVMStructType::getLiteral(ctx, types);
    OpBuilder b(ctx);
    b.setInsertionPointToStart(&func.getBody().front());
    Value one = LLVM::ConstantOp::create(b, loc, i64, b.getI64IntegerAttr(1));
    Value count = LLVM::ConstantOp::create(b, loc, i64, b.getI64IntegerAttr(std::max<int64_t>(1, operands.size())));
    Value slots = LLVM::AllocaOp::create(b, loc, ptr, structType, one);
    Value array = LLVM::AllocaOp::create(b, loc, ptr, ptr, count);

    b.setInsertionPoint(launch);
    for (auto [i, v] : llvm::enumerate(operands)) {
      Value field = LLVM::GEPOp::create(b, loc, ptr, structType, slots,
                                        ArrayRef<LLVM::GEPArg>{0, static_cast<int32_t>(i)});
      LLVM::StoreOp::create(b, loc, v, field);
      Value entry = LLVM::GEPOp::create(b, loc, ptr, ptr, array, ArrayRef<LLVM::GEPArg>{static_cast<int32_t>(i)});
      LLVM::StoreOp::create(b, loc, field, entry);
    }
    auto toI64 = [&](Value v) -> Value {
      if (v.getType() == i64)
        return v;
      if (v.getType().isInteger() && v.getType().getIntOrFloatBitWidth() < 64)
        return LLVM::ZExtOp::create(b, loc, i64, v);
      return {};
    };
    SmallVector<Value> args{LLVM::AddressOfOp::create(b, loc, image), kernelName(launch)};
    for (Value v : {launch.getGridSizeX(), launch.getGridSizeY(), launch.getGridSizeZ(), launch.getBlockSizeX(),
                    launch.getBlockSizeY(), launch.getBlockSizeZ()}) {
      Value wide = toI64(v);
      if (!wide)
        return launch.emitError("sinter-gpu-host-to-runtime: grid and block sizes must be integers, not ")
               << v.getType();
      args.push_back(wide);
    }
    Value shared = launch.getDynamicSharedMemorySize();
    args.push_back(shared ? shared : LLVM::ConstantOp::create(b, loc, i32, b.getI32IntegerAttr(0)).getResult());
    args.push_back(array);

    OpBuilder top = OpBuilder::atBlockEnd(module.getBody());
    FailureOr<LLVM::LLVMFuncOp> launchFn = LLVM::lookupOrCreateFn(
        top, module, "__sinter_gpu_launch", {ptr, ptr, i64, i64, i64, i64, i64, i64, i32, ptr},
        LLVM::LLVMVoidType::get(ctx));
    if (failed(launchFn))
      return module.emitError("sinter-gpu-host-to-runtime: __sinter_gpu_launch has another signature");
    LLVM::CallOp::create(b, loc, *launchFn, args);
    launch.erase();
    return success();
  }

  /// The address of the launched kernel's name, a global made once.
  Value kernelName(gpu::LaunchFuncOp launch) {
    ModuleOp module = getOperation();
    StringRef name = launch.getKernelName().getValue();
    std::string symbol = ("__sinter_gpu_kernel." + name).str();
    auto global = module.lookupSymbol<LLVM::GlobalOp>(symbol);
    if (!global) {
      OpBuilder top = OpBuilder::atBlockEnd(module.getBody());
      global = byteString(top, launch.getLoc(), symbol, name);
    }
    OpBuilder b(launch);
    return LLVM::AddressOfOp::create(b, launch.getLoc(), global);
  }
};

} // namespace
