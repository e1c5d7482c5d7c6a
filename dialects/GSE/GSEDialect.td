#ifndef SINTER_GSE_DIALECT
#define SINTER_GSE_DIALECT

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/BuiltinTypeInterfaces.td"

def GSE_Dialect : Dialect {
  let name = "gse";
  let summary = "Group-shared-exponent integers (GSQ-Tuning's GSE-INT, OCP MX)";
  let description = [{
    Tensors of small signed integer mantissas in which each group of
    `group` consecutive values along the last dimension shares one
    power-of-two exponent: x ≈ q · 2^e (METHODS.md §2). Matmuls over them
    are integer dot products per group pair (int32 accumulation) with the
    two exponents applied once per pair. Weights are quantized at compile
    time (`gse.quantize` of a constant folds to `gse.constant`),
    activations at run time; LayerNorm and softmax stay float.
  }];
  let cppNamespace = "::sinter::gse";
  let useDefaultAttributePrinterParser = 1;
  let useDefaultTypePrinterParser = 1;
  let hasConstantMaterializer = 1;
  let dependentDialects = ["mlir::arith::ArithDialect"];
}

def GSE_FormatAttr : AttrDef<GSE_Dialect, "Format"> {
  let mnemonic = "format";
  let summary = "Group size, mantissa bits and exponent bits of a GSE tensor";
  let description = [{
    Each group of `group` consecutive values along the last dimension (the
    last group may be partial) holds signed mantissas q of `mantissa` bits,
    in [−(2^(m−1) − 1), 2^(m−1) − 1] (symmetric), and one signed exponent e
    of `exponent` bits; a value is q · 2^e. The exponent comes from the
    group's largest magnitude M: e = ⌊log₂ M⌋ − (m − 2), clamped to the
    exponent's range, so that the largest value keeps m − 1 significant
    bits; mantissas round to nearest, ties to even, and saturate. An
    all-zero group has the smallest exponent and zero mantissas.

    `mx` is the OCP Microscaling MXINT8 layout: group 32, 8-bit elements
    and an E8M0 shared scale, i.e. mantissa 8 and exponent 8 (a scale
    2^(e) with e in [−127, 127]; the spec's scale X and element value
    P·2^−6 give the same q · 2^e with e = shared_exp − 6).

    ```mlir
    #gse.format<group = 32, mantissa = 8, exponent = 5>
    #gse.format<group = 32, mantissa = 4, exponent = 5>
    ```
  }];
  let parameters = (ins "int64_t":$group, "int64_t":$mantissa, "int64_t":$exponent);
  let assemblyFormat = "`<` `group` `=` $group `,` `mantissa` `=` $mantissa `,` `exponent` `=` $exponent `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The largest mantissa magnitude, 2^(m−1) − 1.
    int64_t maxMantissa() const { return (int64_t(1) << (getMantissa() - 1)) - 1; }
    /// The exponent's range, [−2^(b−1), 2^(b−1) − 1] (b < 8), or [−127, 127]
    /// for the 8-bit E8M0 scale of OCP MX.
    int64_t minExponent() const { return getExponent() >= 8 ? -127 : -(int64_t(1) << (getExponent() - 1)); }
    int64_t maxExponent() const { return getExponent() >= 8 ? 127 : (int64_t(1) << (getExponent() - 1)) - 1; }
    /// Groups along a last dimension of `n` values.
    int64_t groupsOf(int64_t n) const { return (n + getGroup() - 1) / getGroup(); }
  }];
}

def GSE_TensorType : TypeDef<GSE_Dialect, "GSETensor", [ShapedTypeInterface]> {
  let mnemonic = "tensor";
  let summary = "A tensor of group-shared-exponent integers";
  let description = [{
    A ranked tensor (static or dynamic dimensions) whose values are stored
    as integer mantissas with one exponent per group of the last dimension,
    in `format`. Its values stand for f32 (what `gse.dequantize` gives).
    The last dimension must be static: it fixes the groups.

    ```mlir
    !gse.tensor<?x768, #gse.format<group = 32, mantissa = 8, exponent = 5>>
    ```
  }];
  let parameters = (ins ArrayRefParameter<"int64_t">:$shape, "FormatAttr":$format);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    // ShapedTypeInterface: the values stand for f32.
    mlir::Type getElementType() const { return mlir::Float32Type::get(getContext()); }
    bool hasRank() const { return true; }
    mlir::ShapedType cloneWith(std::optional<llvm::ArrayRef<int64_t>> shape, mlir::Type elementType) const;
    /// Elements of the last dimension, and its groups.
    int64_t lastDim() const { return getShape().back(); }
    int64_t groups() const { return getFormat().groupsOf(lastDim()); }
    /// The shapes that hold its mantissas (i8, its own) and exponents (i8,
    /// the last dimension replaced by the groups).
    mlir::RankedTensorType mantissaType() const;
    mlir::RankedTensorType exponentType() const;
  }];
}

#endif
