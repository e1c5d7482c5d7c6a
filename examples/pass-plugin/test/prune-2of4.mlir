// RUN: sinter-opt %s --load-pass-plugin=%plugin --pass-pipeline="builtin.module(sinter-prune-2of4{profile=%S/Inputs/profile.json})" | FileCheck %s
// RUN: sinter-opt %s --load-pass-plugin=%plugin --pass-pipeline="builtin.module(sinter-prune-2of4{profile=%S/Inputs/profile.json score=magnitude})" | FileCheck %s --check-prefix=MAG
// RUN: sinter-opt %s --load-pass-plugin=%plugin --pass-pipeline="builtin.module(sinter-prune-2of4{profile=%S/Inputs/profile.json targets=linears})" | FileCheck %s --check-prefix=LIN

// Two FFNs whose up/gate row i holds i + 1 in every column. up0's profile
// keeps its input rows, whose norms (4, 3, 2, 1, 4, 3, 2, 1) rank rows
// 1, 2 and 4, 5 first by |W|·‖x‖ (rows 0 and 3 tie at 4: the later goes);
// its mean |h| (0.1, 0.9, 0.2, 0.8) keeps down rows 1 and 3. up1's profile
// has neither, so |W| alone keeps the two largest of each group.

// CHECK: sinter.compression_report = [{layer = "up0", pass = "prune-2of4", score = "wanda", weights = 40 : i64, zeroed = 20 : i64}, {layer = "up1", pass = "prune-2of4", score = "magnitude", weights = 72 : i64, zeroed = 36 : i64}]
// CHECK-LABEL: func @plain
// CHECK-DAG: %[[WU:.*]] = arith.constant dense<{{\[}}[0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00], [2.000000e+00, 2.000000e+00, 2.000000e+00, 2.000000e+00], [3.000000e+00, 3.000000e+00, 3.000000e+00, 3.000000e+00], [0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00], [5.000000e+00, 5.000000e+00, 5.000000e+00, 5.000000e+00], [6.000000e+00, 6.000000e+00, 6.000000e+00, 6.000000e+00], [0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00], [0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00]]> : tensor<8x4xf32>
// CHECK-DAG: %[[WD:.*]] = arith.constant dense<{{\[}}[0.000000e+00, 0.000000e+00], [1.000000e+00, 1.000000e+00], [0.000000e+00, 0.000000e+00], [1.000000e+00, 1.000000e+00]]> : tensor<4x2xf32>
// CHECK: nn.matmul %{{.*}}, %[[WU]]
// CHECK: nn.gelu
// CHECK: nn.matmul %{{.*}}, %[[WD]]
func.func @plain(%x: tensor<?x8xf32>) -> tensor<?x2xf32> {
  %wu = arith.constant dense<[[1.0, 1.0, 1.0, 1.0], [2.0, 2.0, 2.0, 2.0], [3.0, 3.0, 3.0, 3.0], [4.0, 4.0, 4.0, 4.0],
                              [5.0, 5.0, 5.0, 5.0], [6.0, 6.0, 6.0, 6.0], [7.0, 7.0, 7.0, 7.0], [8.0, 8.0, 8.0, 8.0]]> : tensor<8x4xf32>
  %wd = arith.constant dense<1.0> : tensor<4x2xf32>
  %0 = nn.matmul %x, %wu : tensor<?x8xf32>, tensor<8x4xf32> -> tensor<?x4xf32> loc("up0")
  %1 = nn.gelu %0 : tensor<?x4xf32>
  %2 = nn.matmul %1, %wd : tensor<?x4xf32>, tensor<4x2xf32> -> tensor<?x2xf32>
  return %2 : tensor<?x2xf32>
}

