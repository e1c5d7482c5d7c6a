// Shape checks the dialects' verifiers share.
#ifndef SINTER_SUPPORT_SHAPES_H
#define SINTER_SUPPORT_SHAPES_H

#include "mlir/IR/BuiltinTypeInterfaces.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLExtras.h"

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

} // namespace sinter

#endif
