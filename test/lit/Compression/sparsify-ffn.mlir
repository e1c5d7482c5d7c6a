// RUN: sinter-opt %s -sinter-sparsify-ffn="profile=%S/Inputs/sparsify-profile.json sparsity=0.5 score=magnitude" | FileCheck %s --check-prefix=MAG
// RUN: sinter-opt %s -sinter-sparsify-ffn="profile=%S/Inputs/sparsify-profile.json sparsity=0.75" | FileCheck %s --check-prefix=AUTO
// RUN: sinter-opt %s -sinter-sparsify-ffn="profile=%S/Inputs/sparsify-profile.json sparsity=0" | FileCheck %s --check-prefix=NONE
// RUN: sinter-opt %s -sinter-sparsify-ffn="profile=%S/Inputs/sparsify-profile.json sparsity=0.5 mode=dynamic" | FileCheck %s --check-prefix=DYN
// RUN: sinter-opt %s -sinter-sparsify-ffn="profile=%S/Inputs/sparsify-profile.json sparsity=0.5 mode=dynamic dense-rows=16" | FileCheck %s --check-prefix=ROWS

// A GELU FFN 4 → 8 → 4 whose up-projection column j and down-projection
// row j hold j, so the kept neurons can be read off the new constants.
// The profile's magnitudes rank the odd neurons first, its attribution
// scores neurons 0, 1, 2, ... in order.

// MAG: sinter.compression_report = [{activation = "gelu", bytes_after = 160 : i64, bytes_before = 304 : i64, gated = false, kept_magnitude_share = 0.7499{{[0-9]*}} : f64, kept_neurons = 4 : i64, kernel = "{{.*}}", layer = "up0", mode = "static", neurons = 8 : i64, pass = "sparsify-ffn", score = "magnitude", sparsity = 5.000000e-01 : f64}
// MAG-SAME: {activation = "silu", {{.*}} gated = true, {{.*}} kept_neurons = 4 : i64, {{.*}} layer = "up1", {{.*}} score = "magnitude"
// MAG-LABEL: func @plain
// MAG-DAG: %[[WU:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 3.000000e+00, 5.000000e+00, 7.000000e+00], {{.*}}> : tensor<4x4xf32>
// MAG-DAG: %[[BU:.*]] = arith.constant dense<[1.000000e+00, 3.000000e+00, 5.000000e+00, 7.000000e+00]> : tensor<4xf32>
// MAG-DAG: %[[WD:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00], [3.000000e+00, {{.*}}], [5.000000e+00, {{.*}}], [7.000000e+00, {{.*}}]]> : tensor<4x4xf32>
// MAG: %[[U:.*]] = nn.matmul %{{.*}}, %[[WU]] : tensor<?x4xf32>, tensor<4x4xf32> -> tensor<?x4xf32>
// MAG: %[[Z:.*]] = nn.add %[[U]], %[[BU]] : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
// MAG: %[[H:.*]] = nn.gelu %[[Z]] : tensor<?x4xf32>
// MAG: %[[D:.*]] = nn.matmul %[[H]], %[[WD]] : tensor<?x4xf32>, tensor<4x4xf32> -> tensor<?x4xf32>
// MAG: nn.add %[[D]], %{{.*}} : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>

// Gated (SwiGLU): gate, up and the SiLU between narrow together.
// MAG-LABEL: func @gated
// MAG: nn.matmul %{{.*}}, %{{.*}} : tensor<2x4xf32>, tensor<4x4xf32> -> tensor<2x4xf32>
// MAG: nn.sigmoid %{{.*}} : tensor<2x4xf32>
// MAG: nn.mul %{{.*}}, %{{.*}} : tensor<2x4xf32>, tensor<2x4xf32> -> tensor<2x4xf32>
// MAG: nn.matmul %{{.*}}, %{{.*}} : tensor<2x4xf32>, tensor<4x4xf32> -> tensor<2x4xf32>
// MAG: nn.mul %{{.*}}, %{{.*}} : tensor<2x4xf32>, tensor<2x4xf32> -> tensor<2x4xf32>
// MAG: nn.matmul %{{.*}}, %{{.*}} : tensor<2x4xf32>, tensor<4x4xf32> -> tensor<2x4xf32>

// auto takes attribution where the profile has it (up0) and magnitude
// where it does not (up1); 0.75 of 8 leaves 2 neurons.
// AUTO: {{.*}}kept_neurons = 2 : i64, {{.*}}layer = "up0", {{.*}}score = "attribution"
// AUTO-SAME: layer = "up1", {{.*}}score = "magnitude"
// AUTO-LABEL: func @plain
// AUTO: arith.constant dense<{{\[}}[0.000000e+00, 1.000000e+00], {{.*}}> : tensor<4x2xf32>
// AUTO-LABEL: func @gated
// The gate's column j holds j + 10, so neurons 0 and 3 read 10 and 13.
// AUTO: arith.constant dense<{{\[}}[1.000000e+01, 1.300000e+01], {{.*}}> : tensor<4x2xf32>

