// The spike dialect: registration, the spike train type's syntax, and the
// verifiers that tie time-folded tensors to spike trains.
#include "sinter/Dialect/Spike/SpikeDialect.h"

#include "sinter/Support/Shapes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace sinter::spike;
using sinter::compatibleShapes;

#include "sinter/Dialect/Spike/SpikeDialect.cpp.inc"
#define GET_TYPEDEF_CLASSES
#include "sinter/Dialect/Spike/SpikeTypes.cpp.inc"
#define GET_OP_CLASSES
#include "sinter/Dialect/Spike/SpikeOps.cpp.inc"

void SpikeDialect::initialize() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "sinter/Dialect/Spike/SpikeTypes.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "sinter/Dialect/Spike/SpikeOps.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// Spike train type
//===----------------------------------------------------------------------===//

LogicalResult TrainType::verify(function_ref<InFlightDiagnostic()> emitError, ArrayRef<int64_t> shape, bool) {
  if (shape.size() < 2)
    return emitError() << "a spike train needs the time steps and at least one neuron dimension";
  if (ShapedType::isDynamic(shape.front()) || shape.front() < 1)
    return emitError() << "the time steps (leading dimension) must be static and positive";
  if (auto d = sinter::negativeDim(shape))
    return emitError() << "dimensions must be non-negative, not " << *d;
  return success();
}

Type TrainType::parse(AsmParser &parser) {
  SmallVector<int64_t> shape;
  if (parser.parseLess() || parser.parseDimensionList(shape, /*allowDynamic=*/true, /*withTrailingX=*/false))
    return {};
  bool isSigned = false;
  if (succeeded(parser.parseOptionalComma())) {
    if (parser.parseKeyword("signed"))
      return {};
    isSigned = true;
  }
  if (parser.parseGreater())
    return {};
  return parser.getChecked<TrainType>(parser.getContext(), shape, isSigned);
}

void TrainType::print(AsmPrinter &printer) const {
  printer << "<";
  printer.printDimensionList(getShape());
  if (getIsSigned())
    printer << ", signed";
  printer << ">";
}

//===----------------------------------------------------------------------===//
// Ops
//===----------------------------------------------------------------------===//

namespace {

/// The time-folded shape of `perStep` repeated over `steps`: leading
/// dimension times T.
SmallVector<int64_t> foldTime(ArrayRef<int64_t> perStep, int64_t steps) {
  SmallVector<int64_t> shape(perStep);
  if (!ShapedType::isDynamic(shape.front()))
    shape.front() *= steps;
  return shape;
}

/// The shape of one step of a time-folded shape, or failure when its
/// static leading dimension is not a multiple of the steps.
FailureOr<SmallVector<int64_t>> unfoldTime(ArrayRef<int64_t> folded, int64_t steps) {
  SmallVector<int64_t> shape(folded);
  if (!ShapedType::isDynamic(shape.front())) {
    if (shape.front() % steps)
      return failure();
    shape.front() /= steps;
  }
  return shape;
}

/// A threshold or membrane: 0-D (one per layer) or one value per neuron.
LogicalResult verifyPerNeuron(Operation *op, Type type, int64_t neurons, StringRef what) {
  auto t = cast<RankedTensorType>(type);
  if (t.getRank() == 0)
    return success();
  if (t.getRank() == 1 && compatibleShapes(t.getShape(), {neurons}))
    return success();
  return op->emitOpError() << what << " must be 0-D (one per layer) or hold one value per neuron (" << neurons
                           << "), not " << t;
}

/// A time-folded tensor of `type` against the spike train `train`, whose
/// last dimension may differ (`lastDim`; the train's when nullopt).
LogicalResult verifyFolded(Operation *op, RankedTensorType type, TrainType train, StringRef what,
                           std::optional<int64_t> lastDim = std::nullopt) {
  SmallVector<int64_t> perStep(train.getShape().drop_front());
  if (lastDim)
    perStep.back() = *lastDim;
  if (!compatibleShapes(type.getShape(), foldTime(perStep, train.getSteps())))
    return op->emitOpError() << what << " " << type << " must be " << train
                             << "'s steps folded into its leading dimension";
  return success();
}

} // namespace

