#ifndef SINTER_NN_OPS
#define SINTER_NN_OPS

include "NNDialect.td"
include "NNInterfaces.td"
include "mlir/IR/CommonTypeConstraints.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

def NN_FloatTensor : RankedTensorOf<[F16, BF16, F32, F64]>;
def NN_IntTensor : RankedTensorOf<[I8, I16, I32, I64]>;
def NN_BoolTensor : RankedTensorOf<[I1]>;
def NN_NumTensor : RankedTensorOf<[F16, BF16, F32, F64, I8, I16, I32, I64]>;
def NN_Tensor : RankedTensorOf<[F16, BF16, F32, F64, I1, I8, I16, I32, I64]>;
def NN_I64Tensor : RankedTensorOf<[I64]>;
def NN_IndexTensor : RankedTensorOf<[I32, I64]>;

class NN_InferredOp<string mnemonic, list<Trait> traits = []>
    : NN_Op<mnemonic, !listconcat(traits,
        [Pure, DeclareOpInterfaceMethods<InferTypeOpInterface>])> {
  // Result shapes may refine (`?` → static) as operands fold to constants.
  let extraClassDeclaration = [{
    static bool isCompatibleReturnTypes(::mlir::TypeRange l, ::mlir::TypeRange r);
  }];
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

class NN_UnaryOp<string mnemonic, Type T, string doc, list<Trait> traits = []>
    : NN_Op<mnemonic, !listconcat(traits, [Pure, SameOperandsAndResultType])> {
  let summary = "elementwise " # mnemonic;
  let description = doc;
  let arguments = (ins T:$input);
  let results = (outs T:$output);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def NN_SqrtOp : NN_UnaryOp<"sqrt", NN_FloatTensor, "ONNX Sqrt.", [NN_Differentiable]>;
def NN_ReciprocalOp : NN_UnaryOp<"reciprocal", NN_FloatTensor, "ONNX Reciprocal: 1/x.", [NN_Differentiable]>;
def NN_NegOp : NN_UnaryOp<"neg", NN_NumTensor, "ONNX Neg.", [NN_Differentiable]>;
def NN_ExpOp : NN_UnaryOp<"exp", NN_FloatTensor, "ONNX Exp.", [NN_Differentiable]>;
def NN_LogOp : NN_UnaryOp<"log", NN_FloatTensor, "ONNX Log.", [NN_Differentiable]>;
def NN_ErfOp : NN_UnaryOp<"erf", NN_FloatTensor, "ONNX Erf.", [NN_Differentiable]>;
def NN_FloorOp : NN_UnaryOp<"floor", NN_FloatTensor, "ONNX Floor: the largest integer ≤ x.", [NN_Differentiable]>;
def NN_TanhOp : NN_UnaryOp<"tanh", NN_FloatTensor, "ONNX Tanh.", [NN_Differentiable]>;
def NN_SigmoidOp : NN_UnaryOp<"sigmoid", NN_FloatTensor, "ONNX Sigmoid: 1/(1+exp(-x)).", [NN_Differentiable]>;
def NN_ReluOp : NN_UnaryOp<"relu", NN_NumTensor, "ONNX Relu: max(x, 0).", [NN_Differentiable]>;
def NN_NotOp : NN_UnaryOp<"not", NN_BoolTensor, "ONNX Not (logical).">;
def NN_AbsOp : NN_UnaryOp<"abs", NN_NumTensor, "ONNX Abs.", [NN_Differentiable]>;

def NN_LeakyReluOp : NN_UnaryOp<"leaky_relu", NN_FloatTensor,
    "ONNX LeakyRelu: x if x >= 0 else alpha * x.", [NN_Differentiable]> {
  let arguments = (ins NN_FloatTensor:$input,
                       DefaultValuedAttr<F32Attr, "0.01">:$alpha);
}

def NN_HardSigmoidOp : NN_UnaryOp<"hard_sigmoid", NN_FloatTensor,
    "ONNX HardSigmoid: max(0, min(1, alpha * x + beta)).", [NN_Differentiable]>{
  let arguments = (ins NN_FloatTensor:$input,
                       DefaultValuedAttr<F32Attr, "0.2">:$alpha,
                       DefaultValuedAttr<F32Attr, "0.5">:$beta);
}

def NN_GeluOp : NN_UnaryOp<"gelu", NN_FloatTensor,
    "ONNX Gelu (opset 20): exact (erf) or `tanh` approximation.", [NN_Differentiable]> {
  let arguments = (ins NN_FloatTensor:$input,
                       DefaultValuedAttr<StrAttr, "\"none\"">:$approximate);
  let hasVerifier = 1;
}

def NN_QCFSOp : NN_Op<"qcfs", [Pure, AllTypesMatch<["input", "output"]>]> {
  let summary = "QCFS activation: θ · floor(clamp(x/θ, 0, 1) · L + 1/2) / L";
  let description = [{
    The quantization-clip-floor-shift activation that FAS fine-tunes a
    model with before spiking conversion (METHODS.md §3): `levels` (L)
    steps of θ/L between 0 and the threshold θ (0-D, one per layer, or one
    per neuron of the last dimension). Exporters spell it Div, Clip(0, 1),
    Mul(L), Add(0.5), Floor, Mul(θ/L); `sinter-raise-activations` raises
    that chain to this op, which `--compress=spike` turns into neurons.

    ```mlir
    %y = nn.qcfs %x, threshold %theta levels 8 : tensor<?x?x768xf32>, tensor<f32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input, NN_FloatTensor:$threshold,
                       ConfinedAttr<I64Attr, [IntPositive]>:$levels);
  let results = (outs NN_FloatTensor:$output);
  let assemblyFormat = [{
    $input `,` `threshold` $threshold `levels` $levels attr-dict `:` type($input) `,` type($threshold)
  }];
  let hasVerifier = 1;
}

def NN_ClipOp : NN_Op<"clip", [Pure, AttrSizedOperandSegments, NN_Differentiable]> {
  let summary = "ONNX Clip: min(max(x, min), max); an absent bound does not clip";
  let description = [{
    Bounds are 0-D tensors of the input's element type, known at compile
    time or not.
  }];
  let arguments = (ins NN_NumTensor:$input, Optional<NN_NumTensor>:$min,
                       Optional<NN_NumTensor>:$max);
  let results = (outs NN_NumTensor:$output);
  let assemblyFormat = [{
    $input (`min` $min^ `:` type($min))? (`max` $max^ `:` type($max))? attr-dict `:` type($input) `->` type($output)
  }];
  let hasVerifier = 1;
}

def NN_CastOp : NN_Op<"cast", [Pure, NN_Differentiable]> {
  let summary = "ONNX Cast to the result element type";
  let description = [{
    Converts element type; the shape is unchanged. Float to integer truncates
    toward zero, to bool is `x != 0`, as ONNX specifies.
  }];
  let arguments = (ins NN_Tensor:$input);
  let results = (outs NN_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

class NN_BinaryOp<string mnemonic, Type T, string doc, list<Trait> traits = []>
    : NN_InferredOp<mnemonic, traits> {
  let summary = "elementwise " # mnemonic # " with ONNX broadcasting";
  let description = doc;
  let arguments = (ins T:$lhs, T:$rhs);
  let results = (outs NN_Tensor:$output);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($output)";
  let hasFolder = 1;
}

def NN_AddOp : NN_BinaryOp<"add", NN_NumTensor, "ONNX Add.", [Commutative, NN_Differentiable]>;
def NN_SubOp : NN_BinaryOp<"sub", NN_NumTensor, "ONNX Sub.", [NN_Differentiable]>;
def NN_MulOp : NN_BinaryOp<"mul", NN_NumTensor, "ONNX Mul.", [Commutative, NN_Differentiable]>;
def NN_DivOp : NN_BinaryOp<"div", NN_NumTensor, "ONNX Div (integer division truncates).", [NN_Differentiable]>;
def NN_PowOp : NN_BinaryOp<"pow", NN_NumTensor, "ONNX Pow; the result has the base's type.", [NN_Differentiable]>;
def NN_EqualOp : NN_BinaryOp<"equal", NN_Tensor, "ONNX Equal; result is i1.">;
def NN_LessOp : NN_BinaryOp<"less", NN_NumTensor, "ONNX Less; result is i1.">;
def NN_GreaterOp : NN_BinaryOp<"greater", NN_NumTensor, "ONNX Greater; result is i1.">;
def NN_AndOp : NN_BinaryOp<"and", NN_BoolTensor, "ONNX And (logical).">;
def NN_OrOp : NN_BinaryOp<"or", NN_BoolTensor, "ONNX Or (logical).">;
def NN_MaxOp : NN_BinaryOp<"max", NN_NumTensor, "ONNX Max of two inputs.", [NN_Differentiable]>;
def NN_MinOp : NN_BinaryOp<"min", NN_NumTensor, "ONNX Min of two inputs.", [NN_Differentiable]>;

def NN_WhereOp : NN_InferredOp<"where", [NN_Differentiable]> {
  let summary = "ONNX Where: cond ? x : y, with broadcasting";
  let arguments = (ins NN_BoolTensor:$condition, NN_Tensor:$x, NN_Tensor:$y);
  let results = (outs NN_Tensor:$output);
  let assemblyFormat = "$condition `,` $x `,` $y attr-dict `:` type($condition) `,` type($x) `,` type($y) `->` type($output)";
}

//===----------------------------------------------------------------------===//
// Linear algebra and normalisation
//===----------------------------------------------------------------------===//

def NN_MatMulOp : NN_InferredOp<"matmul", [NN_Differentiable]> {
  let summary = "ONNX MatMul (numpy matmul with batch broadcasting)";
  let description = [{
    1-D operands are promoted as numpy does (a leading or trailing unit
    dimension, removed again from the result); leading batch dimensions
    broadcast.
  }];
  let arguments = (ins NN_NumTensor:$lhs, NN_NumTensor:$rhs);
  let results = (outs NN_NumTensor:$output);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($output)";
}

def NN_GemmOp : NN_InferredOp<"gemm", [NN_Differentiable]> {
  let summary = "ONNX Gemm: alpha * op(A) * op(B) + beta * C";
  let arguments = (ins NN_FloatTensor:$a, NN_FloatTensor:$b,
                       Optional<NN_FloatTensor>:$c,
                       DefaultValuedAttr<F32Attr, "1.0">:$alpha,
                       DefaultValuedAttr<F32Attr, "1.0">:$beta,
                       DefaultValuedAttr<BoolAttr, "false">:$transA,
                       DefaultValuedAttr<BoolAttr, "false">:$transB);
  let results = (outs NN_FloatTensor:$output);
  let assemblyFormat = "$a `,` $b (`,` $c^)? attr-dict `:` type($a) `,` type($b) (`,` type($c)^)? `->` type($output)";
}

class NN_AxisOp<string mnemonic, string doc> : NN_InferredOp<mnemonic, [NN_Differentiable]> {
  let summary = doc;
  let arguments = (ins NN_FloatTensor:$input, DefaultValuedAttr<I64Attr, "-1">:$axis);
  let results = (outs NN_FloatTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
}

def NN_SoftmaxOp : NN_AxisOp<"softmax", "ONNX Softmax (opset 13: along one axis)">;
def NN_LogSoftmaxOp : NN_AxisOp<"log_softmax", "ONNX LogSoftmax (opset 13: along one axis)">;

def NN_LayerNormOp : NN_InferredOp<"layer_norm", [NN_Differentiable]> {
  let summary = "ONNX LayerNormalization (first output only)";
  let description = [{
    Normalises over the dimensions from `axis` to the last, then scales and
    shifts: (x - mean) / sqrt(var + epsilon) * scale + bias.
  }];
  let arguments = (ins NN_FloatTensor:$input, NN_FloatTensor:$scale,
                       Optional<NN_FloatTensor>:$bias,
                       DefaultValuedAttr<I64Attr, "-1">:$axis,
                       DefaultValuedAttr<F32Attr, "1e-5">:$epsilon);
  let results = (outs NN_FloatTensor:$output);
  let assemblyFormat = "$input `,` $scale (`,` $bias^)? attr-dict `:` type($input) `,` type($scale) (`,` type($bias)^)? `->` type($output)";
}

class NN_ReduceOp<string mnemonic, string doc, list<Trait> traits = []> : NN_InferredOp<mnemonic, traits> {
  let summary = doc;
  let description = [{
    Reduces over `axes` (all axes when absent, unless `noop_with_empty_axes`),
    keeping reduced dimensions as 1 when `keepdims` is set.
  }];
  let arguments = (ins NN_NumTensor:$input, OptionalAttr<I64ArrayAttr>:$axes,
                       DefaultValuedAttr<BoolAttr, "true">:$keepdims,
                       DefaultValuedAttr<BoolAttr, "false">:$noop_with_empty_axes);
  let results = (outs NN_NumTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
}

def NN_ReduceMeanOp : NN_ReduceOp<"reduce_mean", "ONNX ReduceMean", [NN_Differentiable]>;
def NN_ReduceSumOp : NN_ReduceOp<"reduce_sum", "ONNX ReduceSum", [NN_Differentiable]>;
def NN_ReduceMaxOp : NN_ReduceOp<"reduce_max", "ONNX ReduceMax", [NN_Differentiable]>;

def NN_CumSumOp : NN_InferredOp<"cumsum"> {
  let summary = "ONNX CumSum along a compile-time axis";
  let arguments = (ins NN_NumTensor:$input, I64Attr:$axis,
                       DefaultValuedAttr<BoolAttr, "false">:$exclusive,
                       DefaultValuedAttr<BoolAttr, "false">:$reverse);
  let results = (outs NN_NumTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
}

//===----------------------------------------------------------------------===//
// Data movement and shapes
//===----------------------------------------------------------------------===//

def NN_GatherOp : NN_InferredOp<"gather"> {
  let summary = "ONNX Gather along one axis";
  let description = [{
    Negative indices count from the end. Indices outside [-n, n) are clamped
    into range (ONNX leaves them undefined; clamping keeps them memory safe).
  }];
  let arguments = (ins NN_Tensor:$data, NN_IndexTensor:$indices,
                       DefaultValuedAttr<I64Attr, "0">:$axis);
  let results = (outs NN_Tensor:$output);
  let assemblyFormat = "$data `,` $indices attr-dict `:` type($data) `,` type($indices) `->` type($output)";
  let hasFolder = 1;
}

def NN_ReshapeOp : NN_InferredOp<"reshape", [NN_Differentiable]> {
  let summary = "ONNX Reshape (0 copies a dimension, -1 is inferred)";
  let arguments = (ins NN_Tensor:$data, NN_I64Tensor:$shape,
                       DefaultValuedAttr<BoolAttr, "false">:$allowzero);
  let results = (outs NN_Tensor:$output);
  let assemblyFormat = "$data `,` $shape attr-dict `:` type($data) `,` type($shape) `->` type($output)";
  let hasFolder = 1;
}

def NN_TransposeOp : NN_InferredOp<"transpose", [NN_Differentiable]> {
  let summary = "ONNX Transpose (default: reverse the dimensions)";
  let arguments = (ins NN_Tensor:$data, DenseI64ArrayAttr:$perm);
  let results = (outs NN_Tensor:$output);
  let assemblyFormat = "$data attr-dict `:` type($data) `->` type($output)";
  let hasFolder = 1;
}

def NN_SqueezeOp : NN_InferredOp<"squeeze", [NN_Differentiable]> {
  let summary = "ONNX Squeeze (all unit dims when `axes` is absent)";
  let arguments = (ins NN_Tensor:$data, OptionalAttr<DenseI64ArrayAttr>:$axes);
  let results = (outs NN_Tensor:$output);
  let assemblyFormat = "$data attr-dict `:` type($data) `->` type($output)";
  let hasFolder = 1;
}

def NN_UnsqueezeOp : NN_InferredOp<"unsqueeze", [NN_Differentiable]> {
  let summary = "ONNX Unsqueeze";
  let arguments = (ins NN_Tensor:$data, DenseI64ArrayAttr:$axes);
  let results = (outs NN_Tensor:$output);
  let assemblyFormat = "$data attr-dict `:` type($data) `->` type($output)";
  let hasFolder = 1;
}

def NN_ConcatOp : NN_InferredOp<"concat", [NN_Differentiable]> {
  let summary = "ONNX Concat";
  let arguments = (ins Variadic<NN_Tensor>:$inputs, I64Attr:$axis);
  let results = (outs NN_Tensor:$output);
  let assemblyFormat = "$inputs attr-dict `:` functional-type($inputs, $output)";
  let hasFolder = 1;
}

def NN_SliceOp : NN_InferredOp<"slice", [AttrSizedOperandSegments, NN_Differentiable]> {
  let summary = "ONNX Slice (starts/ends clamped, any non-zero step)";
  let arguments = (ins NN_Tensor:$data, NN_IndexTensor:$starts,
                       NN_IndexTensor:$ends, Optional<NN_IndexTensor>:$axes,
                       Optional<NN_IndexTensor>:$steps);
  let results = (outs NN_Tensor:$output);
  let assemblyFormat = [{
    $data `,` $starts `,` $ends (`axes` $axes^ `:` type($axes))? (`steps` $steps^ `:` type($steps))?
    attr-dict `:` type($data) `,` type($starts) `,` type($ends) `->` type($output)
  }];
  let hasFolder = 1;
}

def NN_SplitOp : NN_Op<"split", [Pure, NN_Differentiable]> {
  let summary = "ONNX Split into parts of compile-time sizes";
  let arguments = (ins NN_Tensor:$input, I64Attr:$axis, DenseI64ArrayAttr:$sizes);
  let results = (outs Variadic<NN_Tensor>:$outputs);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($outputs)";
  let hasVerifier = 1;
}

def NN_ExpandOp : NN_InferredOp<"expand", [NN_Differentiable]> {
  let summary = "ONNX Expand (bidirectional broadcast to a shape)";
  let arguments = (ins NN_Tensor:$input, NN_I64Tensor:$shape);
  let results = (outs NN_Tensor:$output);
  let assemblyFormat = "$input `,` $shape attr-dict `:` type($input) `,` type($shape) `->` type($output)";
}

def NN_ShapeOp : NN_InferredOp<"shape"> {
  let summary = "ONNX Shape (with optional start/end)";
  let arguments = (ins NN_Tensor:$input, DefaultValuedAttr<I64Attr, "0">:$start,
                       OptionalAttr<I64Attr>:$end);
  let results = (outs NN_I64Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasFolder = 1;
}

def NN_ConstantOfShapeOp : NN_InferredOp<"constant_of_shape"> {
  let summary = "ONNX ConstantOfShape";
  let arguments = (ins NN_I64Tensor:$shape, TypedAttrInterface:$value);
  let results = (outs NN_Tensor:$output);
  let assemblyFormat = "$shape attr-dict `:` type($shape) `->` type($output)";
  let hasFolder = 1;
}

def NN_RangeOp : NN_InferredOp<"range"> {
  let summary = "ONNX Range: start, start + delta, ... below limit";
  let arguments = (ins NN_NumTensor:$start, NN_NumTensor:$limit, NN_NumTensor:$delta);
  let results = (outs NN_NumTensor:$output);
  let assemblyFormat = "$start `,` $limit `,` $delta attr-dict `:` type($start) `,` type($limit) `,` type($delta) `->` type($output)";
}

def NN_TriluOp : NN_InferredOp<"trilu"> {
  let summary = "ONNX Trilu: keep the upper (or lower) triangle from diagonal k";
  let arguments = (ins NN_Tensor:$input, Optional<NN_I64Tensor>:$k,
                       DefaultValuedAttr<BoolAttr, "true">:$upper);
  let results = (outs NN_Tensor:$output);
  let assemblyFormat = "$input (`k` $k^ `:` type($k))? attr-dict `:` type($input) `->` type($output)";
}

//===----------------------------------------------------------------------===//
// Sinter's own ops (not ONNX)
//===----------------------------------------------------------------------===//

def NN_F32Tensor : RankedTensorOf<[F32]>;

def NN_AttentionOp : NN_Op<"attention", [Pure]> {
  let summary = "Fused multi-head scaled dot-product attention, sequence-major";
  let description = [{
    Written by `sinter-fuse-attention` in place of the matmuls, scaling,
    mask, softmax and head transposes of an exported attention block.
    `query` is [B, T, H·Dk], `key` [B, S, H·Dk], `value` [B, S, H·Dv] and
    the result [B, T, H·Dv] (H = `heads`); head h owns columns
    h·Dk … (h+1)·Dk − 1 of query and key and h·Dv … of value and result:

      out[b, t, h·Dv + e] = Σ_s softmax_s(scale · Σ_d q[b, t, h·Dk + d]
                                                 · k[b, s, h·Dk + d]) · v[b, s, h·Dv + e]

    With `causal`, query t sees only the keys s ≤ t + S − T (the lower
    triangle when S = T). The operands are read in place, so slices of one
    fused Q/K/V projection need no copy.

    ```mlir
    %o = nn.attention %q, %k, %v {heads = 12 : i64, scale = 0.125 : f32, causal}
        : tensor<1x?x768xf32>, tensor<1x?x768xf32>, tensor<1x?x768xf32> -> tensor<1x?x768xf32>
    ```
  }];
  let arguments = (ins NN_F32Tensor:$query, NN_F32Tensor:$key, NN_F32Tensor:$value,
                       I64Attr:$heads, F32Attr:$scale, UnitAttr:$causal);
  let results = (outs NN_F32Tensor:$output);
  let assemblyFormat = [{
    $query `,` $key `,` $value attr-dict `:` type($query) `,` type($key) `,` type($value) `->` type($output)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Compression (Sinter's own; not ONNX)
//===----------------------------------------------------------------------===//

def NN_FFNOutlierCorrectionOp : NN_Op<"ffn_outlier_correction", [Pure]> {
  let summary = "TARDIS: exact FFN correction for neurons predicted to leave their linear range";
  let description = [{
    Written by `sinter-linearize-ffn`. `linear` is the folded FFN,
    x·W_f + b_f, in which every neuron i's activation σ was replaced by
    a_i·z + c_i. For each of the K neurons kept exactly, a low-bit copy of
    its up-projection predicts z_i ≈ b_u,i + s_i · Σ_j q_ij x_j (q_ij the
    odd level 2k − (2^bits − 1) of code k; each `predictor` row holds
    `bits` bit planes of ceil(d/8) bytes, bit t of byte B of plane p being
    bit p of input 8B + t's code). Where that
    estimate leaves [lower_i, upper_i], the exact z_i = x·up_weight_i +
    up_bias_i is computed and `down_weight_i` · (σ(z_i) − a_i z_i − c_i)
    is added to the row. The result is `linear` with those corrections.
  }];
  let arguments = (ins NN_F32Tensor:$input, NN_F32Tensor:$linear,
                       TensorOf<[I8]>:$predictor, NN_F32Tensor:$predictor_scale,
                       NN_F32Tensor:$lower, NN_F32Tensor:$upper,
                       NN_F32Tensor:$up_weight, NN_F32Tensor:$up_bias,
                       NN_F32Tensor:$slope, NN_F32Tensor:$intercept,
                       NN_F32Tensor:$down_weight,
                       StrAttr:$activation, I64Attr:$predictor_bits);
  let results = (outs NN_F32Tensor:$output);
  let assemblyFormat = [{
    $input `,` $linear `predictor` `(` $predictor `,` $predictor_scale `)`
    `range` `(` $lower `,` $upper `)` `exact` `(` $up_weight `,` $up_bias `,`
    $down_weight `)` `fit` `(` $slope `,` $intercept `)` attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def NN_SparseFFNOp : NN_Op<"sparse_ffn", [Pure, AttrSizedOperandSegments]> {
  let summary = "Activation sparsity: an FFN that computes only the neurons chosen per token";
  let description = [{
    Written by `sinter-sparsify-ffn` (mode=dynamic). For each row x of the
    input, the FFN's hidden neurons are h_i = σ(z_i) with
    z_i = up_weight_i · x + up_bias_i, or, when `gate_weight` is present,
    h_i = σ(gate_weight_i · x + gate_bias_i) · z_i. Weights are stored per
    neuron (rows of [h, d] and [h, d_out]) so that a neuron's weights are
    contiguous. Per row a set S of neurons is chosen and the result is
    Σ_{i∈S} h_i · down_weight_i (the down projection's bias stays outside):
    - with a predictor: the `kept` neurons with the largest
      (x · predictor_in) · predictor_out + predictor_bias, ties to the lower
      index;
    - without: the neurons with |h_i| > `threshold`.
    From `dense_rows` rows on, the kernel computes all neurons with GEMMs
    and applies the same selection as a mask (the result is the same).
  }];
  let arguments = (ins NN_F32Tensor:$input, NN_F32Tensor:$up_weight, NN_F32Tensor:$up_bias,
                       Optional<NN_F32Tensor>:$gate_weight, Optional<NN_F32Tensor>:$gate_bias,
                       NN_F32Tensor:$down_weight,
                       Optional<NN_F32Tensor>:$predictor_in, Optional<NN_F32Tensor>:$predictor_out,
                       Optional<NN_F32Tensor>:$predictor_bias,
                       StrAttr:$activation, I64Attr:$kept, F32Attr:$threshold, I64Attr:$dense_rows);
  let results = (outs NN_F32Tensor:$output);
  let assemblyFormat = [{
    $input `up` `(` $up_weight `,` $up_bias `)` (`gate` `(` $gate_weight^ `,` $gate_bias `)`)?
    `down` `(` $down_weight `)`
    (`predictor` `(` $predictor_in^ `,` $predictor_out `,` $predictor_bias `)`)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

#endif
