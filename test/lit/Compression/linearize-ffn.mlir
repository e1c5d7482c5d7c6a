// RUN: sinter-opt %s -sinter-linearize-ffn="profile=%S/Inputs/ffn-profile.json coverage=0.5 exact=0.25" | FileCheck %s
// RUN: sinter-opt %s -sinter-linearize-ffn="profile=%S/Inputs/ffn-profile.json coverage=0.5 exact=0" | FileCheck %s --check-prefix=FOLD

// A 4 → 8 → 4 GELU FFN, GELU written as torch exports it. The two matmuls
// become one 4×4 folded matmul; two of the eight neurons (exact=0.25) keep
// exact rows for the predicted-outlier correction, with a 2-bit predictor
// row of two bit planes, one byte each.
// The report (a module attribute, printed first) summarises the layer.
// CHECK: sinter.compression_report = [{activation = "gelu", bytes_after = {{[0-9]+}} : i64, bytes_before = 304 : i64, coverage = 5.000000e-01 : f64, exact_error_share = {{.*}}, exact_neurons = 2 : i64, exact_outlier_rate = {{.*}}, expected_outlier_rate = 5.000000e-01 : f64, layer = "up0"
// The profile holds no input rows, so the predictor is not measured.
// CHECK-SAME: sample_rows = 0 : i64
// CHECK-LABEL: func @ffn
// CHECK-SAME: (%[[X:.*]]: tensor<?x4xf32>)
// CHECK-NOT: nn.gelu
// CHECK-NOT: nn.erf
// CHECK: %[[W:.*]] = arith.constant dense<{{.*}}> : tensor<4x4xf32>
// CHECK: %[[M:.*]] = nn.matmul %[[X]], %[[W]] : tensor<?x4xf32>, tensor<4x4xf32> -> tensor<?x4xf32>
// CHECK: %[[L:.*]] = nn.add %[[M]], %{{.*}} : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
// CHECK: %[[C:.*]] = nn.ffn_outlier_correction %[[X]], %[[L]] predictor(%{{.*}}, %{{.*}}) range(%{{.*}}, %{{.*}}) exact(%{{.*}}, %{{.*}}, %{{.*}}) fit(%{{.*}}, %{{.*}}) {activation = "gelu", predictor_bits = 2 : i64}
// CHECK-SAME: tensor<2x2xi8>
// CHECK-SAME: tensor<2x4xf32>
// CHECK: return %[[C]]

// With no exact neurons the FFN is the folded matmul and bias alone.
// FOLD-LABEL: func @ffn
// FOLD: nn.matmul
// FOLD: nn.add
// FOLD-NOT: nn.ffn_outlier_correction
// FOLD-NOT: nn.matmul
// FOLD: return
func.func @ffn(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %wu = arith.constant dense<[[0.1, -0.2, 0.3, -0.4, 0.5, -0.6, 0.7, -0.8],
                              [0.2, 0.1, -0.1, 0.3, -0.2, 0.4, -0.3, 0.5],
                              [-0.5, 0.4, 0.2, -0.1, 0.6, -0.3, 0.1, 0.2],
                              [0.3, -0.3, 0.5, 0.2, -0.4, 0.1, 0.6, -0.2]]> : tensor<4x8xf32>
  %bu = arith.constant dense<[0.1, 0.0, -0.1, 0.2, 0.0, 0.1, -0.2, 0.05]> : tensor<8xf32>
  %wd = arith.constant dense<0.25> : tensor<8x4xf32>
  %bd = arith.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %sqrt2 = arith.constant dense<1.41421354> : tensor<f32>
  %one = arith.constant dense<1.0> : tensor<f32>
  %half = arith.constant dense<0.5> : tensor<f32>
  %0 = nn.matmul %x, %wu : tensor<?x4xf32>, tensor<4x8xf32> -> tensor<?x8xf32> loc("up0")
  %1 = nn.add %0, %bu : tensor<?x8xf32>, tensor<8xf32> -> tensor<?x8xf32>
  %2 = nn.div %1, %sqrt2 : tensor<?x8xf32>, tensor<f32> -> tensor<?x8xf32>
  %3 = nn.erf %2 : tensor<?x8xf32>
  %4 = nn.add %3, %one : tensor<?x8xf32>, tensor<f32> -> tensor<?x8xf32>
  %5 = nn.mul %1, %4 : tensor<?x8xf32>, tensor<?x8xf32> -> tensor<?x8xf32>
  %6 = nn.mul %5, %half : tensor<?x8xf32>, tensor<f32> -> tensor<?x8xf32>
  %7 = nn.matmul %6, %wd : tensor<?x8xf32>, tensor<8x4xf32> -> tensor<?x4xf32>
  %8 = nn.add %7, %bd : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
  return %8 : tensor<?x4xf32>
}