// Sparsity 0 keeps every neuron and every weight as it was.
// NONE-LABEL: func @plain
// NONE: nn.matmul %{{.*}}, %{{.*}} : tensor<?x4xf32>, tensor<4x8xf32> -> tensor<?x8xf32>
// NONE: nn.matmul %{{.*}}, %{{.*}} : tensor<?x8xf32>, tensor<8x4xf32> -> tensor<?x4xf32>
// Dynamic: up0 has a predictor (auto takes attribution), up1 does not
// (magnitude: the threshold is the 0.5-quantile of |h|, 0.5). The kernel
// takes weights neuron by neuron: W_u transposed, W_d as it is. The cost
// model puts the dense switch where a token's gathers (half the weights
// plus the predictor) add up to one dense pass.
// DYN: {activation = "gelu", bytes_after = {{[0-9]+}} : i64, bytes_before = 304 : i64, decode_weight_bytes_per_token = {{[0-9]+}} : i64, dense_rows = 2 : i64, dense_weight_bytes_per_token = 256 : i64, gated = false, kept_neurons = 4 : i64, {{.*}} mode = "dynamic", neurons = 8 : i64, pass = "sparsify-ffn", predictor_rank = 2 : i64, predictor_recall = 7.500000e-01 : f64, score = "attribution", selection = "predictor"
// DYN-SAME: {activation = "silu", {{.*}} gated = true, {{.*}} mode = "dynamic", {{.*}} score = "magnitude", selection = "threshold", sparsity = 5.000000e-01 : f64, threshold = 5.000000e-01 : f64}
// DYN-LABEL: func @plain
// DYN-SAME: (%[[X:.*]]: tensor<?x4xf32>)
// DYN-DAG: %[[UP:.*]] = arith.constant dense<{{\[}}[0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00], [1.000000e+00, {{.*}}> : tensor<8x4xf32>
// DYN-NOT: nn.gelu
// DYN: %[[S:.*]] = nn.sparse_ffn %[[X]] up(%[[UP]], %{{.*}}) down(%{{.*}}) predictor(%{{.*}}, %{{.*}}, %{{.*}}) {activation = "gelu", dense_rows = 2 : i64, kept = 4 : i64, threshold = 0.000000e+00 : f32} : (tensor<?x4xf32>, tensor<8x4xf32>, tensor<8xf32>, tensor<8x4xf32>, tensor<4x2xf32>, tensor<2x8xf32>, tensor<8xf32>) -> tensor<?x4xf32>
// DYN: nn.add %[[S]], %{{.*}} : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
// DYN-LABEL: func @gated
// DYN-NOT: nn.sigmoid
// DYN: nn.sparse_ffn %{{.*}} up(%{{.*}}, %{{.*}}) gate(%{{.*}}, %{{.*}}) down(%{{.*}}) {activation = "silu", dense_rows = 2 : i64, kept = 0 : i64, threshold = 5.000000e-01 : f32} : (tensor<2x4xf32>, tensor<8x4xf32>, tensor<8xf32>, tensor<8x4xf32>, tensor<8xf32>, tensor<8x4xf32>) -> tensor<2x4xf32>
// DYN-NOT: nn.matmul
// ROWS: dense_rows = 16 : i64
// ROWS: dense_rows = 16 : i64
func.func @plain(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %wu = arith.constant dense<[[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
                              [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
                              [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
                              [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]]> : tensor<4x8xf32>
  %bu = arith.constant dense<[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]> : tensor<8xf32>
  %wd = arith.constant dense<[[0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0], [2.0, 2.0, 2.0, 2.0], [3.0, 3.0, 3.0, 3.0],
                              [4.0, 4.0, 4.0, 4.0], [5.0, 5.0, 5.0, 5.0], [6.0, 6.0, 6.0, 6.0], [7.0, 7.0, 7.0, 7.0]]> : tensor<8x4xf32>
  %bd = arith.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %0 = nn.matmul %x, %wu : tensor<?x4xf32>, tensor<4x8xf32> -> tensor<?x8xf32> loc("up0")
  %1 = nn.add %0, %bu : tensor<?x8xf32>, tensor<8xf32> -> tensor<?x8xf32>
  %2 = nn.gelu %1 : tensor<?x8xf32>
  %3 = nn.matmul %2, %wd : tensor<?x8xf32>, tensor<8x4xf32> -> tensor<?x4xf32>
  %4 = nn.add %3, %bd : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
  return %4 : tensor<?x4xf32>
}

func.func @gated(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %wg = arith.constant dense<[[10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0],
                              [10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0],
                              [10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0],
                              [10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0]]> : tensor<4x8xf32>
  %wu = arith.constant dense<0.2> : tensor<4x8xf32>
  %wd = arith.constant dense<0.3> : tensor<8x4xf32>
  %g = nn.matmul %x, %wg : tensor<2x4xf32>, tensor<4x8xf32> -> tensor<2x8xf32>
  %s = nn.sigmoid %g : tensor<2x8xf32>
  %silu = nn.mul %g, %s : tensor<2x8xf32>, tensor<2x8xf32> -> tensor<2x8xf32>
  %u = nn.matmul %x, %wu : tensor<2x4xf32>, tensor<4x8xf32> -> tensor<2x8xf32> loc("up1")
  %h = nn.mul %silu, %u : tensor<2x8xf32>, tensor<2x8xf32> -> tensor<2x8xf32>
  %y = nn.matmul %h, %wd : tensor<2x8xf32>, tensor<8x4xf32> -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}
