// The GSE number format in plain C++: what gse.quantize folds with and
// what the compression pass stores (the numpy reference is
// python/sinter/gse.py).
#ifndef SINTER_DIALECT_GSE_QUANTIZE_H
#define SINTER_DIALECT_GSE_QUANTIZE_H

#include "sinter/Dialect/GSE/GSEDialect.h"

#include "llvm/ADT/ArrayRef.h"

#include <cstdint>
#include <vector>

namespace sinter::gse {

/// Mantissas (one per value) and exponents (one per group) of row-major
/// values grouped along their last dimension.
struct Quantized {
  std::vector<int8_t> mantissas, exponents;
};

/// The exponent of a group whose largest magnitude is `top`:
/// ⌊log₂ top⌋ − (m − 2), clamped to the format's range; the smallest
/// exponent for an all-zero group, the largest for an infinite one.
int64_t groupExponent(FormatAttr format, float top);

/// Quantizes rows of `lastDim` values (NaN becomes 0; ±∞ saturates).
Quantized quantize(FormatAttr format, llvm::ArrayRef<float> values, int64_t lastDim);

/// q · 2^e for every value.
std::vector<float> dequantize(FormatAttr format, llvm::ArrayRef<int8_t> mantissas, llvm::ArrayRef<int8_t> exponents,
                              int64_t lastDim);

/// The CPU kernel's layout of a [N, K] weight (lib/Runtime/sinter_gse.c):
/// panels of 16 outputs; each group of K padded to whole quads of inputs
/// (whole pairs of quads for nibbles); for output n = 16t + n%16 and padded
/// input kk = g·gq + k%G (g = k/G, gq the padded group), byte
/// ((t·Kp/4 + kk/4)·16 + n%16)·4 + kk%4 holds q + 128 (u8, VNNI's unsigned
/// operand; padding holds 128, q = 0). With `nibbles` (mantissas of at most
/// 4 bits) each value is q + 8 in 4 bits, and the 64 bytes of quads 2c and
/// 2c + 1 share one block of 64: the low nibbles hold quad 2c.
inline constexpr int64_t kPanelOutputs = 16;
inline int64_t paddedGroup(int64_t group, bool nibbles) {
  int64_t step = nibbles ? 8 : 4;
  return (group + step - 1) / step * step;
}
std::vector<uint8_t> panelMantissas(llvm::ArrayRef<int8_t> mantissas, int64_t n, int64_t k, int64_t group,
                                    bool nibbles = false);
/// The exponents [N, groups] as [⌈N/16⌉][groups][16] (0 past N).
std::vector<int8_t> panelExponents(llvm::ArrayRef<int8_t> exponents, int64_t n, int64_t groups);

} // namespace sinter::gse

#endif
