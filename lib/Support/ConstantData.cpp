#include "sinter/Support/ConstantData.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/Operation.h"

#include <cstring>

using namespace mlir;

namespace sinter {

namespace {
/// A reader of element i from raw bytes of f32 or IEEE half values.
std::function<float(int64_t)> floatReader(const char *data, bool half) {
  if (half)
    return [data](int64_t i) {
      uint16_t h;
      std::memcpy(&h, data + i * sizeof(h), sizeof(h));
      return llvm::APFloat(llvm::APFloat::IEEEhalf(), llvm::APInt(16, h)).convertToFloat();
    };
  return [data](int64_t i) {
    float v;
    std::memcpy(&v, data + i * sizeof(float), sizeof(float));
    return v;
  };
}
} // namespace

std::optional<std::function<float(int64_t)>> f32Values(Attribute init) {
  auto elements = dyn_cast<ElementsAttr>(init);
  if (!elements || !(elements.getElementType().isF32() || elements.getElementType().isF16()))
    return std::nullopt;
  bool half = elements.getElementType().isF16();
  size_t width = half ? 2 : 4;
  if (auto res = dyn_cast<DenseResourceElementsAttr>(init)) {
    AsmResourceBlob *blob = res.getRawHandle().getBlob();
    if (!blob || blob->getData().size() != (size_t)res.getNumElements() * width)
      return std::nullopt;
    return floatReader(blob->getData().data(), half);
  }
  auto dense = dyn_cast<DenseFPElementsAttr>(init);
  if (!dense)
    return std::nullopt;
  if (dense.isSplat()) {
    float v = floatReader(dense.getRawData().data(), half)(0);
    return std::function<float(int64_t)>([v](int64_t) { return v; });
  }
  return floatReader(dense.getRawData().data(), half);
}

std::optional<std::vector<float>> readF32(Attribute init) {
  auto values = f32Values(init);
  auto shaped = dyn_cast<ShapedType>(cast<TypedAttr>(init).getType());
  if (!values || !shaped || !shaped.hasStaticShape())
    return std::nullopt;
  std::vector<float> out(shaped.getNumElements());
  for (int64_t i = 0; i < (int64_t)out.size(); ++i)
    out[i] = (*values)(i);
  return out;
}

std::optional<std::vector<float>> readF32OrZeros(Attribute init, int64_t n) {
  return init ? readF32(init) : std::vector<float>(n, 0.0f);
}

std::optional<std::vector<float>> readConstantF32(Value v) {
  Attribute init;
  if (!v || !matchPattern(v, m_Constant(&init)))
    return std::nullopt;
  return readF32(init);
}

std::optional<std::vector<char>> readBytes(Attribute init) {
  auto elements = dyn_cast<ElementsAttr>(init);
  if (!elements || !elements.getElementType().isIntOrFloat() ||
      elements.getElementType().getIntOrFloatBitWidth() % 8 != 0)
    return std::nullopt;
  size_t width = elements.getElementType().getIntOrFloatBitWidth() / 8;
  size_t size = (size_t)elements.getNumElements() * width;
  if (auto res = dyn_cast<DenseResourceElementsAttr>(init)) {
    AsmResourceBlob *blob = res.getRawHandle().getBlob();
    if (!blob || blob->getData().size() != size)
      return std::nullopt;
    return std::vector<char>(blob->getData().begin(), blob->getData().end());
  }
  auto dense = dyn_cast<DenseElementsAttr>(init);
  if (!dense)
    return std::nullopt;
  ArrayRef<char> raw = dense.getRawData();
  if (!dense.isSplat())
    return std::vector<char>(raw.begin(), raw.end());
  std::vector<char> out(size);
  for (size_t i = 0; i < size; i += width)
    std::memcpy(out.data() + i, raw.data(), width);
  return out;
}

ElementsAttr makeElements(ShapedType type, llvm::ArrayRef<char> bytes, llvm::StringRef name) {
  if (bytes.size() < 256)
    return DenseElementsAttr::getFromRawBuffer(type, bytes);
  AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, 64);
  return DenseResourceElementsAttr::get(type, name, std::move(blob));
}

ElementsAttr makeFloatElements(ShapedType type, ArrayRef<float> values, StringRef name) {
  if (!type.getElementType().isF16())
    return makeF32Elements(type, values, name);
  std::vector<uint16_t> halves(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    bool lost;
    llvm::APFloat v(values[i]);
    v.convert(llvm::APFloat::IEEEhalf(), llvm::APFloat::rmNearestTiesToEven, &lost);
    halves[i] = (uint16_t)v.bitcastToAPInt().getZExtValue();
  }
  return makeElements(type, {reinterpret_cast<const char *>(halves.data()), halves.size() * sizeof(uint16_t)}, name);
}

void replaceConstantOperand(OpOperand &use, ArrayRef<int64_t> shape, ArrayRef<float> values, StringRef name,
                            Type elementType) {
  Operation *old = use.get().getDefiningOp();
  OpBuilder b(old ? old : use.getOwner());
  auto type = RankedTensorType::get(shape, elementType ? elementType : b.getF32Type());
  use.set(arith::ConstantOp::create(b, use.getOwner()->getLoc(), makeFloatElements(type, values, name)));
  if (old && old->use_empty())
    old->erase();
}

void releaseResourceBlobs(Operation *root) {
  root->walk([](Operation *op) {
    for (NamedAttribute a : op->getAttrs())
      if (auto res = dyn_cast<DenseResourceElementsAttr>(a.getValue()))
        if (auto *entry = res.getRawHandle().getResource(); entry && entry->getBlob())
          entry->setBlob(AsmResourceBlob());
  });
}

} // namespace sinter
