#include "sinter/Dialect/GSE/Quantize.h"

#include <algorithm>
#include <cmath>

namespace sinter::gse {

int64_t groupExponent(FormatAttr format, float top) {
  if (!(top > 0.0f))
    return format.minExponent();
  if (std::isinf(top))
    return format.maxExponent();
  int p;
  std::frexp(top, &p); // top = f · 2^p, f ∈ [0.5, 1): ⌊log₂ top⌋ = p − 1
  int64_t e = (int64_t)(p - 1) - (format.getMantissa() - 2);
  return std::clamp(e, format.minExponent(), format.maxExponent());
}

Quantized quantize(FormatAttr format, llvm::ArrayRef<float> values, int64_t lastDim) {
  const int64_t group = format.getGroup(), groups = format.groupsOf(lastDim), rows = values.size() / lastDim;
  const float limit = (float)format.maxMantissa();
  Quantized out;
  out.mantissas.resize(values.size());
  out.exponents.resize(rows * groups);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t g = 0; g < groups; ++g) {
      int64_t begin = r * lastDim + g * group, end = r * lastDim + std::min(lastDim, (g + 1) * group);
      float top = 0.0f;
      for (int64_t i = begin; i < end; ++i)
        top = std::max(top, std::fabs(values[i])); // NaN compares false: ignored
      int64_t e = groupExponent(format, top);
      out.exponents[r * groups + g] = (int8_t)e;
      for (int64_t i = begin; i < end; ++i) {
        float scaled = std::ldexp(values[i], (int)-e);
        float q = std::isnan(scaled) ? 0.0f : std::clamp(std::nearbyint(scaled), -limit, limit);
        out.mantissas[i] = (int8_t)q;
      }
    }
  return out;
}

std::vector<float> dequantize(FormatAttr format, llvm::ArrayRef<int8_t> mantissas, llvm::ArrayRef<int8_t> exponents,
                              int64_t lastDim) {
  const int64_t group = format.getGroup(), groups = format.groupsOf(lastDim);
  std::vector<float> out(mantissas.size());
  for (size_t i = 0; i < mantissas.size(); ++i) {
    int64_t r = i / lastDim, g = (i % lastDim) / group;
    out[i] = std::ldexp((float)mantissas[i], exponents[r * groups + g]);
  }
  return out;
}

std::vector<uint8_t> panelMantissas(llvm::ArrayRef<int8_t> mantissas, int64_t n, int64_t k, int64_t group,
                                    bool nibbles) {
  const int64_t groups = (k + group - 1) / group, gq = paddedGroup(group, nibbles), kp = groups * gq;
  const int64_t panels = (n + kPanelOutputs - 1) / kPanelOutputs, offset = nibbles ? 8 : 128;
  std::vector<uint8_t> out(panels * kp * kPanelOutputs, (uint8_t)offset);
  for (int64_t j = 0; j < n; ++j)
    for (int64_t i = 0; i < k; ++i) {
      int64_t kk = (i / group) * gq + i % group;
      int64_t byte = (((j / kPanelOutputs) * (kp / 4) + kk / 4) * kPanelOutputs + j % kPanelOutputs) * 4 + kk % 4;
      out[byte] = (uint8_t)(mantissas[j * k + i] + offset);
    }
  if (!nibbles)
    return out;
  // Quads 2c and 2c + 1 are consecutive blocks of 64 bytes: fold each pair.
  const int64_t block = 4 * kPanelOutputs;
  std::vector<uint8_t> packed(out.size() / 2);
  for (size_t pair = 0; pair < packed.size() / block; ++pair)
    for (int64_t b = 0; b < block; ++b)
      packed[pair * block + b] = (uint8_t)(out[2 * pair * block + b] | out[(2 * pair + 1) * block + b] << 4);
  return packed;
}

std::vector<int8_t> panelExponents(llvm::ArrayRef<int8_t> exponents, int64_t n, int64_t groups) {
  const int64_t panels = (n + kPanelOutputs - 1) / kPanelOutputs;
  std::vector<int8_t> out(panels * groups * kPanelOutputs, 0);
  for (int64_t j = 0; j < n; ++j)
    for (int64_t g = 0; g < groups; ++g)
      out[((j / kPanelOutputs) * groups + g) * kPanelOutputs + j % kPanelOutputs] = exponents[j * groups + g];
  return out;
}

} // namespace sinter::gse
