// Shape checks the dialects' verifiers share.
#ifndef SINTER_SUPPORT_SHAPES_H
#define SINTER_SUPPORT_SHAPES_H

#include "mlir/IR/BuiltinTypeInterfaces.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLExtras.h"

#include <optional>

namespace sinter {

/// Whether two shapes have one rank and agree wherever both are static.
inline bool compatibleShapes(llvm::ArrayRef<int64_t> a, llvm::ArrayRef<int64_t> b) {
  if (a.size() != b.size())
    return false;
  for (auto [x, y] : llvm::zip(a, b))
    if (!mlir::ShapedType::isDynamic(x) && !mlir::ShapedType::isDynamic(y) && x != y)
      return false;
  return true;
}

/// The first static negative dimension of `shape`, if any (types that hold
/// a shape check their dimensions with it).
inline std::optional<int64_t> negativeDim(llvm::ArrayRef<int64_t> shape) {
  for (int64_t d : shape)
    if (!mlir::ShapedType::isDynamic(d) && d < 0)
      return d;
  return std::nullopt;
}

} // namespace sinter

#endif
