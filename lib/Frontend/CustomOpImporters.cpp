// Handlers for Sinter's own ONNX domains: ops that exporters write for layers
// ONNX has no op for, imported into the dialect that computes them.
//
// sinter.bnn::MoSLinear (version 1), a BinaryMoS linear layer
// (docs/dialects/bnn.md, "ONNX custom op"): inputs X [..., K] float,
// bits [N, ⌈K/8⌉] int8 (layout rows_of_inputs), scale_in [E, K],
// scale_out [E, N], router [K, E], optional bias [N]; attributes
// in_features = K (required) and layout = "rows_of_inputs".
#include "NodeImporter.h"

#include "sinter/Dialect/BNN/BNNDialect.h"

using namespace mlir;

namespace sinter::frontend {
namespace {

LogicalResult importMoSLinear(NodeImporter &n) {
  for (size_t i = 0; i < 5; ++i)
    if (!n.input(i))
      return n.error() << "missing required input " << i
                       << " (MoSLinear takes X, bits, scale_in, scale_out, router and an optional bias)";
  const onnx::AttributeProto *k = n.attr("in_features");
  if (!k || k->type() != onnx::AttributeProto::INT)
    return n.error() << "needs the integer attribute in_features (K, the inputs per row)";
  std::string layout = n.attrString("layout", "rows_of_inputs");
  auto parsed = bnn::symbolizeLayout(layout);
  if (!parsed)
    return n.error() << "layout '" << layout << "' is not supported (rows_of_inputs)";
  auto in = dyn_cast<RankedTensorType>(n.input(0).getType());
  auto bits = dyn_cast<RankedTensorType>(n.input(1).getType());
  if (!in || in.getRank() < 1 || !bits || bits.getRank() != 2)
    return n.error() << "needs X of rank >= 1 and bits of rank 2";
  SmallVector<int64_t> shape(in.getShape());
  shape.back() = bits.getDimSize(0);
  auto type = RankedTensorType::get(shape, in.getElementType());
  n.outputs.push_back(bnn::MoSLinearOp::create(n.b, n.loc, type, n.input(0), n.input(1), n.input(2), n.input(3),
                                               n.input(4), n.input(5), n.b.getI64IntegerAttr(k->i()),
                                               bnn::LayoutAttr::get(n.b.getContext(), *parsed), nullptr));
  return success();
}

} // namespace

const llvm::StringMap<NodeHandler> &customNodeHandlers() {
  static const llvm::StringMap<NodeHandler> handlers = {
      {"sinter.bnn::MoSLinear", importMoSLinear},
  };
  return handlers;
}

} // namespace sinter::frontend
