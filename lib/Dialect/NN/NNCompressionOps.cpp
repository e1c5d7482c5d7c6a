// Verifiers of the ops that compression passes add to nn (not ONNX ops):
// their operands are weight tables whose shapes must agree with each other
// and with the input, since the runtime kernels trust them.
#include "sinter/Dialect/NN/NNDialect.h"

using namespace mlir;
using namespace sinter::nn;

namespace {
RankedTensorType rankedOf(Value v) { return cast<RankedTensorType>(v.getType()); }

/// Whether every dimension but the last agrees where both are static.
bool sameRows(RankedTensorType a, RankedTensorType b) {
  if (a.getRank() != b.getRank())
    return false;
  for (int64_t i = 0; i + 1 < a.getRank(); ++i)
    if (!a.isDynamicDim(i) && !b.isDynamicDim(i) && a.getDimSize(i) != b.getDimSize(i))
      return false;
  return true;
}

/// `v` is a static tensor of exactly `shape`.
bool hasShape(Value v, ArrayRef<int64_t> shape) {
  auto t = rankedOf(v);
  return t.hasStaticShape() && t.getShape() == shape;
}
} // namespace

LogicalResult FFNOutlierCorrectionOp::verify() {
  auto x = rankedOf(getInput()), linear = rankedOf(getLinear()), out = rankedOf(getOutput());
  if (x.getRank() < 1 || linear.getRank() != x.getRank() || out != linear)
    return emitOpError("input and linear must have one rank and the result linear's type");
  for (int64_t i = 0; i + 1 < x.getRank(); ++i)
    if (!x.isDynamicDim(i) && !linear.isDynamicDim(i) && x.getDimSize(i) != linear.getDimSize(i))
      return emitOpError("input and linear differ in dimension ") << i;
  int64_t bits = getPredictorBits();
  if (bits < 1 || bits > 8)
    return emitOpError("predictor_bits must be 1..8, got ") << bits;
  if (getActivation() != "gelu" && getActivation() != "relu")
    return emitOpError("activation must be \"gelu\" or \"relu\", got \"") << getActivation() << "\"";
  int64_t d = x.getDimSize(x.getRank() - 1), dOut = linear.getDimSize(linear.getRank() - 1);
  auto pred = rankedOf(getPredictor()), up = rankedOf(getUpWeight()), down = rankedOf(getDownWeight());
  if (!pred.hasStaticShape() || !up.hasStaticShape() || !down.hasStaticShape() ||
      ShapedType::isDynamic(d) || ShapedType::isDynamic(dOut))
    return emitOpError("weights and feature dimensions must be static");
  int64_t kept = up.getRank() == 2 ? up.getDimSize(0) : -1;
  if (up.getRank() != 2 || up.getDimSize(1) != d)
    return emitOpError("up_weight must be [kept, ") << d << "], got " << up;
  if (down.getRank() != 2 || down.getDimSize(0) != kept || down.getDimSize(1) != dOut)
    return emitOpError("down_weight must be [") << kept << ", " << dOut << "], got " << down;
  int64_t rowBytes = bits * ((d + 7) / 8); // bit planes
  if (pred.getRank() != 2 || pred.getDimSize(0) != kept || pred.getDimSize(1) != rowBytes)
    return emitOpError("predictor must be [") << kept << ", " << rowBytes << "] bytes, got " << pred;
  for (Value v : {getPredictorScale(), getLower(), getUpper(), getUpBias(), getSlope(), getIntercept()}) {
    auto t = rankedOf(v);
    if (t.getRank() != 1 || t.getDimSize(0) != kept)
      return emitOpError("per-neuron vectors must be [") << kept << "], got " << t;
  }
  return success();
}

LogicalResult SparseFFNOp::verify() {
  auto x = rankedOf(getInput()), out = rankedOf(getOutput());
  if (x.getRank() < 1 || !sameRows(x, out))
    return emitOpError("input and result must have one rank and the same leading dimensions");
  StringRef act = getActivation();
  if (act != "gelu" && act != "relu" && act != "silu")
    return emitOpError("activation must be \"gelu\", \"relu\" or \"silu\", got \"") << act << "\"";
  auto up = rankedOf(getUpWeight()), down = rankedOf(getDownWeight());
  int64_t d = x.getShape().back(), dOut = out.getShape().back();
  if (ShapedType::isDynamic(d) || ShapedType::isDynamic(dOut) || !up.hasStaticShape() || up.getRank() != 2 ||
      up.getDimSize(1) != d)
    return emitOpError("up_weight must be a static [neurons, ") << d << "], got " << up;
  int64_t h = up.getDimSize(0);
  if (!hasShape(getDownWeight(), {h, dOut}))
    return emitOpError("down_weight must be [") << h << ", " << dOut << "], got " << down;
  if (!hasShape(getUpBias(), {h}))
    return emitOpError("up_bias must be [") << h << "]";
  if ((bool)getGateWeight() != (bool)getGateBias())
    return emitOpError("gate_weight and gate_bias come together");
  if (getGateWeight() && (!hasShape(getGateWeight(), {h, d}) || !hasShape(getGateBias(), {h})))
    return emitOpError("the gate must be [") << h << ", " << d << "] and [" << h << "]";
  bool predicted = (bool)getPredictorIn();
  if (predicted != (bool)getPredictorOut() || predicted != (bool)getPredictorBias())
    return emitOpError("predictor_in, predictor_out and predictor_bias come together");
  if (predicted) {
    auto in = rankedOf(getPredictorIn());
    int64_t rank = in.getRank() == 2 ? in.getDimSize(1) : -1;
    if (!in.hasStaticShape() || in.getRank() != 2 || in.getDimSize(0) != d || rank < 1 ||
        !hasShape(getPredictorOut(), {rank, h}) || !hasShape(getPredictorBias(), {h}))
      return emitOpError("the predictor must be [") << d << ", r], [r, " << h << "] and [" << h << "]";
    if (getKept() < 1 || getKept() > h)
      return emitOpError("kept must be 1..") << h << " with a predictor, got " << getKept();
  } else if (getKept() != 0) {
    return emitOpError("kept is for predictor selection; without a predictor it must be 0");
  }
  if (!(getThreshold().convertToFloat() >= 0))
    return emitOpError("threshold must be >= 0");
  if (getDenseRows() < 1)
    return emitOpError("dense_rows must be >= 1");
  return success();
}
