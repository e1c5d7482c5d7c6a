// Verifier of nn.attention: the runtime kernel it lowers to trusts the
// shapes, so every relation between them that is static is checked here.
#include "sinter/Dialect/NN/NNDialect.h"

using namespace mlir;
using namespace sinter::nn;

namespace {
RankedTensorType rankedOf(Value v) { return cast<RankedTensorType>(v.getType()); }

/// Whether two dimension sizes can agree (equal, or one unknown).
bool compatible(int64_t a, int64_t b) { return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b; }
} // namespace

LogicalResult AttentionOp::verify() {
  auto q = rankedOf(getQuery()), k = rankedOf(getKey()), v = rankedOf(getValue()), out = rankedOf(getOutput());
  if (q.getRank() != 3 || k.getRank() != 3 || v.getRank() != 3 || out.getRank() != 3)
    return emitOpError("query, key, value and result must be [batch, sequence, features]");
  int64_t heads = getHeads();
  if (heads < 1)
    return emitOpError("heads must be positive, got ") << heads;
  int64_t dq = q.getDimSize(2), dk = k.getDimSize(2), dv = v.getDimSize(2);
  if (ShapedType::isDynamic(dq) || ShapedType::isDynamic(dk) || ShapedType::isDynamic(dv))
    return emitOpError("feature dimensions must be static");
  if (dq != dk)
    return emitOpError("query and key features differ: ") << dq << " vs " << dk;
  if (dq % heads != 0 || dv % heads != 0)
    return emitOpError("features (") << dq << ", " << dv << ") must divide into " << heads << " heads";
  if (!compatible(q.getDimSize(0), k.getDimSize(0)) || !compatible(q.getDimSize(0), v.getDimSize(0)) ||
      !compatible(q.getDimSize(0), out.getDimSize(0)))
    return emitOpError("batch dimensions differ");
  if (!compatible(k.getDimSize(1), v.getDimSize(1)))
    return emitOpError("key and value sequence lengths differ");
  if (!compatible(q.getDimSize(1), out.getDimSize(1)) || out.getDimSize(2) != dv)
    return emitOpError("result must be [batch, query length, ") << dv << "], got " << out;
  return success();
}
