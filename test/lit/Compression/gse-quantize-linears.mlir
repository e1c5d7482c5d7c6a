// RUN: sinter-opt %s -split-input-file -verify-diagnostics -sinter-gse-quantize-linears | FileCheck %s
// RUN: sinter-opt %s -split-input-file -sinter-gse-quantize-linears="w=4 a=6 group=16 exponent=8" 2>/dev/null | FileCheck %s --check-prefix=W4
// RUN: sinter-opt %s -split-input-file -sinter-gse-quantize-linears="embeddings=0" 2>/dev/null | FileCheck %s --check-prefix=NOEMB
// RUN: not sinter-opt %s -sinter-gse-quantize-linears=w=9 2>&1 | FileCheck %s --check-prefix=BITS
// RUN: not sinter-opt %s -sinter-gse-quantize-linears=group=0 2>&1 | FileCheck %s --check-prefix=GROUP
// RUN: not sinter-opt %s -sinter-gse-quantize-linears=embeddings=1 2>&1 | FileCheck %s --check-prefix=BITS1

// BITS: error: gse: mantissa bits must be in 2..8, not 9
// GROUP: error: gse: group must be in 1..4096, not 0
// BITS1: error: gse: mantissa bits must be in 2..8, not 1

// Every constant linear, the head included, becomes gse.matmul of the
// row-quantized input and W stored transposed ([N, K]), quantized at
// compile time: W = 0.5 everywhere has e = ⌊log₂ 0.5⌋ − 6 = −7 and
// q = 0.5 · 2^7 = 64; 0.25 has e = −8, q = 64. K = 40 makes two groups of
// 32 (the second partial). The bias add and the ReLU stay.
// CHECK: module attributes {sinter.compression_report = [{activations = #gse.format<group = 32, mantissa = 8, exponent = 5>, in_features = 40 : i64, kind = "linear", layer = "linear0", out_features = 2 : i64, pass = "gse", relative_error = 0.000000e+00 : f64, weight_bytes_after = 84 : i64, weight_bytes_before = 320 : i64, weights = #gse.format<group = 32, mantissa = 8, exponent = 5>}, {{.*}}layer = "linear1"
// CHECK-LABEL: func @block
// CHECK-DAG: %[[W:.*]] = gse.constant dense<64> : tensor<2x40xi8>, dense<-7> : tensor<2x2xi8> : !gse.tensor<2x40, #gse.format<group = 32, mantissa = 8, exponent = 5>>
// CHECK-DAG: %[[X:.*]] = gse.quantize %arg0 : tensor<3x40xf32> -> !gse.tensor<3x40, #gse.format<group = 32, mantissa = 8, exponent = 5>>
// CHECK: %[[Y:.*]] = gse.matmul %[[X]], %[[W]] : {{.*}} -> tensor<3x2xf32>
// CHECK: %[[B:.*]] = nn.add %[[Y]], %{{.*}}
// CHECK: %[[R:.*]] = nn.relu %[[B]]
// CHECK-DAG: %[[H:.*]] = gse.constant dense<64> : tensor<5x2xi8>, dense<-8> : tensor<5x1xi8>
// CHECK-DAG: %[[RQ:.*]] = gse.quantize %[[R]]
// CHECK: gse.matmul %[[RQ]], %[[H]]
// CHECK-NOT: nn.matmul
// Another format: 4-bit weights (0.5 → e = −1 − 2 = −3, q = 4), 6-bit
// activations, groups of 16 (K = 40: three), MX's 8-bit exponents.
// W4: weights = #gse.format<group = 16, mantissa = 4, exponent = 8>
// W4: gse.constant dense<4> : tensor<2x40xi8>, dense<-3> : tensor<2x3xi8> : !gse.tensor<2x40, #gse.format<group = 16, mantissa = 4, exponent = 8>>
// W4: gse.quantize %arg0 : tensor<3x40xf32> -> !gse.tensor<3x40, #gse.format<group = 16, mantissa = 6, exponent = 8>>
func.func @block(%x: tensor<3x40xf32>) -> tensor<3x5xf32> {
  %w = arith.constant dense<0.5> : tensor<40x2xf32>
  %b = arith.constant dense<[0.25, -0.5]> : tensor<2xf32>
  %wh = arith.constant dense<0.25> : tensor<2x5xf32>
  %0 = nn.matmul %x, %w : tensor<3x40xf32>, tensor<40x2xf32> -> tensor<3x2xf32>
  %1 = nn.add %0, %b : tensor<3x2xf32>, tensor<2xf32> -> tensor<3x2xf32>
  %2 = nn.relu %1 : tensor<3x2xf32>
  %3 = nn.matmul %2, %wh : tensor<3x2xf32>, tensor<2x5xf32> -> tensor<3x5xf32>
  return %3 : tensor<3x5xf32>
}

