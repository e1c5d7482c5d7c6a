// RUN: sinter-opt %s -canonicalize | FileCheck %s
// Shape arithmetic on static shapes folds away.

// CHECK-LABEL: func @shape_chain
func.func @shape_chain(%x: tensor<2x3x4xf32>) -> tensor<6x4xf32> {
  // CHECK-NOT: nn.shape
  // CHECK-NOT: nn.gather
  // CHECK-NOT: nn.concat
  // CHECK: %[[S:.*]] = arith.constant dense<[6, 4]> : tensor<2xi64>
  // CHECK: nn.reshape %{{.*}}, %[[S]]
  %s = nn.shape %x : tensor<2x3x4xf32> -> tensor<3xi64>
  %i0 = arith.constant dense<0> : tensor<1xi64>
  %i1 = arith.constant dense<1> : tensor<1xi64>
  %i2 = arith.constant dense<2> : tensor<1xi64>
  %d0 = nn.gather %s, %i0 : tensor<3xi64>, tensor<1xi64> -> tensor<1xi64>
  %d1 = nn.gather %s, %i1 : tensor<3xi64>, tensor<1xi64> -> tensor<1xi64>
  %d2 = nn.gather %s, %i2 : tensor<3xi64>, tensor<1xi64> -> tensor<1xi64>
  %m = nn.mul %d0, %d1 : tensor<1xi64>, tensor<1xi64> -> tensor<1xi64>
  %new = nn.concat %m, %d2 {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>) -> tensor<2xi64>
  %r = nn.reshape %x, %new : tensor<2x3x4xf32>, tensor<2xi64> -> tensor<6x4xf32>
  return %r : tensor<6x4xf32>
}

// CHECK-LABEL: func @identity_folds
func.func @identity_folds(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // CHECK-NEXT: return %arg0
  %0 = nn.transpose %x {perm = array<i64: 0, 1>} : tensor<2x3xf32> -> tensor<2x3xf32>
  %1 = nn.cast %0 : tensor<2x3xf32> -> tensor<2x3xf32>
  return %1 : tensor<2x3xf32>
}

// CHECK-LABEL: func @shape_start_negative
func.func @shape_start_negative(%x: tensor<3x4x5xf32>) -> tensor<1xi64> {
  // CHECK: arith.constant dense<5> : tensor<1xi64>
  %0 = nn.shape %x {start = -1 : i64} : tensor<3x4x5xf32> -> tensor<1xi64>
  return %0 : tensor<1xi64>
}

// CHECK-LABEL: func @symbolic_stays
func.func @symbolic_stays(%x: tensor<?x4xf32>) -> tensor<2xi64> {
  // CHECK: nn.shape
  %0 = nn.shape %x : tensor<?x4xf32> -> tensor<2xi64>
  return %0 : tensor<2xi64>
}
