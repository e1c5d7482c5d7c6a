// RUN: sinter-opt %s | FileCheck %s
// RUN: sinter-opt %s | sinter-opt | FileCheck %s
// RUN: sinter-opt %s --mlir-print-op-generic | sinter-opt | FileCheck %s

// CHECK-LABEL: func @ffn
func.func @ffn(%ids: tensor<?x?xi64>, %x: tensor<?x?x16xf32>, %theta: tensor<16xf32>, %v0: tensor<16xf32>,
               %w: tensor<16x4xf32>) -> (tensor<?x?xi64>, tensor<?x?x4xf32>, tensor<?x?x16xf32>) {
  // CHECK: spike.encode %{{.*}} steps 8 : tensor<?x?xi64> -> tensor<?x?xi64>
  %e = spike.encode %ids steps 8 : tensor<?x?xi64> -> tensor<?x?xi64>
  // CHECK: spike.if %{{.*}}, threshold %{{.*}}, membrane %{{.*}} : tensor<?x?x16xf32>, tensor<16xf32> -> !spike.train<8x?x?x16>
  %s = spike.if %x, threshold %theta, membrane %v0 : tensor<?x?x16xf32>, tensor<16xf32> -> !spike.train<8x?x?x16>
  // CHECK: spike.matmul %{{.*}}, %{{.*}} {firing_rate = 2.500000e-01 : f32} : !spike.train<8x?x?x16>, tensor<16x4xf32> -> tensor<?x?x4xf32>
  %y = spike.matmul %s, %w {firing_rate = 0.25 : f32} : !spike.train<8x?x?x16>, tensor<16x4xf32> -> tensor<?x?x4xf32>
  // CHECK: spike.values %{{.*}}, threshold %{{.*}} : !spike.train<8x?x?x16>, tensor<16xf32> -> tensor<?x?x16xf32>
  %v = spike.values %s, threshold %theta : !spike.train<8x?x?x16>, tensor<16xf32> -> tensor<?x?x16xf32>
  return %e, %y, %v : tensor<?x?xi64>, tensor<?x?x4xf32>, tensor<?x?x16xf32>
}

// Static shapes: 2 items × 4 steps = 8 folded rows; one threshold per layer;
// signed neurons with a bound.
// CHECK-LABEL: func @static_signed
func.func @static_signed(%x: tensor<8x3x16xf32>, %theta: tensor<f32>) -> tensor<2x3x16xf32> {
  // CHECK: spike.if %{{.*}} {bound = 3 : i64} : tensor<8x3x16xf32>, tensor<f32> -> !spike.train<4x2x3x16, signed>
  %s = spike.if %x, threshold %theta, membrane %theta {bound = 3} : tensor<8x3x16xf32>, tensor<f32> -> !spike.train<4x2x3x16, signed>
  %v = spike.values %s, threshold %theta : !spike.train<4x2x3x16, signed>, tensor<f32> -> tensor<8x3x16xf32>
  // CHECK: spike.decode %{{.*}} steps 4 : tensor<8x3x16xf32> -> tensor<2x3x16xf32>
  %m = spike.decode %v steps 4 : tensor<8x3x16xf32> -> tensor<2x3x16xf32>
  return %m : tensor<2x3x16xf32>
}
