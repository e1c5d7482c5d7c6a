// RUN: sinter-opt %s -sinter-raise-activations | FileCheck %s

// torch.onnx's exact GELU: x · (erf(x/√2) + 1) · 0.5.
// CHECK-LABEL: func @torch_gelu
// CHECK-SAME: (%[[X:.*]]: tensor<?x8xf32>)
// CHECK-NEXT: %[[G:.*]] = nn.gelu %[[X]] : tensor<?x8xf32>
// CHECK-NEXT: return %[[G]]
func.func @torch_gelu(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %sqrt2 = arith.constant dense<1.41421354> : tensor<f32>
  %one = arith.constant dense<1.0> : tensor<f32>
  %half = arith.constant dense<0.5> : tensor<f32>
  %0 = nn.div %x, %sqrt2 : tensor<?x8xf32>, tensor<f32> -> tensor<?x8xf32>
  %1 = nn.erf %0 : tensor<?x8xf32>
  %2 = nn.add %1, %one : tensor<?x8xf32>, tensor<f32> -> tensor<?x8xf32>
  %3 = nn.mul %x, %2 : tensor<?x8xf32>, tensor<?x8xf32> -> tensor<?x8xf32>
  %4 = nn.mul %3, %half : tensor<?x8xf32>, tensor<f32> -> tensor<?x8xf32>
  return %4 : tensor<?x8xf32>
}

// Other factor orders, and x·(1/√2) for x/√2.
// CHECK-LABEL: func @half_first
// CHECK: nn.gelu
// CHECK-NOT: nn.erf
func.func @half_first(%x: tensor<4xf32>) -> tensor<4xf32> {
  %rsqrt2 = arith.constant dense<0.707106769> : tensor<f32>
  %one = arith.constant dense<1.0> : tensor<f32>
  %half = arith.constant dense<0.5> : tensor<f32>
  %0 = nn.mul %rsqrt2, %x : tensor<f32>, tensor<4xf32> -> tensor<4xf32>
  %1 = nn.erf %0 : tensor<4xf32>
  %2 = nn.add %one, %1 : tensor<f32>, tensor<4xf32> -> tensor<4xf32>
  %3 = nn.mul %half, %x : tensor<f32>, tensor<4xf32> -> tensor<4xf32>
  %4 = nn.mul %3, %2 : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %4 : tensor<4xf32>
}

// Not a GELU: a wrong constant, or erf of a different value. Left alone.
// CHECK-LABEL: func @not_gelu
// CHECK-NOT: nn.gelu
// CHECK: return
func.func @not_gelu(%x: tensor<4xf32>, %y: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %sqrt2 = arith.constant dense<1.41421354> : tensor<f32>
  %one = arith.constant dense<1.0> : tensor<f32>
  %half = arith.constant dense<0.5> : tensor<f32>
  %third = arith.constant dense<0.333> : tensor<f32>
  %0 = nn.div %x, %sqrt2 : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  %1 = nn.erf %0 : tensor<4xf32>
  %2 = nn.add %1, %one : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  %3 = nn.mul %x, %2 : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %4 = nn.mul %3, %third : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  %5 = nn.mul %y, %2 : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %6 = nn.mul %5, %half : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  return %4, %6 : tensor<4xf32>, tensor<4xf32>
}
