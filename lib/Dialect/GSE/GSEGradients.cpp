// Reverse-mode rules of the gse ops (nn::GradientOpInterface), for
// --train-lora over GSE-quantized base weights: the gradient reaching a
// frozen GSE linear's input is itself an integer GEMM, dX = Q(dY)·W, with W
// transposed and requantized into the weights' format grouped along its
// outputs (gse.transpose, which the kernel does block by block from W's
// own panels), and Q the activations' group and mantissa
// with OCP MX's 8-bit exponent range. Quantization
// passes gradients straight through, as GSQ-Tuning trains.
#include "sinter/Dialect/GSE/GSEDialect.h"

using namespace mlir;

namespace sinter::gse {

LogicalResult QuantizeOp::buildGradients(OpBuilder &, ValueRange resultGrads, ArrayRef<bool> wanted,
                                         SmallVectorImpl<Value> &out) {
  out.push_back(wanted[0] ? resultGrads[0] : Value());
  return success();
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
  auto rhsType = cast<GSETensorType>(getRhs().getType());
  auto wtType = GSETensorType::get(b.getContext(), {rhsType.getShape()[1], rhsType.getShape()[0]}, rhsType.getFormat());
  Value wt = TransposeOp::create(b, getLoc(), wtType, getRhs());
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
