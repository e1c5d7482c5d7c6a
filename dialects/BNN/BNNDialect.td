#ifndef SINTER_BNN_DIALECT
#define SINTER_BNN_DIALECT

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def BNN_Dialect : Dialect {
  let name = "bnn";
  let summary = "Binary (1-bit) weights with token-adaptive scales";
  let description = [{
    Weights stored as their signs, one bit each, packed into bytes, and the
    layers that compute with them: BinaryMoS (`bnn.mos_linear`), where a
    router mixes E scale experts per token into input and output scales
    around a sign matrix. The packing is explicit in the types (i8 tensors)
    and described by a layout attribute, so that a kernel and a reference
    can agree on every bit. `bnn.pack_signs` folds at compile time: weights
    are constants, and their bits are what the object stores.
  }];
  let cppNamespace = "::sinter::bnn";
  let useDefaultAttributePrinterParser = 1;
  let hasConstantMaterializer = 1;
  let dependentDialects = ["mlir::arith::ArithDialect"];
}

class BNN_Op<string mnemonic, list<Trait> traits = []>
    : Op<BNN_Dialect, mnemonic, traits>;

// How sign bits are packed.
def BNN_RowsOfInputs : I32EnumAttrCase<"RowsOfInputs", 0, "rows_of_inputs">;
def BNN_Layout : I32EnumAttr<"Layout", "how a [K, N] sign matrix is packed", [BNN_RowsOfInputs]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::sinter::bnn";
}
def BNN_LayoutAttr : EnumAttr<BNN_Dialect, BNN_Layout, "layout"> {
  let summary = "Packing of a sign matrix";
  let description = [{
    `rows_of_inputs`: a [K, N] matrix W (x·W, K inputs, N outputs) is stored
    as N rows of ⌈K/8⌉ bytes, one row per output: bit (k mod 8) of byte
    ⌊k/8⌋ of row n is 1 when W[k][n] ≥ 0 (sign +1) and 0 otherwise; the
    bits past K in the last byte are 0. An output's weights are then
    contiguous, as a GEMV reads them.
  }];
}

#endif