LogicalResult EncodeOp::verify() {
  auto in = cast<RankedTensorType>(getInput().getType());
  auto out = cast<RankedTensorType>(getOutput().getType());
  if (in.getRank() < 1)
    return emitOpError("needs an input of rank at least 1 (its leading dimension takes the time steps)");
  if (in.getElementType() != out.getElementType() || !compatibleShapes(foldTime(in.getShape(), getSteps()), out.getShape()))
    return emitOpError("result ") << out << " must be the input " << in << " repeated " << getSteps()
                                  << " times along its leading dimension";
  return success();
}

OpFoldResult EncodeOp::fold(FoldAdaptor) {
  return getSteps() == 1 && getInput().getType() == getType() ? getInput() : Value();
}

LogicalResult DecodeOp::verify() {
  auto in = cast<RankedTensorType>(getInput().getType());
  auto out = cast<RankedTensorType>(getOutput().getType());
  if (in.getRank() < 1)
    return emitOpError("needs an input of rank at least 1 (its leading dimension holds the time steps)");
  auto perStep = unfoldTime(in.getShape(), getSteps());
  if (failed(perStep))
    return emitOpError("input's leading dimension ") << in.getDimSize(0) << " is not a multiple of the "
                                                     << getSteps() << " steps";
  if (!compatibleShapes(*perStep, out.getShape()))
    return emitOpError("result ") << out << " must be one step of the input " << in;
  return success();
}

OpFoldResult DecodeOp::fold(FoldAdaptor) {
  if (getSteps() == 1 && getInput().getType() == getType())
    return getInput();
  // The mean of T copies is the value itself.
  if (auto encode = getInput().getDefiningOp<EncodeOp>())
    if (encode.getSteps() == getSteps() && encode.getInput().getType() == getType())
      return encode.getInput();
  return {};
}

LogicalResult IFOp::verify() {
  auto current = cast<RankedTensorType>(getCurrent().getType());
  auto train = cast<TrainType>(getSpikes().getType());
  if (current.getRank() < 1)
    return emitOpError("needs a current of rank at least 1");
  if (current.getRank() + 1 != (int64_t)train.getShape().size())
    return emitOpError("result ") << train << " must have one dimension (the steps) more than the current "
                                  << current;
  if (failed(unfoldTime(current.getShape(), train.getSteps())))
    return emitOpError("current's leading dimension ") << current.getDimSize(0) << " is not a multiple of the "
                                                       << train.getSteps() << " steps";
  if (failed(verifyFolded(*this, current, train, "current")))
    return failure();
  if (failed(verifyPerNeuron(*this, getThreshold().getType(), train.getNeurons(), "threshold")))
    return failure();
  if (getBound() && !train.getIsSigned())
    return emitOpError("bound applies to signed neurons only (a !spike.train<..., signed> result)");
  return success();
}

LogicalResult ValuesOp::verify() {
  auto train = cast<TrainType>(getSpikes().getType());
  if (failed(verifyPerNeuron(*this, getThreshold().getType(), train.getNeurons(), "threshold")))
    return failure();
  return verifyFolded(*this, cast<RankedTensorType>(getOutput().getType()), train, "result");
}

LogicalResult MatmulOp::verify() {
  auto train = cast<TrainType>(getSpikes().getType());
  auto weight = cast<RankedTensorType>(getWeight().getType());
  if (weight.getRank() != 2 || !compatibleShapes({weight.getDimSize(0)}, {train.getNeurons()}))
    return emitOpError("weight ") << weight << " must be [K, N] with K = " << train.getNeurons()
                                  << ", the spiking neurons";
  if (auto rate = getFiringRate(); rate && (rate->isNegative() || rate->convertToDouble() > 1.0))
    return emitOpError("firing_rate must be in [0, 1]");
  return verifyFolded(*this, cast<RankedTensorType>(getOutput().getType()), train, "result", weight.getDimSize(1));
}
