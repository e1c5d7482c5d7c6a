// RUN: sinter-opt %s | sinter-opt | FileCheck %s
// Round trip: every assembly format parses what it prints.

// CHECK-LABEL: func @elementwise
func.func @elementwise(%a: tensor<?x4xf32>, %b: tensor<4xf32>, %c: tensor<?x4xi1>) -> tensor<?x4xf32> {
  // CHECK: nn.add %{{.*}}, %{{.*}} : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
  %0 = nn.add %a, %b : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
  // CHECK: nn.gelu %{{.*}} {approximate = "tanh"} : tensor<?x4xf32>
  %1 = nn.gelu %0 {approximate = "tanh"} : tensor<?x4xf32>
  // CHECK: nn.where
  %2 = nn.where %c, %1, %b : tensor<?x4xi1>, tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
  // CHECK: nn.cast %{{.*}} : tensor<?x4xf32> -> tensor<?x4xi64>
  %3 = nn.cast %2 : tensor<?x4xf32> -> tensor<?x4xi64>
  return %2 : tensor<?x4xf32>
}

// CHECK-LABEL: func @structural
func.func @structural(%x: tensor<2x?x8xf32>, %w: tensor<8x16xf32>, %s: tensor<16xf32>) -> tensor<2x?x16xf32> {
  // CHECK: nn.matmul {{.*}} -> tensor<2x?x16xf32>
  %0 = nn.matmul %x, %w : tensor<2x?x8xf32>, tensor<8x16xf32> -> tensor<2x?x16xf32>
  // CHECK: nn.layer_norm {{.*}} {epsilon = 9.99999997E-7 : f32}
  %1 = nn.layer_norm %0, %s {epsilon = 1.0e-6 : f32} : tensor<2x?x16xf32>, tensor<16xf32> -> tensor<2x?x16xf32>
  // CHECK: nn.softmax {{.*}} {axis = 1 : i64}
  %2 = nn.softmax %1 {axis = 1 : i64} : tensor<2x?x16xf32> -> tensor<2x?x16xf32>
  // CHECK: nn.split {{.*}} -> tensor<2x?x4xf32>, tensor<2x?x12xf32>
  %3:2 = nn.split %2 {axis = 2 : i64, sizes = array<i64: 4, 12>} : tensor<2x?x16xf32> -> tensor<2x?x4xf32>, tensor<2x?x12xf32>
  // CHECK: nn.trilu
  %4 = nn.trilu %2 {upper = false} : tensor<2x?x16xf32> -> tensor<2x?x16xf32>
  return %4 : tensor<2x?x16xf32>
}
