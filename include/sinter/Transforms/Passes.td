#ifndef SINTER_TRANSFORMS_PASSES
#define SINTER_TRANSFORMS_PASSES

include "mlir/Pass/PassBase.td"

def InsertRuntimeChecks : Pass<"sinter-insert-runtime-checks", "mlir::ModuleOp"> {
  let summary = "Check at run time what only the inputs decide";
  let description = [{
    Shapes with symbolic dimensions are only known when the model runs. The
    lowering assumes that symbolic dimensions it pairs up agree (broadcast
    operands, matmul contraction and batch sizes, concat's other dimensions,
    layer-norm scale against the input) and clamps Gather indices to stay
    memory safe. This pass adds an nn-level check for each such assumption
    that the inputs could break, and returns a failing check's number
    (1-based, 0 when all pass) as an extra i32 result of `main_graph` (and of
    every other exported function, marked `sinter.entry`) marked
    `sinter.status`, with one message per check (naming the node) in the
    function's `sinter.check_names` attribute. The emitted object then
    answers SINTER_ERR_CHECK instead of reading out of bounds or returning a
    wrong answer (a sequence longer than the model's context, say).
  }];
  let dependentDialects = ["sinter::nn::NNDialect", "mlir::arith::ArithDialect"];
}

def ApproximateMath : Pass<"sinter-approximate-math"> {
  let summary = "Replace f32 erf, exp, tanh and log with inline polynomials";
  let description = [{
    Lowered as they are, `math.erf`, `math.exp`, `math.tanh` and `math.log`
    become one libm call per element, which LLVM cannot vectorize: the erf
    of a GELU over a 128×3072 activation is 400 k scalar calls. This pass
    applies MLIR's polynomial approximations (Cephes-style range reduction
    and minimax polynomials, a few ulp from libm on f32) to those ops only,
    so the loops around them vectorize. Other math ops and other element
    types are left for the libm lowering.
  }];
  let dependentDialects = ["mlir::math::MathDialect", "mlir::arith::ArithDialect",
                           "mlir::vector::VectorDialect"];
}

def ExpandBF16 : Pass<"sinter-expand-bf16"> {
  let summary = "Expand f32 ↔ bf16 conversions into integer arithmetic";
  let description = [{
    `arith.truncf` to bf16 becomes LLVM's `fptrunc … to bfloat`, which a
    CPU without AVX512-BF16 turns into a call of compiler-rt's
    `__truncsfbf2`; the emitted objects link no such library. This pass
    applies MLIR's bf16 expansion (round to nearest even on the bits, NaN
    kept quiet; `extf` a shift) to those two conversions only, so bf16
    tensors (--train-lora's `moments=bf16`) need nothing outside the
    object. Other arith ops are left as they are.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect"];
}

def FuseAttention : Pass<"sinter-fuse-attention"> {
  let summary = "Fuse exported multi-head attention into nn.attention";
  let description = [{
    Exporters write attention as a dozen ops: Q, K and V reshaped to
    [B, T, H, D] and transposed to heads, Q·Kᵀ, a scale, a causal mask
    (Where with −∞ over a lower-triangular constant cut to the sequence
    length), Softmax, a product with V, and a transpose and reshape back to
    [B, T, H·D]. Lowered one by one they materialize three transposed
    copies, the [B, H, T, T] scores four times over and a transposed
    result. This pass rewrites the whole block into one `nn.attention` on
    the [B, T, H·D] tensors, which reads them in place. The causal mask is
    accepted only when the graph proves it is the lower triangle over as
    many keys as queries (the slices' ends are the queries' sequence length
    and keys and queries come from one tensor's sequence dimension); a
    scale is Mul or Div by a constant; anything else (another mask, a
    rotary embedding between the split and the heads, f16) is left alone.
  }];
}

def RaiseActivations : Pass<"sinter-raise-activations"> {
  let summary = "Recognise GELU and QCFS written as arithmetic and make them nn.gelu, nn.qcfs";
  let description = [{
    Exporters such as torch.onnx below opset 20 write the exact GELU as
    `x · (erf(x/√2) + 1) · 0.5`: five elementwise ops. This pass rewrites
    that product (its three factors in any order, x/√2 also as x·(1/√2))
    into one `nn.gelu` with `approximate = "none"`, which is what the FFN
    compression passes match and what lowers to one fused loop. Constants
    must agree with 0.5, 1 and √2 to a relative 1e-5; anything else is
    left alone. It also raises QCFS, which sinter.spike.QCFS exports as
    `Floor(Clip(x/θ, 0, 1)·L + 0.5) · (θ/L)` (products and sums in either
    order, θ and θ/L constants agreeing to a relative 1e-5, L a positive
    integer), to `nn.qcfs` with `levels = L`: what `--compress=spike`
    converts into neurons.
  }];
  let dependentDialects = ["sinter::nn::NNDialect", "mlir::arith::ArithDialect"];
}

#endif
