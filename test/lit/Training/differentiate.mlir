// RUN: sinter-opt %s -split-input-file -sinter-differentiate=function=f -verify-diagnostics | FileCheck %s

// The vector–Jacobian product of x·W + b through a softmax: the softmax's
// y ⊙ (dy − Σ dy⊙y), the bias summed over rows, dX = dY·Wᵀ, dW = Xᵀ·dY.
// CHECK-LABEL: func.func @f_grad
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>, %[[W:.*]]: tensor<3x4xf32>, %[[B:.*]]: tensor<4xf32>, %[[DY:.*]]: tensor<2x4xf32>)
// CHECK: %[[Y:.*]] = nn.softmax
// CHECK: %[[P:.*]] = nn.mul %[[DY]], %[[Y]]
// CHECK: %[[S:.*]] = nn.reduce_sum %[[P]] {axes = [-1]}
// CHECK: %[[D:.*]] = nn.sub %[[DY]], %[[S]]
// CHECK: %[[G:.*]] = nn.mul %[[Y]], %[[D]]
// CHECK: %[[DB:.*]] = nn.reduce_sum %[[G]] {axes = [0], keepdims = false}
// CHECK: %[[WT:.*]] = nn.transpose %[[W]] {perm = array<i64: 1, 0>}
// CHECK: %[[DX:.*]] = nn.matmul %[[G]], %[[WT]]
// CHECK: %[[XT:.*]] = nn.transpose %[[X]] {perm = array<i64: 1, 0>}
// CHECK: %[[DW:.*]] = nn.matmul %[[XT]], %[[G]]
// CHECK: return %[[DX]], %[[DW]], %[[DB]]
// CHECK-LABEL: func.func @f(
func.func @f(%x: tensor<2x3xf32>, %w: tensor<3x4xf32>, %b: tensor<4xf32>) -> tensor<2x4xf32> {
  %0 = nn.matmul %x, %w : tensor<2x3xf32>, tensor<3x4xf32> -> tensor<2x4xf32>
  %1 = nn.add %0, %b : tensor<2x4xf32>, tensor<4xf32> -> tensor<2x4xf32>
  %2 = nn.softmax %1 : tensor<2x4xf32> -> tensor<2x4xf32>
  return %2 : tensor<2x4xf32>
}

// -----

// Through a GSE linear, dX is an integer GEMM too: dY quantized in the
// activations' group and mantissa with an 8-bit exponent, times W
// transposed (requantized along its rows, inside the kernel).
// CHECK-LABEL: func.func @f_grad
// CHECK-SAME: (%[[X:.*]]: tensor<2x8xf32>, %[[DY:.*]]: tensor<2x2xf32>)
// CHECK: %[[W:.*]] = gse.constant
// CHECK: %[[WT:.*]] = gse.transpose %[[W]] : !gse.tensor<2x8, #gse.format<group = 4, mantissa = 4, exponent = 5>> -> !gse.tensor<8x2, #gse.format<group = 4, mantissa = 4, exponent = 5>>
// CHECK: %[[DQ:.*]] = gse.quantize %[[DY]] : tensor<2x2xf32> -> !gse.tensor<2x2, #gse.format<group = 4, mantissa = 6, exponent = 8>>
// CHECK: %[[DX:.*]] = gse.matmul %[[DQ]], %[[WT]] {{.*}} -> tensor<2x8xf32>
// CHECK: return %[[DX]]
func.func @f(%x: tensor<2x8xf32>) -> tensor<2x2xf32> {
  %w = gse.constant dense<1> : tensor<2x8xi8>, dense<0> : tensor<2x2xi8> : !gse.tensor<2x8, #gse.format<group = 4, mantissa = 4, exponent = 5>>
  %q = gse.quantize %x : tensor<2x8xf32> -> !gse.tensor<2x8, #gse.format<group = 4, mantissa = 6, exponent = 5>>
  %y = gse.matmul %q, %w : !gse.tensor<2x8, #gse.format<group = 4, mantissa = 6, exponent = 5>>, !gse.tensor<2x8, #gse.format<group = 4, mantissa = 4, exponent = 5>> -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

// -----

// Integer arguments get no gradient; a float argument the results do not
// depend on gets zeros; a layer norm recomputes its statistics.
// CHECK-LABEL: func.func @f_grad
// CHECK-SAME: -> (tensor<2x6xf32>, tensor<6xf32>)
// CHECK: nn.reduce_mean
// CHECK: nn.reciprocal
// CHECK: %[[Z:.*]] = arith.constant dense<0.000000e+00> : tensor<6xf32>
// CHECK: return %{{.*}}, %[[Z]]
func.func @f(%x: tensor<2x6xf32>, %unused: tensor<6xf32>, %n: tensor<2xi64>) -> tensor<2x6xf32> {
  %s = arith.constant dense<1.0> : tensor<6xf32>
  %0 = nn.layer_norm %x, %s : tensor<2x6xf32>, tensor<6xf32> -> tensor<2x6xf32>
  return %0 : tensor<2x6xf32>
}

// -----

// An op without a gradient rule on the path is an error naming it.
func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{cannot differentiate 'nn.cumsum': it lies between the trained parameters and the loss and has no gradient rule}}
  %0 = nn.cumsum %x {axis = 0 : i64} : tensor<4xf32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Gemm: dA' = α·dY·B'ᵀ transposed back for transA, dB' = α·A'ᵀ·dY, dC =
