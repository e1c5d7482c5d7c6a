// RUN: sinter-opt %s -split-input-file -verify-diagnostics -sinter-binarize-linears="experts=2 scales=f32" | FileCheck %s
// RUN: sinter-opt %s -split-input-file -sinter-binarize-linears="experts=1 activations=int8" 2>/dev/null | FileCheck %s --check-prefix=INT8
// RUN: sinter-opt %s -split-input-file -sinter-binarize-linears=experts=2 2>/dev/null | FileCheck %s --check-prefix=HALF
// RUN: not sinter-opt %s -sinter-binarize-linears=scales=bf16 2>&1 | FileCheck %s --check-prefix=SCALES
// RUN: not sinter-opt %s -sinter-binarize-linears=activations=int4 2>&1 | FileCheck %s --check-prefix=ACT
// RUN: not sinter-opt %s -sinter-binarize-linears=experts=0 2>&1 | FileCheck %s --check-prefix=ZERO
// RUN: not sinter-opt %s -sinter-binarize-linears=experts=65 2>&1 | FileCheck %s --check-prefix=MANY

// ACT: error: binary-mos: activations must be fp32 or int8, got 'int4'
// ZERO: error: binary-mos: experts must be in 1..64, got 0
// MANY: error: binary-mos: experts must be in 1..64, got 65
// SCALES: error: binary-mos: scales must be f16 or f32, got 'bf16'

// |W| is the rank-1 matrix a·bᵀ with a = (1, 2, 3, 0.5), b = (1, 2): the
// SVD gives σ = |a||b|, s_in = √σ·a/|a| = a·(|b|/|a|)^½ and
// s_out = b·(|a|/|b|)^½, copied to both experts; the router is zero.
// Sign bits per output row: column 0 is (+, −, +, +) → 0b1101 = 13,
// column 1 (−, +, −, −) → 0b0010 = 2. The bias moves into the layer; the
// last projection (it reaches the result through no other linear) stays.
// CHECK: module attributes {sinter.compression_report = [{activations = "fp32", bytes_after = 90 : i64, bytes_before = 40 : i64, experts = 2 : i64, in_features = 4 : i64, {{.*}}layer = "linear0", out_features = 2 : i64, pass = "binary-mos", relative_error = {{[0-9.]+}}E-{{1[0-9]}} : f64, scales = "f32", weight_bytes_after = 82 : i64, weight_bytes_before = 32 : i64}]}
// CHECK-LABEL: func @block
// CHECK-DAG: %[[HEAD:.*]] = arith.constant dense<5.000000e-01> : tensor<2x5xf32>
// CHECK-DAG: %[[BITS:.*]] = arith.constant dense<{{\[}}[13], [2]]> : tensor<2x1xi8>
// CHECK-DAG: %[[BIAS:.*]] = arith.constant dense<[2.500000e-01, -5.000000e-01]> : tensor<2xf32>
// CHECK-DAG: %[[SIN:.*]] = arith.constant dense<{{\[}}[0.76964{{[0-9]*}}, 1.539284{{[0-9]*}}, 2.308926{{[0-9]*}}, 0.38482{{[0-9]*}}], [0.76964{{[0-9]*}}, 1.539284{{[0-9]*}}, 2.308926{{[0-9]*}}, 0.38482{{[0-9]*}}]]> : tensor<2x4xf32>
// CHECK-DAG: %[[SOUT:.*]] = arith.constant dense<{{\[}}[1.29930{{[0-9]*}}, 2.59861{{[0-9]*}}], [1.29930{{[0-9]*}}, 2.59861{{[0-9]*}}]]> : tensor<2x2xf32>
// CHECK-DAG: %[[ROUTER:.*]] = arith.constant dense<0.000000e+00> : tensor<4x2xf32>
// CHECK: %[[Y:.*]] = bnn.mos_linear %arg0, %[[BITS]], %[[SIN]], %[[SOUT]], %[[ROUTER]] bias(%[[BIAS]]) {in_features = 4 : i64, layout = #bnn<layout rows_of_inputs>}
// INT8: activations = "int8"{{.*}}experts = 1
// INT8: bnn.mos_linear {{.*}} {in_features = 4 : i64, int8_activations, layout = #bnn<layout rows_of_inputs>} : (tensor<3x4xf32>, tensor<2x1xi8>, tensor<1x4xf16>, tensor<1x2xf16>, tensor<4x1xf16>, tensor<2xf32>)
// By default the scales and router are halves (rounded to nearest): 2 bytes
// of bits + 2 · (8 + 4 + 8) bytes of tables.
// HALF: scales = "f16"{{.*}}weight_bytes_after = 42 : i64
// HALF-LABEL: func @block
// HALF-DAG: %[[SIN:.*]] = arith.constant dense<{{\[}}[7.695310e-01, 1.539060e+00, 2.308590e+00, 3.847660e-01], [7.695310e-01, 1.539060e+00, 2.308590e+00, 3.847660e-01]]> : tensor<2x4xf16>
// HALF-DAG: %[[SOUT:.*]] = arith.constant dense<{{\[}}[1.298830e+00, 2.597660e+00], [1.298830e+00, 2.597660e+00]]> : tensor<2x2xf16>
// HALF-DAG: %[[ROUTER:.*]] = arith.constant dense<0.000000e+00> : tensor<4x2xf16>
// HALF: bnn.mos_linear %arg0, %{{.*}}, %[[SIN]], %[[SOUT]], %[[ROUTER]] bias(%{{.*}}) {{.*}} : (tensor<3x4xf32>, tensor<2x1xi8>, tensor<2x4xf16>, tensor<2x2xf16>, tensor<4x2xf16>, tensor<2xf32>)
// CHECK: %[[R:.*]] = nn.relu %[[Y]]
// CHECK: nn.matmul %[[R]], %[[HEAD]]
func.func @block(%x: tensor<3x4xf32>) -> tensor<3x5xf32> {
  %w = arith.constant dense<[[1.0, -2.0], [-2.0, 4.0], [3.0, -6.0], [0.5, -1.0]]> : tensor<4x2xf32>
  %b = arith.constant dense<[0.25, -0.5]> : tensor<2xf32>
  %wh = arith.constant dense<0.5> : tensor<2x5xf32>
  %0 = nn.matmul %x, %w : tensor<3x4xf32>, tensor<4x2xf32> -> tensor<3x2xf32>
  %1 = nn.add %0, %b : tensor<3x2xf32>, tensor<2xf32> -> tensor<3x2xf32>
  %2 = nn.relu %1 : tensor<3x2xf32>
  // expected-remark @+1 {{binary-mos: 'linear1' is the model's output projection; kept fp32}}
  %3 = nn.matmul %2, %wh : tensor<3x2xf32>, tensor<2x5xf32> -> tensor<3x5xf32>
  return %3 : tensor<3x5xf32>
}

