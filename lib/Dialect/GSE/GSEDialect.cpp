// The gse dialect: registration, the tensor type's syntax, verifiers and
// folders (compile-time quantization of constants).
#include "sinter/Dialect/GSE/GSEDialect.h"
#include "sinter/Dialect/GSE/Quantize.h"
#include "sinter/Support/ConstantData.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "sinter/Support/Shapes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace sinter::gse;
using sinter::compatibleShapes;

#include "sinter/Dialect/GSE/GSEDialect.cpp.inc"
#define GET_ATTRDEF_CLASSES
#include "sinter/Dialect/GSE/GSEAttrs.cpp.inc"
#define GET_TYPEDEF_CLASSES
#include "sinter/Dialect/GSE/GSETypes.cpp.inc"
#define GET_OP_CLASSES
#include "sinter/Dialect/GSE/GSEOps.cpp.inc"

void GSEDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "sinter/Dialect/GSE/GSEAttrs.cpp.inc"
      >();
  addTypes<
#define GET_TYPEDEF_LIST
#include "sinter/Dialect/GSE/GSETypes.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "sinter/Dialect/GSE/GSEOps.cpp.inc"
      >();
}

/// gse.constant folds to [mantissas, exponents]; f32 constants (folded
/// dequantizes) become arith.constant.
Operation *GSEDialect::materializeConstant(OpBuilder &builder, Attribute value, Type type, Location loc) {
  if (auto gseType = dyn_cast<GSETensorType>(type)) {
    auto pair = dyn_cast<ArrayAttr>(value);
    if (!pair || pair.size() != 2 || !isa<ElementsAttr>(pair[0]) || !isa<ElementsAttr>(pair[1]))
      return nullptr;
    return ConstantOp::create(builder, loc, gseType, cast<ElementsAttr>(pair[0]), cast<ElementsAttr>(pair[1]));
  }
  if (auto typed = dyn_cast<TypedAttr>(value))
    if (arith::ConstantOp::isBuildableWith(typed, type))
      return arith::ConstantOp::create(builder, loc, type, typed);
  return nullptr;
}

//===----------------------------------------------------------------------===//
// Format and tensor type
//===----------------------------------------------------------------------===//

LogicalResult FormatAttr::verify(function_ref<InFlightDiagnostic()> emitError, int64_t group, int64_t mantissa,
                                 int64_t exponent) {
  if (group < 1 || group > 4096)
    return emitError() << "group must be in 1..4096, not " << group;
  if (mantissa < 2 || mantissa > 8)
    return emitError() << "mantissa bits must be in 2..8, not " << mantissa;
  if (exponent < 2 || exponent > 8)
    return emitError() << "exponent bits must be in 2..8 (8: the E8M0 scale of OCP MX), not " << exponent;
  return success();
}

LogicalResult GSETensorType::verify(function_ref<InFlightDiagnostic()> emitError, ArrayRef<int64_t> shape,
                                 FormatAttr format) {
  if (shape.empty())
    return emitError() << "a GSE tensor needs a rank of at least 1 (its last dimension holds the groups)";
  if (ShapedType::isDynamic(shape.back()) || shape.back() < 1)
    return emitError() << "the last dimension of a GSE tensor must be static and positive (it fixes the groups)";
  if (auto d = sinter::negativeDim(shape))
    return emitError() << "dimensions must be non-negative, not " << *d;
  return success();
}

Type GSETensorType::parse(AsmParser &parser) {
  SmallVector<int64_t> shape;
  FormatAttr format;
  if (parser.parseLess() || parser.parseDimensionList(shape, /*allowDynamic=*/true, /*withTrailingX=*/false) ||
      parser.parseComma() || parser.parseAttribute(format) || parser.parseGreater())
    return {};
  return parser.getChecked<GSETensorType>(parser.getContext(), shape, format);
}

