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

} // namespace sinter::gse

#endif
