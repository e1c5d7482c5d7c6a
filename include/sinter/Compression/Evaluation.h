// Held-out accuracy of a byte-level language model, measured in the
// compiler so that the compile report can state what compression cost. The
// protocol is sinter.eval's (docs/evaluation.md).
#ifndef SINTER_COMPRESSION_EVALUATION_H
#define SINTER_COMPRESSION_EVALUATION_H

#include "sinter/runtime/sinter.h"

#include "llvm/ADT/StringRef.h"

#include <optional>
#include <string>

namespace sinter {

struct BitsPerByte {
  double bits = 0;
  int64_t bytes = 0; // bytes predicted
};

/// Bits per byte of `model` (int64 ids [batch, seq] → f32 logits
/// [batch, seq, ≥256] as its first output) on `text`: windows of `context`
/// + 1 bytes sharing their boundary byte, every byte after the first
/// predicted once.
std::optional<BitsPerByte> bitsPerByte(const sinter_model *model, llvm::StringRef text, int64_t context,
                                       std::string &error);

} // namespace sinter

#endif