void GSETensorType::print(AsmPrinter &printer) const {
  printer << "<";
  printer.printDimensionList(getShape());
  printer << ", ";
  printer.printAttribute(getFormat());
  printer << ">";
}

ShapedType GSETensorType::cloneWith(std::optional<ArrayRef<int64_t>> shape, Type) const {
  return GSETensorType::get(getContext(), shape ? *shape : getShape(), getFormat());
}

RankedTensorType GSETensorType::mantissaType() const {
  return RankedTensorType::get(getShape(), IntegerType::get(getContext(), 8));
}

RankedTensorType GSETensorType::exponentType() const {
  SmallVector<int64_t> shape(getShape());
  shape.back() = groups();
  return RankedTensorType::get(shape, IntegerType::get(getContext(), 8));
}

//===----------------------------------------------------------------------===//
// Ops
//===----------------------------------------------------------------------===//

LogicalResult QuantizeOp::verify() {
  auto in = cast<ShapedType>(getInput().getType());
  auto out = cast<GSETensorType>(getOutput().getType());
  if (!in.hasRank() || !compatibleShapes(in.getShape(), out.getShape()))
    return emitOpError("result shape ") << out << " must match the input's, " << in;
  return success();
}

OpFoldResult QuantizeOp::fold(FoldAdaptor adaptor) {
  auto type = cast<GSETensorType>(getType());
  // Requantizing dequantized values in their own format gives them back:
  // the group's largest value keeps its exponent and the mantissas are exact.
  if (auto dequantize = getInput().getDefiningOp<DequantizeOp>())
    if (dequantize.getInput().getType() == type)
      return dequantize.getInput();
  if (!adaptor.getInput() || !cast<ShapedType>(type).hasStaticShape())
    return {};
  auto values = sinter::readF32(adaptor.getInput());
  if (!values)
    return {};
  Quantized q = quantize(type.getFormat(), *values, type.lastDim());
  auto bytes = [](const std::vector<int8_t> &v) {
    return ArrayRef<char>(reinterpret_cast<const char *>(v.data()), v.size());
  };
  return ArrayAttr::get(getContext(), {sinter::makeElements(type.mantissaType(), bytes(q.mantissas), "gse_mantissas"),
                                       sinter::makeElements(type.exponentType(), bytes(q.exponents), "gse_exponents")});
}

LogicalResult DequantizeOp::verify() {
  auto in = cast<GSETensorType>(getInput().getType());
  auto out = cast<ShapedType>(getOutput().getType());
  if (!out.hasRank() || !compatibleShapes(in.getShape(), out.getShape()))
    return emitOpError("result shape ") << out << " must match the input's, " << in;
  return success();
}

OpFoldResult DequantizeOp::fold(FoldAdaptor adaptor) {
  auto pair = dyn_cast_or_null<ArrayAttr>(adaptor.getInput());
  auto type = cast<GSETensorType>(getInput().getType());
  auto outType = cast<ShapedType>(getType());
  if (!pair || !outType.hasStaticShape())
    return {};
  auto mantissas = sinter::readBytes(pair[0]), exponents = sinter::readBytes(pair[1]);
  if (!mantissas || !exponents)
    return {};
  auto asInt8 = [](const std::vector<char> &v) {
    return ArrayRef<int8_t>(reinterpret_cast<const int8_t *>(v.data()), v.size());
  };
  std::vector<float> values = dequantize(type.getFormat(), asInt8(*mantissas), asInt8(*exponents), type.lastDim());
  return sinter::makeF32Elements(outType, values, "gse_dequantized");
}

