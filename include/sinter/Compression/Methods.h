// The compression methods that `sinter-compile --compress=NAME[:k=v,...]`
// knows: the built-in ones and those a pass plugin registers
// (--load-pass-plugin), each the name of a registered MLIR pass.
#ifndef SINTER_COMPRESSION_METHODS_H
#define SINTER_COMPRESSION_METHODS_H

#include "llvm/ADT/StringRef.h"

#include <optional>
#include <string>
#include <vector>

namespace sinter {

struct CompressionMethod {
  std::string name;         // what --compress names, e.g. "sparsify-ffn"
  std::string passArgument; // the registered pass it runs, e.g. "sinter-sparsify-ffn"
  /// Whether the pass reads calibration statistics: sinter-compile then
  /// requires --calibration or --profile and passes `profile=FILE`.
  bool readsProfile = true;
  std::string summary; // one line, for the list in --compress errors
};

/// Makes `method` available to --compress; false if its name is taken.
/// Call it where the pass is registered (a plugin: in its registration
/// callback).
bool registerCompressionMethod(CompressionMethod method);

/// The method called `name`, if one is registered.
std::optional<CompressionMethod> lookupCompressionMethod(llvm::StringRef name);

/// Every method, built-in ones first, then in registration order.
std::vector<CompressionMethod> compressionMethods();

} // namespace sinter

#endif
