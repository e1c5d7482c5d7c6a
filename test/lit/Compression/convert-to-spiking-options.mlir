// RUN: sinter-opt %s -sinter-convert-to-spiking="T=4 threshold-scale=0.5 membrane=0.25 signed=true" | FileCheck %s

// The options: 4 steps, θ = 2 · 0.5 = 1, membrane 0.25 · θ, signed neurons
// bounded by the steps; fc2's rows scale by the new θ (0.5 · 1).
// CHECK: {ann_macs_per_row = 12 : i64, feeds = "linear", layer = "qcfs", levels = 8 : i64, mean_threshold = 1.000000e+00 : f64, neurons = 4 : i64, pass = "spike", signed = true, steps = 4 : i64}
// CHECK-DAG: arith.constant dense<1.000000e+00> : tensor<4xf32>
// CHECK-DAG: arith.constant dense<2.500000e-01> : tensor<4xf32>
// CHECK-DAG: arith.constant dense<5.000000e-01> : tensor<4x3xf32>
// CHECK: spike.encode %arg0 steps 4
// CHECK: spike.if {{.*}} {bound = 4 : i64} : tensor<?x4xf32>, tensor<4xf32> -> !spike.train<4x?x4, signed>
func.func @ffn(%x: tensor<?x2xf32>) -> tensor<?x3xf32> {
  %w1 = arith.constant dense<1.0> : tensor<2x4xf32>
  %w2 = arith.constant dense<0.5> : tensor<4x3xf32>
  %b2 = arith.constant dense<0.1> : tensor<3xf32>
  %theta = arith.constant dense<2.0> : tensor<f32>
  %zero = arith.constant dense<0.0> : tensor<f32>
  %one = arith.constant dense<1.0> : tensor<f32>
  %levels = arith.constant dense<8.0> : tensor<f32>
  %half = arith.constant dense<0.5> : tensor<f32>
  %step = arith.constant dense<0.25> : tensor<f32>
  %h = nn.matmul %x, %w1 : tensor<?x2xf32>, tensor<2x4xf32> -> tensor<?x4xf32>
  %0 = nn.div %h, %theta : tensor<?x4xf32>, tensor<f32> -> tensor<?x4xf32>
  %1 = nn.clip %0 min %zero : tensor<f32> max %one : tensor<f32> : tensor<?x4xf32> -> tensor<?x4xf32>
  %2 = nn.mul %1, %levels : tensor<?x4xf32>, tensor<f32> -> tensor<?x4xf32>
  %3 = nn.add %2, %half : tensor<?x4xf32>, tensor<f32> -> tensor<?x4xf32>
  %4 = nn.floor %3 : tensor<?x4xf32>
  %5 = nn.mul %4, %step : tensor<?x4xf32>, tensor<f32> -> tensor<?x4xf32>
  %y = nn.matmul %5, %w2 : tensor<?x4xf32>, tensor<4x3xf32> -> tensor<?x3xf32>
  %z = nn.add %y, %b2 : tensor<?x3xf32>, tensor<3xf32> -> tensor<?x3xf32>
  return %z : tensor<?x3xf32>
}

