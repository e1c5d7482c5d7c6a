// libFuzzer target: arbitrary bytes into the ONNX importer. Every input must
// either import or fail with diagnostics — no crash, no leak, no hang.
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "sinter/Frontend/ONNXImporter.h"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mlir::MLIRContext ctx;
  ctx.disableMultithreading();
  bool sawError = false;
  mlir::ScopedDiagnosticHandler handler(&ctx, [&](mlir::Diagnostic &d) {
    sawError |= d.getSeverity() == mlir::DiagnosticSeverity::Error;
    return mlir::success();
  });
  // External data resolves against a folder that does not exist.
  auto module = sinter::importONNX(
      ctx, llvm::StringRef(reinterpret_cast<const char *>(data), size),
      "/nonexistent-sinter-fuzz-dir", "fuzz.onnx");
  if (module && failed(mlir::verify(*module)))
    std::abort(); // the importer produced invalid IR without an error
  if (!module && !sawError)
    std::abort(); // a failure without a diagnostic
  return 0;
}