// β·dY summed over C's broadcast rows. A float-to-float cast casts the
// gradient back; reduce_max sends it to the maximum, split between ties.
// CHECK-LABEL: func.func @f_grad
// CHECK-SAME: (%[[A:.*]]: tensor<3x2xf32>, %[[B:.*]]: tensor<3x4xf32>, %[[C:.*]]: tensor<4xf32>, %[[DY:.*]]: tensor<2xf16>)
// CHECK: %[[G:.*]] = nn.cast %[[DY]] : tensor<2xf16> -> tensor<2xf32>
// CHECK: %[[HIT:.*]] = nn.equal
// CHECK: %[[SHARE:.*]] = nn.cast %[[HIT]] : tensor<2x4xi1> -> tensor<2x4xf32>
// CHECK: %[[TIES:.*]] = nn.reduce_sum %[[SHARE]] {axes = [1]
// CHECK: %[[DM:.*]] = nn.div %{{.*}}, %[[TIES]]
// CHECK: %[[BT:.*]] = nn.transpose %[[B]] {perm = array<i64: 1, 0>}
// CHECK: %[[DAT:.*]] = nn.matmul %[[DM]], %[[BT]]
// CHECK: %[[DAS:.*]] = nn.mul %[[DAT]], %{{.*}}
// CHECK: %[[DA:.*]] = nn.transpose %[[DAS]] {perm = array<i64: 1, 0>}
// CHECK: nn.matmul %[[A]], %[[DM]]
// CHECK: %[[DC:.*]] = nn.reduce_sum %{{.*}} {axes = [0], keepdims = false}
// CHECK: return %[[DA]], %{{.*}}, %[[DC]]
func.func @f(%a: tensor<3x2xf32>, %b: tensor<3x4xf32>, %c: tensor<4xf32>) -> tensor<2xf16> {
  %0 = nn.gemm %a, %b, %c {alpha = 0.5 : f32, beta = 2.0 : f32, transA = true} : tensor<3x2xf32>, tensor<3x4xf32>, tensor<4xf32> -> tensor<2x4xf32>
  %1 = nn.reduce_max %0 {axes = [1], keepdims = false} : tensor<2x4xf32> -> tensor<2xf32>
  %2 = nn.cast %1 : tensor<2xf32> -> tensor<2xf16>
  return %2 : tensor<2xf16>
}

// -----

// expected-error @+1 {{sinter-differentiate: no function @f with a body}}
module {
  func.func private @f(%x: tensor<4xf32>) -> tensor<4xf32>
}
