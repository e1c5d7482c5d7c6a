// The --compress method registry (include/sinter/Compression/Methods.h).
#include "sinter/Compression/Methods.h"

#include <mutex>

using namespace sinter;

namespace {

struct Registry {
  std::mutex mutex;
  std::vector<CompressionMethod> methods{
      {"linearize-ffn", "sinter-linearize-ffn", true, "piecewise-linear FFNs folded into their projections (TARDIS)"},
      {"sparsify-ffn", "sinter-sparsify-ffn", true, "FFN activation sparsity, static or per token"},
      {"binary-mos", "sinter-binarize-linears", false,
       "1-bit decoder-block linears with token-adaptive scales (BinaryMoS), post-training"},
      {"gse", "sinter-gse-quantize-linears", false,
       "group-shared-exponent integer linears (GSQ-Tuning's GSE-INT), weights at compile time, activations per row"},
      {"spike", "sinter-convert-to-spiking", false,
       "spiking FFN neurons from QCFS activations over T time steps, accumulate-only synapses (FAS)"}};
};

Registry &registry() {
  static Registry r;
  return r;
}

} // namespace

bool sinter::registerCompressionMethod(CompressionMethod method) {
  Registry &r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  for (const CompressionMethod &m : r.methods)
    if (m.name == method.name)
      return false;
  r.methods.push_back(std::move(method));
  return true;
}

std::optional<CompressionMethod> sinter::lookupCompressionMethod(llvm::StringRef name) {
  Registry &r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  for (const CompressionMethod &m : r.methods)
    if (m.name == name)
      return m;
  return std::nullopt;
}

std::vector<CompressionMethod> sinter::compressionMethods() {
  Registry &r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  return r.methods;
}
