#ifndef SINTER_BNN_OPS
#define SINTER_BNN_OPS

include "BNNDialect.td"
include "mlir/IR/CommonTypeConstraints.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def BNN_F32Tensor : TensorOf<[F32]>;
def BNN_PackedBits : 2DTensorOf<[I8]>;
def BNN_ScaleTable : 2DTensorOf<[F32, F16]>;

def BNN_PackSignsOp : BNN_Op<"pack_signs", [Pure]> {
  let summary = "Packs the signs of a [K, N] matrix into bits";
  let description = [{
    `sign(W)` as 1 bit per weight in the given layout (see `#bnn<layout>`):
    the result is [N, ⌈K/8⌉] i8 for `rows_of_inputs`. Zero counts as +1.
    Folds when W is a constant, which is how binarized weights reach the
    object: only the bits are stored.

    ```mlir
    %bits = bnn.pack_signs %w {layout = #bnn<layout rows_of_inputs>}
        : tensor<768x3072xf32> -> tensor<3072x96xi8>
    ```
  }];
  let arguments = (ins 2DTensorOf<[F32]>:$weights, BNN_LayoutAttr:$layout);
  let results = (outs BNN_PackedBits:$bits);
  let assemblyFormat = "$weights attr-dict `:` type($weights) `->` type($bits)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def BNN_MoSLinearOp : BNN_Op<"mos_linear", [Pure]> {
  let summary = "BinaryMoS linear layer: signs with token-adaptive scales";
  let description = [{
    For each row x (the last dimension, K inputs) of `input`:

      g = softmax(x · router)                 (router [K, E]: E expert gates)
      s_in  = g · scale_in                     (scale_in  [E, K])
      s_out = g · scale_out                    (scale_out [E, N])
      y = ((x ⊙ s_in) · sign(W)) ⊙ s_out + bias

    with sign(W) read from `bits` ([N, ⌈K/8⌉] i8, layout as for
    `bnn.pack_signs`) and `bias` [N] optional. `in_features` is K, which the
    packed width alone does not give when K is not a multiple of 8. With
    E = 1 the router is irrelevant (softmax of one logit is 1) and the layer
    is a single-scale (OneBit-style) binary linear. The result has the
    input's shape with the last dimension N. (METHODS.md §1.)

    With `int8_activations`, x ⊙ s_in is quantized per row to int8
    (q = rint(x' · 127 / max|x'|)) before the 1-bit product, which is then
    an exact integer sum: faster (VNNI byte dot products), within
    K · max|x'| / 254 · |s_out| of the fp32 result per output.

    `scale_in`, `scale_out` and `router` are all f32 or all f16 (half the
    bytes; the kernel widens them as it reads them, and computes in f32).

    ```mlir
    %y = bnn.mos_linear %x, %bits, %s_in, %s_out, %router bias(%b)
        {in_features = 768 : i64, layout = #bnn<layout rows_of_inputs>}
        : (tensor<?x768xf32>, tensor<3072x96xi8>, tensor<4x768xf32>,
           tensor<4x3072xf32>, tensor<768x4xf32>, tensor<3072xf32>) -> tensor<?x3072xf32>
    ```
  }];
  let arguments = (ins BNN_F32Tensor:$input, BNN_PackedBits:$bits, BNN_ScaleTable:$scale_in,
                   BNN_ScaleTable:$scale_out, BNN_ScaleTable:$router,
                   Optional<1DTensorOf<[F32]>>:$bias, I64Attr:$in_features, BNN_LayoutAttr:$layout,
                   UnitAttr:$int8_activations);
  let results = (outs BNN_F32Tensor:$output);
  let assemblyFormat = [{
    $input `,` $bits `,` $scale_in `,` $scale_out `,` $router (`bias` `(` $bias^ `)`)? attr-dict
    `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    int64_t getExperts() { return mlir::cast<mlir::ShapedType>(getRouter().getType()).getDimSize(1); }
    int64_t getOutFeatures() { return mlir::cast<mlir::ShapedType>(getBits().getType()).getDimSize(0); }
  }];
}

#endif
