#ifndef SINTER_GSE_OPS
#define SINTER_GSE_OPS

include "GSEDialect.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "NNInterfaces.td"

class GSE_Op<string mnemonic, list<Trait> traits = []> : Op<GSE_Dialect, mnemonic, traits>;

def GSE_F32Tensor : TensorOf<[F32]>;
def GSE_Tensor : Type<CPred<"::mlir::isa<::sinter::gse::GSETensorType>($_self)">, "GSE tensor",
                      "::sinter::gse::GSETensorType">;

def GSE_QuantizeOp : GSE_Op<"quantize", [Pure, NN_Differentiable]> {
  let summary = "f32 → group-shared-exponent integers";
  let description = [{
    Quantizes each group of the last dimension of `input` to the result's
    format (exponent from the group's largest magnitude, mantissas rounded
    to nearest even and saturated; see `#gse.format`). Of a constant it
    folds to `gse.constant` (weights are quantized at compile time); of a
    `gse.dequantize` in the same format it folds to that op's operand
    (requantizing dequantized values gives the same values: bit for bit
    what the quantizer made, another spelling of the same numbers for a
    hand-written `gse.constant` whose largest mantissa is small).

    ```mlir
    %q = gse.quantize %x : tensor<?x768xf32> -> !gse.tensor<?x768, #gse.format<group = 32, mantissa = 8, exponent = 5>>
    ```
  }];
  let arguments = (ins GSE_F32Tensor:$input);
  let results = (outs GSE_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` qualified(type($output))";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def GSE_DequantizeOp : GSE_Op<"dequantize", [Pure]> {
  let summary = "Group-shared-exponent integers → f32";
  let description = [{
    q · 2^e for every value. Of a `gse.constant` it folds to an f32
    constant.

    ```mlir
    %x = gse.dequantize %q : !gse.tensor<4x64, #gse.format<group = 32, mantissa = 8, exponent = 5>> -> tensor<4x64xf32>
    ```
  }];
  let arguments = (ins GSE_Tensor:$input);
  let results = (outs GSE_F32Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` qualified(type($input)) `->` type($output)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def GSE_ConstantOp : GSE_Op<"constant", [ConstantLike, Pure]> {
  let summary = "A constant of group-shared-exponent integers";
  let description = [{
    Mantissas (i8, the tensor's shape) and exponents (i8, the last
    dimension replaced by its groups), as `gse.quantize` of a constant
    gives them; what the object stores for a quantized weight.

    ```mlir
    %w = gse.constant dense<...> : tensor<64x64xi8>, dense<...> : tensor<64x2xi8>
        : !gse.tensor<64x64, #gse.format<group = 32, mantissa = 8, exponent = 5>>
    ```
  }];
  let arguments = (ins ElementsAttr:$mantissas, ElementsAttr:$exponents);
  let results = (outs GSE_Tensor:$output);
  let assemblyFormat = "$mantissas `,` $exponents attr-dict `:` qualified(type($output))";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def GSE_MatmulOp : GSE_Op<"matmul", [Pure, NN_Differentiable]> {
  let summary = "Integer matmul of GSE tensors, y = a · bᵀ in f32";
  let description = [{
    y[..., m, n] = Σ_g 2^(e_a[m, g] + e_b[n, g]) · Σ_{k ∈ g} q_a[m, k] · q_b[n, k]:
    each group pair's dot product of mantissas accumulates exactly in
    int32, and the two exponents are applied once per pair. `lhs` is
    [..., M, K] (leading dimensions batch rows), `rhs` is [N, K] (a weight
    stored output-major, so that both operands group along K); both use the
    same group size, and the result is f32 [..., M, N].

    ```mlir
    %y = gse.matmul %xq, %wq : !gse.tensor<?x768, #f8>, !gse.tensor<3072x768, #f8> -> tensor<?x3072xf32>
    ```
  }];
  let arguments = (ins GSE_Tensor:$lhs, GSE_Tensor:$rhs);
  let results = (outs GSE_F32Tensor:$output);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` qualified(type($lhs)) `,` qualified(type($rhs)) `->` type($output)";
  let hasVerifier = 1;
}

def GSE_GatherOp : GSE_Op<"gather", [Pure]> {
  let summary = "Rows of a GSE matrix, dequantized: an embedding lookup";
  let description = [{
    out[i..., j] = q[t, j] · 2^e[t, ⌊j/G⌋] with t = indices[i...]: the rows
    of a [V, D] table grouped along D, as `nn.gather` along axis 0 reads
    an f32 table (negative indices count from the end; indices outside
    [−V, V) are clamped into range, and the compiler's run-time checks
    report them first). What `--compress=gse` makes of a token or position
    embedding, so that the object stores the table quantized.

    ```mlir
    %x = gse.gather %wte, %ids : !gse.tensor<50257x768, #f8>, tensor<?x?xi64> -> tensor<?x?x768xf32>
    ```
  }];
  let arguments = (ins GSE_Tensor:$table, TensorOf<[I64, I32]>:$indices);
  let results = (outs GSE_F32Tensor:$output);
  let assemblyFormat = "$table `,` $indices attr-dict `:` qualified(type($table)) `,` type($indices) `->` type($output)";
  let hasVerifier = 1;
}

def GSE_TransposeOp : GSE_Op<"transpose", [Pure]> {
  let summary = "A GSE matrix transposed, requantized along its new rows";
  let description = [{
    `input` [N, K] as [K, N] in the same format: the values q · 2^e
    transposed, then quantized along N as `gse.quantize` would (exponent
    from each new group's largest magnitude, mantissas rounded to nearest
    even). Values can lose bits where a new group spans old groups of
    different exponents. The gradient of `gse.matmul`'s input is
    `gse.matmul(gse.quantize(dY), gse.transpose(W))`.

    It does not fold, even of a constant: the lowering reads W's own
    packed panels and requantizes them block by block inside the GEMM
    kernel, so an object that runs both products stores W once. It lowers
    only as the `rhs` of a `gse.matmul`.

    ```mlir
    %wt = gse.transpose %w : !gse.tensor<3072x768, #f8> -> !gse.tensor<768x3072, #f8>
    ```
  }];
  let arguments = (ins GSE_Tensor:$input);
  let results = (outs GSE_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` qualified(type($input)) `->` qualified(type($output))";
  let hasVerifier = 1;
}

#endif