// -----

// Batched rows with a dynamic dimension; K = 12 packs into 2 bytes a row.
// CHECK-LABEL: func @batched
// CHECK: %[[Y:.*]] = bnn.mos_linear %arg0, %{{.*}} {in_features = 12 : i64, layout = #bnn<layout rows_of_inputs>} : (tensor<?x7x12xf32>, tensor<3x2xi8>, tensor<2x12xf32>, tensor<2x3xf32>, tensor<12x2xf32>) -> tensor<?x7x3xf32>
// CHECK: nn.matmul %[[Y]], %{{.*}} : tensor<?x7x3xf32>, tensor<3x3xf32>
func.func @batched(%x: tensor<?x7x12xf32>) -> tensor<?x7x3xf32> {
  %w = arith.constant dense<-1.0> : tensor<12x3xf32>
  %wh = arith.constant dense<2.0> : tensor<3x3xf32>
  %0 = nn.matmul %x, %w : tensor<?x7x12xf32>, tensor<12x3xf32> -> tensor<?x7x3xf32>
  // expected-remark @+1 {{'linear1' is the model's output projection}}
  %1 = nn.matmul %0, %wh : tensor<?x7x3xf32>, tensor<3x3xf32> -> tensor<?x7x3xf32>
  return %1 : tensor<?x7x3xf32>
}

// -----

// A matmul of two computed values (attention scores) is no linear.
// CHECK-LABEL: func @computed
// CHECK-NOT: bnn.mos_linear
func.func @computed(%q: tensor<4x8xf32>, %k: tensor<8x4xf32>) -> tensor<4x4xf32> {
  %0 = nn.matmul %q, %k : tensor<4x8xf32>, tensor<8x4xf32> -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

// activations=int8 and scales=f16 also switch a layer the model already had.
// CHECK-LABEL: func @imported
// CHECK-NOT: int8_activations
// CHECK: tensor<1x8xf32>, tensor<1x4xf32>, tensor<8x1xf32>
// INT8-LABEL: func @imported
// INT8: bnn.mos_linear {{.*}}int8_activations
// HALF-LABEL: func @imported
// HALF-DAG: arith.constant dense<1.250000e-01> : tensor<1x8xf16>
// HALF-DAG: arith.constant dense<3.000000e+00> : tensor<1x4xf16>
// HALF-DAG: arith.constant dense<-2.500000e-01> : tensor<8x1xf16>
// HALF: bnn.mos_linear {{.*}} : (tensor<2x8xf32>, tensor<4x1xi8>, tensor<1x8xf16>, tensor<1x4xf16>, tensor<8x1xf16>)
func.func @imported(%x: tensor<2x8xf32>) -> tensor<2x4xf32> {
  %sin = arith.constant dense<0.125> : tensor<1x8xf32>
  %sout = arith.constant dense<3.0> : tensor<1x4xf32>
  %r = arith.constant dense<-0.25> : tensor<8x1xf32>
  %bits = arith.constant dense<0> : tensor<4x1xi8>
  %0 = bnn.mos_linear %x, %bits, %sin, %sout, %r {in_features = 8 : i64, layout = #bnn<layout rows_of_inputs>} : (tensor<2x8xf32>, tensor<4x1xi8>, tensor<1x8xf32>, tensor<1x4xf32>, tensor<8x1xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}