LogicalResult ConstantOp::verify() {
  auto type = cast<GSETensorType>(getType());
  if (!cast<ShapedType>(type).hasStaticShape())
    return emitOpError("needs a static shape, not ") << type;
  auto check = [&](ElementsAttr attr, RankedTensorType want, StringRef what) -> LogicalResult {
    if (attr.getShapedType() != want)
      return emitOpError(what) << " must be " << want << ", not " << attr.getShapedType();
    return success();
  };
  if (failed(check(getMantissas(), type.mantissaType(), "mantissas")) ||
      failed(check(getExponents(), type.exponentType(), "exponents")))
    return failure();
  FormatAttr format = type.getFormat();
  // Small dense constants are checked value by value; large ones (resource
  // blobs) come from the quantizer, which keeps to the ranges.
  if (auto dense = dyn_cast<DenseIntElementsAttr>(getMantissas()))
    for (APInt v : dense.getValues<APInt>())
      if (std::abs(v.getSExtValue()) > format.maxMantissa())
        return emitOpError("mantissa ") << v.getSExtValue() << " is outside ±" << format.maxMantissa() << " ("
                                        << format.getMantissa() << " bits)";
  if (auto dense = dyn_cast<DenseIntElementsAttr>(getExponents()))
    for (APInt v : dense.getValues<APInt>())
      if (v.getSExtValue() < format.minExponent() || v.getSExtValue() > format.maxExponent())
        return emitOpError("exponent ") << v.getSExtValue() << " is outside [" << format.minExponent() << ", "
                                        << format.maxExponent() << "] (" << format.getExponent() << " bits)";
  return success();
}

LogicalResult GatherOp::verify() {
  auto table = cast<GSETensorType>(getTable().getType());
  auto indices = cast<ShapedType>(getIndices().getType());
  auto out = cast<ShapedType>(getOutput().getType());
  if (table.getShape().size() != 2)
    return emitOpError("gathers rows of a matrix [V, D], not ") << table;
  if (!indices.hasRank())
    return emitOpError("needs ranked indices");
  SmallVector<int64_t> want(indices.getShape());
  want.push_back(table.lastDim());
  if (!out.hasRank() || !compatibleShapes(out.getShape(), want))
    return emitOpError("result must be [indices..., D] = ") << RankedTensorType::get(want, out.getElementType())
                                                           << ", not " << out;
  return success();
}

LogicalResult TransposeOp::verify() {
  auto in = cast<GSETensorType>(getInput().getType());
  auto out = cast<GSETensorType>(getOutput().getType());
  if (in.getShape().size() != 2)
    return emitOpError("transposes a matrix [N, K], not ") << in;
  if (in.getFormat() != out.getFormat())
    return emitOpError("keeps the format: ") << in.getFormat() << " became " << out.getFormat();
  SmallVector<int64_t> want = {in.getShape()[1], in.getShape()[0]};
  if (!compatibleShapes(out.getShape(), want))
    return emitOpError("result must be [K, N] = [") << want[0] << ", " << want[1] << "], not " << out;
  return success();
}

OpFoldResult ConstantOp::fold(FoldAdaptor) {
  return ArrayAttr::get(getContext(), {getMantissas(), getExponents()});
}

LogicalResult MatmulOp::verify() {
  auto lhs = cast<GSETensorType>(getLhs().getType());
  auto rhs = cast<GSETensorType>(getRhs().getType());
  auto out = cast<ShapedType>(getOutput().getType());
  if (lhs.getShape().size() < 2 || rhs.getShape().size() != 2)
    return emitOpError("lhs must be [..., M, K] and rhs [N, K], not ") << lhs << " and " << rhs;
  if (lhs.lastDim() != rhs.lastDim())
    return emitOpError("contracts K: lhs has ") << lhs.lastDim() << ", rhs " << rhs.lastDim();
  if (lhs.getFormat().getGroup() != rhs.getFormat().getGroup())
    return emitOpError("needs one group size on both sides, not ")
           << lhs.getFormat().getGroup() << " and " << rhs.getFormat().getGroup();
  SmallVector<int64_t> want(lhs.getShape());
  want.back() = rhs.getShape()[0];
  if (!out.hasRank() || !compatibleShapes(out.getShape(), want))
    return emitOpError("result must be [..., M, N] = ") << RankedTensorType::get(want, out.getElementType())
                                                      << ", not " << out;
  return success();
}