// -----

// A rank-1 input (a vector times a matrix) is kept, with a remark; a
// product of two computed values is no linear.
// CHECK-LABEL: func @kept
// CHECK-NOT: gse.
func.func @kept(%v: tensor<8xf32>, %q: tensor<4x8xf32>, %k: tensor<8x4xf32>) -> (tensor<3xf32>, tensor<4x4xf32>) {
  %w = arith.constant dense<1.0> : tensor<8x3xf32>
  // expected-remark @+1 {{gse: 'linear0' has a rank-1 input; kept fp32}}
  %0 = nn.matmul %v, %w : tensor<8xf32>, tensor<8x3xf32> -> tensor<3xf32>
  %1 = nn.matmul %q, %k : tensor<4x8xf32>, tensor<8x4xf32> -> tensor<4x4xf32>
  return %0, %1 : tensor<3xf32>, tensor<4x4xf32>
}

// -----

// Embedding lookups: a gather of rows of a constant table by computed ids
// becomes gse.gather of the table quantized along its rows with 8-bit
// mantissas in the weights' group and exponent (0.5: e = −7, q = 64; D =
// 40: two groups of 32), reported as kind = "embedding" (6·40 mantissas +
// 6·2 exponents = 252 bytes, from 960). A table that something else reads
// too, and a gather along another axis, stay f32. With embeddings=0
// nothing is quantized. With w=4 the table keeps 8-bit mantissas (groups
// of 16, 8-bit exponents there).
// CHECK: {kind = "embedding", layer = "wte", pass = "gse", relative_error = 0.000000e+00 : f64, rows = 6 : i64, weight_bytes_after = 252 : i64, weight_bytes_before = 960 : i64, weights = #gse.format<group = 32, mantissa = 8, exponent = 5>, width = 40 : i64}
// CHECK-LABEL: func @embeddings
// CHECK-DAG: %[[T:.*]] = gse.constant dense<64> : tensor<6x40xi8>, dense<-7> : tensor<6x2xi8> : !gse.tensor<6x40, #gse.format<group = 32, mantissa = 8, exponent = 5>>
// CHECK-DAG: %[[X:.*]] = gse.gather %[[T]], %arg0 : !gse.tensor<6x40, #gse.format<group = 32, mantissa = 8, exponent = 5>>, tensor<?x?xi64> -> tensor<?x?x40xf32>
// CHECK-DAG: nn.gather %{{.*}}, %arg1 : tensor<4x8xf32>
// CHECK-DAG: nn.gather %{{.*}}, %arg1 {axis = 1 : i64} : tensor<8x4xf32>
// CHECK: return %[[X]]
// W4: gse.constant dense<64> : tensor<6x40xi8>, dense<-7> : tensor<6x3xi8> : !gse.tensor<6x40, #gse.format<group = 16, mantissa = 8, exponent = 8>>
// NOEMB-LABEL: func @embeddings
// NOEMB-NOT: gse.
func.func @embeddings(%ids: tensor<?x?xi64>, %pos: tensor<3xi64>) -> (tensor<?x?x40xf32>, tensor<3x8xf32>, tensor<4x8xf32>, tensor<8x3xf32>) {
  %wte = arith.constant dense<0.5> : tensor<6x40xf32>
  %x = nn.gather %wte, %ids : tensor<6x40xf32>, tensor<?x?xi64> -> tensor<?x?x40xf32> loc("node 'wte' (Gather)")
  %shared = arith.constant dense<0.25> : tensor<4x8xf32>
  %y = nn.gather %shared, %pos : tensor<4x8xf32>, tensor<3xi64> -> tensor<3x8xf32>
  %cols = arith.constant dense<0.75> : tensor<8x4xf32>
  %z = nn.gather %cols, %pos {axis = 1 : i64} : tensor<8x4xf32>, tensor<3xi64> -> tensor<8x3xf32>
  return %x, %y, %shared, %z : tensor<?x?x40xf32>, tensor<3x8xf32>, tensor<4x8xf32>, tensor<8x3xf32>
}
