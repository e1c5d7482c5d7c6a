// Weights straight from their MLIR blobs into an object file of their own,
// so that translation to LLVM IR and code generation never copy them: the
// compiler's peak memory stays near one copy of the weights.
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "sinter/Target/ObjectEmitter.h"
#include "llvm/MC/MCAsmBackend.h"
#include "llvm/MC/MCCodeEmitter.h"
#include "llvm/MC/MCContext.h"
#include "llvm/MC/MCObjectFileInfo.h"
#include "llvm/MC/MCObjectWriter.h"
#include "llvm/MC/MCStreamer.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/MCTargetOptions.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace sinter {

std::vector<ExternalWeight> externalizeWeights(ModuleOp module, int64_t minBytes, llvm::StringRef prefix) {
  std::vector<ExternalWeight> weights;
  for (auto global : llvm::make_early_inc_range(module.getOps<LLVM::GlobalOp>())) {
    auto data = dyn_cast_or_null<DenseResourceElementsAttr>(global.getValueOrNull());
    AsmResourceBlob *blob = data ? data.getRawHandle().getBlob() : nullptr;
    if (!global.getConstant() || !blob || (int64_t)blob->getData().size() < minBytes ||
        !global.getInitializerRegion().empty())
      continue;
    // Global symbols now (hidden): prefixed with the model's name, so that
    // two models' objects link into one program.
    std::string symbol = (prefix + "." + global.getSymName()).str();
    if (failed(SymbolTable::replaceAllSymbolUses(global, StringAttr::get(module.getContext(), symbol), module)))
      continue;
    global.setSymName(symbol);
    weights.push_back({symbol, std::max<uint64_t>(global.getAlignment().value_or(1), 64), data});
    global.removeValueAttr();
    global.setLinkage(LLVM::Linkage::External);
    global.setVisibility_(LLVM::Visibility::Hidden);
    global.setDsoLocal(true);
    global.setAlignment(weights.back().alignment);
  }
  return weights;
}

LogicalResult writeWeightsObject(llvm::ArrayRef<ExternalWeight> weights, const TargetOptions &opts,
                                 llvm::StringRef path, bool release, std::string &error) {
  auto tm = createTargetMachine(opts, error);
  if (!tm)
    return failure();
  const llvm::Triple &triple = tm->getTargetTriple();
  if (!triple.isOSBinFormatELF()) {
    error = "weights objects are written for ELF targets only";
    return failure();
  }
  std::error_code ec;
  llvm::raw_fd_ostream out(path, ec, llvm::sys::fs::OF_None);
  if (ec) {
    error = "cannot write '" + path.str() + "': " + ec.message();
    return failure();
  }
  const llvm::MCSubtargetInfo &sti = *tm->getMCSubtargetInfo();
  llvm::MCContext ctx(triple, tm->getMCAsmInfo(), tm->getMCRegisterInfo(), &sti);
  std::unique_ptr<llvm::MCObjectFileInfo> fileInfo(tm->getTarget().createMCObjectFileInfo(ctx, /*PIC=*/true));
  ctx.setObjectFileInfo(fileInfo.get());
  llvm::MCTargetOptions mcOptions;
  std::unique_ptr<llvm::MCAsmBackend> backend(
      tm->getTarget().createMCAsmBackend(sti, *tm->getMCRegisterInfo(), mcOptions));
  std::unique_ptr<llvm::MCCodeEmitter> emitter(tm->getTarget().createMCCodeEmitter(*tm->getMCInstrInfo(), ctx));
  if (!backend || !emitter) {
    error = "the target cannot emit object files";
    return failure();
  }
  auto writer = backend->createObjectWriter(out);
  std::unique_ptr<llvm::MCStreamer> streamer(tm->getTarget().createMCObjectStreamer(
      triple, ctx, std::move(backend), std::move(writer), std::move(emitter), sti));

  // Each blob is freed after its last global is written (globals may share one).
  llvm::DenseMap<void *, int> remaining;
  for (const ExternalWeight &w : weights)
    ++remaining[w.data.getRawHandle().getResource()];
  streamer->switchSection(ctx.getObjectFileInfo()->getReadOnlySection());
  for (const ExternalWeight &w : weights) {
    auto *resource = w.data.getRawHandle().getResource();
    AsmResourceBlob *blob = resource->getBlob();
    if (!blob) {
      error = "the bytes of weight '" + w.symbol + "' were freed before they were written";
      return failure();
    }
    llvm::MCSymbol *symbol = ctx.getOrCreateSymbol(w.symbol);
    streamer->emitSymbolAttribute(symbol, llvm::MCSA_Global);
    streamer->emitSymbolAttribute(symbol, llvm::MCSA_Hidden);
    streamer->emitSymbolAttribute(symbol, llvm::MCSA_ELF_TypeObject);
    streamer->emitValueToAlignment(llvm::Align(w.alignment));
    streamer->emitLabel(symbol);
    llvm::ArrayRef<char> bytes = blob->getData();
    streamer->emitBytes(llvm::StringRef(bytes.data(), bytes.size()));
    streamer->emitELFSize(symbol, llvm::MCConstantExpr::create(bytes.size(), ctx));
    if (release && --remaining[resource] == 0)
      resource->setBlob(AsmResourceBlob());
  }
  streamer->finish();
  out.flush();
  return success();
}

} // namespace sinter
