// The bnn dialect: registration, verifiers and the sign-packing folder.
#include "sinter/Dialect/BNN/BNNDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace sinter::bnn;

#include "sinter/Dialect/BNN/BNNDialect.cpp.inc"
#include "sinter/Dialect/BNN/BNNEnums.cpp.inc"
#define GET_ATTRDEF_CLASSES
#include "sinter/Dialect/BNN/BNNAttrs.cpp.inc"
#define GET_OP_CLASSES
#include "sinter/Dialect/BNN/BNNOps.cpp.inc"

void BNNDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "sinter/Dialect/BNN/BNNAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "sinter/Dialect/BNN/BNNOps.cpp.inc"
      >();
}

Operation *BNNDialect::materializeConstant(OpBuilder &builder, Attribute value, Type type, Location loc) {
  if (auto typed = dyn_cast<TypedAttr>(value))
    if (arith::ConstantOp::isBuildableWith(typed, type))
      return arith::ConstantOp::create(builder, loc, type, typed);
  return nullptr;
}

namespace sinter::bnn {

std::vector<int8_t> packSigns(llvm::ArrayRef<float> w, int64_t k, int64_t n) {
  int64_t bytes = packedBytes(k);
  std::vector<int8_t> bits(n * bytes, 0);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < n; ++j)
      if (w[i * n + j] >= 0.0f)
        bits[j * bytes + i / 8] = (int8_t)((uint8_t)bits[j * bytes + i / 8] | (1u << (i % 8)));
  return bits;
}

std::vector<int8_t> tileSignRows(llvm::ArrayRef<int8_t> rows, int64_t k, int64_t n) {
  int64_t bytes = packedBytes(k), tiles = (n + kOutputTile - 1) / kOutputTile;
  std::vector<int8_t> out(tiles * bytes * kOutputTile, 0);
  for (int64_t j = 0; j < n; ++j)
    for (int64_t c = 0; c < bytes; ++c)
      out[((j / kOutputTile) * bytes + c) * kOutputTile + j % kOutputTile] = rows[j * bytes + c];
  return out;
}

} // namespace sinter::bnn

namespace {

/// A dimension that is static and differs from `want`.
bool mismatch(int64_t dim, int64_t want) { return !ShapedType::isDynamic(dim) && dim != want; }

} // namespace

LogicalResult PackSignsOp::verify() {
  auto w = cast<ShapedType>(getWeights().getType());
  auto bits = cast<ShapedType>(getBits().getType());
  if (mismatch(bits.getDimSize(0), w.getDimSize(1)) ||
      (!ShapedType::isDynamic(w.getDimSize(0)) && mismatch(bits.getDimSize(1), packedBytes(w.getDimSize(0)))))
    return emitOpError("packs [K, N] = [") << w.getDimSize(0) << ", " << w.getDimSize(1) << "] into [N, ceil(K/8)] = ["
                                           << w.getDimSize(1) << ", " << packedBytes(w.getDimSize(0))
                                           << "] bytes, not " << bits;
  return success();
}

OpFoldResult PackSignsOp::fold(FoldAdaptor adaptor) {
  auto w = dyn_cast_or_null<DenseElementsAttr>(adaptor.getWeights());
  auto type = cast<ShapedType>(getWeights().getType());
  if (!w || !type.hasStaticShape())
    return {};
  auto values = llvm::to_vector(w.getValues<float>());
  std::vector<int8_t> bits = packSigns(values, type.getDimSize(0), type.getDimSize(1));
  return DenseElementsAttr::get(cast<ShapedType>(getBits().getType()), llvm::ArrayRef<int8_t>(bits));
}

LogicalResult MoSLinearOp::verify() {
  auto in = cast<ShapedType>(getInput().getType());
  auto out = cast<ShapedType>(getOutput().getType());
  int64_t k = getInFeatures(), n = getOutFeatures(), e = getExperts();
  auto bits = cast<ShapedType>(getBits().getType());
  auto sIn = cast<ShapedType>(getScaleIn().getType());
  auto sOut = cast<ShapedType>(getScaleOut().getType());
  auto router = cast<ShapedType>(getRouter().getType());
  if (k <= 0)
    return emitOpError("in_features must be positive, not ") << k;
  if (ShapedType::isDynamic(n) || ShapedType::isDynamic(e) || e < 1)
    return emitOpError("needs static output features (bits dim 0) and experts (router dim 1 ≥ 1)");
  if (e > kMaxExperts)
    return emitOpError("has ") << e << " experts; at most " << kMaxExperts << " are supported";
  if (!in.hasRank() || in.getRank() < 1 || mismatch(in.getDimSize(in.getRank() - 1), k))
    return emitOpError("input's last dimension must be in_features = ") << k << ", not " << in;
  if (mismatch(bits.getDimSize(1), packedBytes(k)))
    return emitOpError("bits must be [N, ceil(K/8)] = [") << n << ", " << packedBytes(k) << "], not " << bits;
  if (mismatch(router.getDimSize(0), k))
    return emitOpError("router must be [K, E] = [") << k << ", " << e << "], not " << router;
  if (mismatch(sIn.getDimSize(0), e) || mismatch(sIn.getDimSize(1), k))
    return emitOpError("scale_in must be [E, K] = [") << e << ", " << k << "], not " << sIn;
  if (mismatch(sOut.getDimSize(0), e) || mismatch(sOut.getDimSize(1), n))
    return emitOpError("scale_out must be [E, N] = [") << e << ", " << n << "], not " << sOut;
  if (sIn.getElementType() != sOut.getElementType() || sIn.getElementType() != router.getElementType())
    return emitOpError("scale_in, scale_out and router must share one element type (f32 or f16), not ")
           << sIn.getElementType() << ", " << sOut.getElementType() << ", " << router.getElementType();
  if (getBias() && mismatch(cast<ShapedType>(getBias().getType()).getDimSize(0), n))
    return emitOpError("bias must be [N] = [") << n << "], not " << getBias().getType();
  if (!out.hasRank() || out.getRank() != in.getRank() || mismatch(out.getDimSize(out.getRank() - 1), n))
    return emitOpError("result must be the input's shape with last dimension ") << n << ", not " << out;
  for (int64_t i = 0; i + 1 < in.getRank(); ++i)
    if (!ShapedType::isDynamic(in.getDimSize(i)) && mismatch(out.getDimSize(i), in.getDimSize(i)))
      return emitOpError("result dimension ") << i << " must match the input's, " << in.getDimSize(i);
  return success();
}
