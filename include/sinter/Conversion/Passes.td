#ifndef SINTER_CONVERSION_PASSES
#define SINTER_CONVERSION_PASSES

include "mlir/Pass/PassBase.td"

def ConvertNNToLinalg : Pass<"convert-nn-to-linalg", "mlir::ModuleOp"> {
  let summary = "Lower nn ops to linalg, tensor, arith and math";
  let description = [{
    Rewrites every `nn` op into destination-style linalg ops on tensors
    (generic, fill, transpose), tensor ops for data movement
    (extract_slice, concat, reshape, from_elements) and scalar arith/math.
    Dynamic dimensions are read with `tensor.dim` at run time; ONNX's
    run-time shape arithmetic (Reshape's 0 and -1, Slice's clamping, Expand's
    broadcasting) is emitted as index arithmetic. The pass fails, naming the
    op, if any `nn` op is left.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect",
                           "mlir::tensor::TensorDialect",
                           "mlir::arith::ArithDialect",
                           "mlir::math::MathDialect"];
}

def FuseElementwise : Pass<"sinter-fuse-elementwise", "mlir::func::FuncOp"> {
  let summary = "Fuse elementwise producers into elementwise consumers only";
  let description = [{
    Upstream `linalg-fuse-elementwise-ops` also fuses an elementwise producer
    into a contraction, which recomputes the producer once per reduction
    step (a GELU fused into the next matmul evaluates erf K×N times). This
    pass applies the same fusion patterns but only when the consumer has no
    reduction loops, so each element is still computed once.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect"];
}

#endif
