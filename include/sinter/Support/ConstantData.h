// Reading and making the constant tensors that hold weights: dense
// attributes for small ones, resource blobs (not uniqued, not hashed) for
// large ones.
#ifndef SINTER_SUPPORT_CONSTANTDATA_H
#define SINTER_SUPPORT_CONSTANTDATA_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Value.h"

#include <functional>
#include <optional>
#include <vector>

namespace sinter {

/// The values of a constant's f32 or f16 initializer as floats, dense or a
/// resource blob, read in place; nullopt for any other element type or an
/// unloaded blob.
std::optional<std::function<float(int64_t)>> f32Values(mlir::Attribute init);

/// The same values copied out.
std::optional<std::vector<float>> readF32(mlir::Attribute init);

/// The same, or `n` zeros when `init` is null (an absent bias).
std::optional<std::vector<float>> readF32OrZeros(mlir::Attribute init, int64_t n);

/// The f32 values of `v` when a constant op defines it.
std::optional<std::vector<float>> readConstantF32(mlir::Value v);

/// The raw bytes of a constant's elements (a splat written out), dense or a
/// resource blob; nullopt for an unloaded blob or elements narrower than a
/// byte (i1).
std::optional<std::vector<char>> readBytes(mlir::Attribute init);

/// Elements of `type` holding `bytes` (the element type's raw layout):
/// a resource blob named `name` from 256 bytes up, else a dense attribute.
mlir::ElementsAttr makeElements(mlir::ShapedType type, llvm::ArrayRef<char> bytes,
                                llvm::StringRef name);

inline mlir::ElementsAttr makeF32Elements(mlir::ShapedType type, llvm::ArrayRef<float> values,
                                          llvm::StringRef name) {
  return makeElements(type, {reinterpret_cast<const char *>(values.data()), values.size() * sizeof(float)},
                      name);
}

/// Elements of `type`, f32 or f16, holding `values` (rounded to nearest
/// even for f16).
mlir::ElementsAttr makeFloatElements(mlir::ShapedType type, llvm::ArrayRef<float> values, llvm::StringRef name);

/// Points `use` at a new constant of `shape` holding `values` (f32, or
/// `elementType`; named `name`, see makeElements), created where the
/// constant it read was; that one is erased once nothing else reads it.
/// How a pass replaces a weight.
void replaceConstantOperand(mlir::OpOperand &use, llvm::ArrayRef<int64_t> shape, llvm::ArrayRef<float> values,
                            llvm::StringRef name, mlir::Type elementType = {});

/// Frees the bytes of every resource blob that `root`'s attributes hold,
/// once nothing will read them again (after translation to LLVM IR, which
/// copies them). Every other holder of the same resources sees them empty.
void releaseResourceBlobs(mlir::Operation *root);

} // namespace sinter

#endif