// The gate prunes like the up projection; the down projection's equal
// weights tie everywhere, so rows 0 and 1 of each group stay.
// CHECK-LABEL: func @gated
// CHECK-DAG: arith.constant dense<{{\[}}[0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00], [0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00], [1.300000e+01, 1.300000e+01, 1.300000e+01, 1.300000e+01], [1.400000e+01, {{.*}}], [0.000000e+00, {{.*}}], [0.000000e+00, {{.*}}], [1.700000e+01, {{.*}}], [1.800000e+01, {{.*}}]]> : tensor<8x4xf32>
// CHECK-DAG: arith.constant dense<{{\[}}[0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00], [0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00], [3.000000e+00, {{.*}}], [4.000000e+00, {{.*}}], [0.000000e+00, {{.*}}], [0.000000e+00, {{.*}}], [7.000000e+00, {{.*}}], [8.000000e+00, {{.*}}]]> : tensor<8x4xf32>
// CHECK-DAG: arith.constant dense<{{\[}}[5.000000e-01, 5.000000e-01], [5.000000e-01, 5.000000e-01], [0.000000e+00, 0.000000e+00], [0.000000e+00, 0.000000e+00]]> : tensor<4x2xf32>
func.func @gated(%x: tensor<2x8xf32>) -> tensor<2x2xf32> {
  %wg = arith.constant dense<[[11.0, 11.0, 11.0, 11.0], [12.0, 12.0, 12.0, 12.0], [13.0, 13.0, 13.0, 13.0], [14.0, 14.0, 14.0, 14.0],
                              [15.0, 15.0, 15.0, 15.0], [16.0, 16.0, 16.0, 16.0], [17.0, 17.0, 17.0, 17.0], [18.0, 18.0, 18.0, 18.0]]> : tensor<8x4xf32>
  %wu = arith.constant dense<[[1.0, 1.0, 1.0, 1.0], [2.0, 2.0, 2.0, 2.0], [3.0, 3.0, 3.0, 3.0], [4.0, 4.0, 4.0, 4.0],
                              [5.0, 5.0, 5.0, 5.0], [6.0, 6.0, 6.0, 6.0], [7.0, 7.0, 7.0, 7.0], [8.0, 8.0, 8.0, 8.0]]> : tensor<8x4xf32>
  %wd = arith.constant dense<0.5> : tensor<4x2xf32>
  %g = nn.matmul %x, %wg : tensor<2x8xf32>, tensor<8x4xf32> -> tensor<2x4xf32>
  %s = nn.sigmoid %g : tensor<2x4xf32>
  %silu = nn.mul %g, %s : tensor<2x4xf32>, tensor<2x4xf32> -> tensor<2x4xf32>
  %u = nn.matmul %x, %wu : tensor<2x8xf32>, tensor<8x4xf32> -> tensor<2x4xf32> loc("up1")
  %h = nn.mul %silu, %u : tensor<2x4xf32>, tensor<2x4xf32> -> tensor<2x4xf32>
  %y = nn.matmul %h, %wd : tensor<2x4xf32>, tensor<4x2xf32> -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

// score=magnitude ignores up0's statistics: the two largest rows of each
// group stay (3, 4 and 7, 8), and the equal down weights keep rows 0 and 1.
// MAG: {layer = "up0", pass = "prune-2of4", score = "magnitude"
// MAG-LABEL: func @plain
// MAG-DAG: arith.constant dense<{{\[}}[0.000000e+00, {{.*}}], [0.000000e+00, {{.*}}], [3.000000e+00, {{.*}}], [4.000000e+00, {{.*}}], [0.000000e+00, {{.*}}], [0.000000e+00, {{.*}}], [7.000000e+00, {{.*}}], [8.000000e+00, {{.*}}]]> : tensor<8x4xf32>
// MAG-DAG: arith.constant dense<{{\[}}[1.000000e+00, 1.000000e+00], [1.000000e+00, 1.000000e+00], [0.000000e+00, 0.000000e+00], [0.000000e+00, 0.000000e+00]]> : tensor<4x2xf32>

// targets=linears: every linear but the head, i.e. the last projection of
// each function, which reaches the result through no other linear. up0
// keeps its Wanda score; the gate (unnamed: linear0) and up1 have no input
// statistics.
// LIN: sinter.compression_report = [{layer = "up0", pass = "prune-2of4", score = "wanda", weights = 32 : i64, zeroed = 16 : i64}, {layer = "linear0", pass = "prune-2of4", score = "magnitude", weights = 32 : i64, zeroed = 16 : i64}, {layer = "up1", pass = "prune-2of4", score = "magnitude", weights = 32 : i64, zeroed = 16 : i64}]
// LIN-LABEL: func @plain
// LIN-DAG: arith.constant dense<{{\[}}[0.000000e+00, {{.*}}], [2.000000e+00, {{.*}}], [3.000000e+00, {{.*}}], [0.000000e+00, {{.*}}], [5.000000e+00, {{.*}}], [6.000000e+00, {{.*}}], [0.000000e+00, {{.*}}], [0.000000e+00, {{.*}}]]> : tensor<8x4xf32>
// LIN-DAG: arith.constant dense<1.000000e+00> : tensor<4x2xf32>
// LIN-LABEL: func @gated
// LIN-DAG: arith.constant dense<5.000000e-01> : tensor<4x2xf32>
