// The bnn dialect: 1-bit weights and BinaryMoS layers (dialects/BNN).
#ifndef SINTER_DIALECT_BNN_BNNDIALECT_H
#define SINTER_DIALECT_BNN_BNNDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "sinter/Dialect/BNN/BNNDialect.h.inc"
#include "sinter/Dialect/BNN/BNNEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "sinter/Dialect/BNN/BNNAttrs.h.inc"

#define GET_OP_CLASSES
#include "sinter/Dialect/BNN/BNNOps.h.inc"

namespace sinter::bnn {
/// Scale experts a bnn.mos_linear may have (the runtime kernel's bound).
inline constexpr int64_t kMaxExperts = 64;
/// Bytes per packed row of K sign bits.
inline int64_t packedBytes(int64_t k) { return (k + 7) / 8; }
/// The [N, ⌈K/8⌉] rows_of_inputs packing of the signs of a row-major [K, N]
/// matrix (≥ 0 is +1, a set bit).
std::vector<int8_t> packSigns(llvm::ArrayRef<float> w, int64_t k, int64_t n);
/// Outputs per tile of the layout the CPU kernel reads with fp32
/// activations (its lookup tables index 16 outputs at once).
inline constexpr int64_t kOutputTile = 16;
/// rows_of_inputs bits [N, ⌈K/8⌉] regrouped into tiles of 16 outputs,
/// [⌈N/16⌉][⌈K/8⌉][16] bytes, zero past N.
std::vector<int8_t> tileSignRows(llvm::ArrayRef<int8_t> rows, int64_t k, int64_t n);
} // namespace sinter::bnn

#endif
