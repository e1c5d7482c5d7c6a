// Reverse-mode rules of the gse ops (nn::GradientOpInterface), for
// --train-lora over GSE-quantized base weights: the gradient reaching a
// frozen GSE linear's input is itself an integer GEMM, dX = Q(dY)·W, with W
// transposed and requantized at compile time into the weights' format
// (grouped along its outputs), and Q the activations' group and mantissa
// with OCP MX's 8-bit exponent range. Quantization
// passes gradients straight through, as GSQ-Tuning trains.
#include "sinter/Dialect/GSE/GSEDialect.h"
#include "sinter/Dialect/GSE/Quantize.h"
#include "sinter/Support/ConstantData.h"

using namespace mlir;

namespace sinter::gse {

LogicalResult QuantizeOp::buildGradients(OpBuilder &, ValueRange resultGrads, ArrayRef<bool> wanted,
                                         SmallVectorImpl<Value> &out) {
  out.push_back(wanted[0] ? resultGrads[0] : Value());
  return success();
}

/// W [N, K] as Wᵀ [K, N] in the same format.
static Value transposedConstant(OpBuilder &b, Location loc, ConstantOp weight) {
  auto type = cast<GSETensorType>(weight.getType());
  auto mantissas = readBytes(weight.getMantissas()), exponents = readBytes(weight.getExponents());
  if (!mantissas || !exponents)
    return {};
  int64_t n = type.getShape()[0], k = type.lastDim();
  auto asInt8 = [](const std::vector<char> &v) {
    return ArrayRef<int8_t>(reinterpret_cast<const int8_t *>(v.data()), v.size());
  };
  std::vector<float> w = dequantize(type.getFormat(), asInt8(*mantissas), asInt8(*exponents), k);
  std::vector<float> wt(w.size());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < k; ++j)
      wt[j * n + i] = w[i * k + j];
  Quantized q = quantize(type.getFormat(), wt, n);
  auto tType = GSETensorType::get(b.getContext(), {k, n}, type.getFormat());
  auto bytes = [](const std::vector<int8_t> &v) {
    return ArrayRef<char>(reinterpret_cast<const char *>(v.data()), v.size());
  };
  return ConstantOp::create(b, loc, tType, makeElements(tType.mantissaType(), bytes(q.mantissas), "gse_transposed_mantissas"),
                            makeElements(tType.exponentType(), bytes(q.exponents), "gse_transposed_exponents"));
}

LogicalResult MatmulOp::buildGradients(OpBuilder &b, ValueRange resultGrads, ArrayRef<bool> wanted,
                                       SmallVectorImpl<Value> &out) {
  if (wanted[1])
    return emitError("cannot differentiate with respect to a GSE weight: train adapters beside it instead");
  Value dy = resultGrads[0];
  if (!wanted[0] || !dy) {
    out.append({Value(), Value()});
    return success();
  }
  auto weight = getRhs().getDefiningOp<ConstantOp>();
  Value wt = weight ? transposedConstant(b, getLoc(), weight) : Value();
  if (!wt)
    return emitError("differentiates only through a constant weight");
  // Gradients are the activations' group and mantissa with an 8-bit
  // exponent: they shrink layer by layer far below what a 5-bit exponent
  // reaches (2^-16), where they would round to zero, and a wide shared
  // exponent costs nothing per element.
  auto a = cast<GSETensorType>(getLhs().getType()).getFormat();
  auto gradFormat = FormatAttr::get(b.getContext(), a.getGroup(), a.getMantissa(), std::max<int64_t>(8, a.getExponent()));
  auto lhsType = cast<GSETensorType>(getLhs().getType());
  auto dyType = cast<RankedTensorType>(dy.getType());
  auto dq = QuantizeOp::create(b, getLoc(), GSETensorType::get(b.getContext(), dyType.getShape(), gradFormat), dy);
  auto dxType = RankedTensorType::get(lhsType.getShape(), b.getF32Type());
  out.push_back(MatmulOp::create(b, getLoc(), dxType, dq, wt));
  out.push_back(Value());
  return success();
}

} // namespace sinter::gse
