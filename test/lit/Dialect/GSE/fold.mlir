// RUN: sinter-opt %s -canonicalize | FileCheck %s

// Quantizing a constant folds to gse.constant, by hand with group 4, 4-bit
// mantissas (|q| ≤ 7) and 5-bit exponents ([−16, 15]); e = ⌊log₂ max|x|⌋ − 2.
//   [1, −0.5, 0.25, 3]: e = 1 − 2 = −1, q = 2x = [2, −1, 0 (0.5: ties to even), 6]
//   zeros: e = −16, q = 0
//   [1e6, 1, −1e6, 0.75]: e = 19 − 2 = 17, clamped to 15; 1e6/2^15 = 30.5 saturates to 7
//   [0.1, 0.2, 0.3, 0.375]: e = −2 − 2 = −4, q = 16x = [2, 3, 5, 6]
// CHECK-LABEL: func @quantize_constant
// CHECK: %[[W:.*]] = gse.constant dense<{{\[}}[2, -1, 0, 6, 0, 0, 0, 0], [7, 0, -7, 0, 2, 3, 5, 6]]> : tensor<2x8xi8>, dense<{{\[}}[-1, -16], [15, -4]]> : tensor<2x2xi8> : !gse.tensor<2x8, #gse.format<group = 4, mantissa = 4, exponent = 5>>
// CHECK: return %[[W]]
func.func @quantize_constant() -> !gse.tensor<2x8, #gse.format<group = 4, mantissa = 4, exponent = 5>> {
  %w = arith.constant dense<[[1.0, -0.5, 0.25, 3.0, 0.0, 0.0, 0.0, 0.0], [1.0e6, 1.0, -1.0e6, 0.75, 0.1, 0.2, 0.3, 0.375]]> : tensor<2x8xf32>
  %q = gse.quantize %w : tensor<2x8xf32> -> !gse.tensor<2x8, #gse.format<group = 4, mantissa = 4, exponent = 5>>
  return %q : !gse.tensor<2x8, #gse.format<group = 4, mantissa = 4, exponent = 5>>
}

// ... and dequantizing it gives q · 2^e back as f32.
// CHECK-LABEL: func @round_trip_constant
// CHECK: arith.constant dense<{{\[}}[1.000000e+00, -5.000000e-01, 0.000000e+00, 3.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00], [2.293760e+05, 0.000000e+00, -2.293760e+05, 0.000000e+00, 1.250000e-01, 1.875000e-01, 3.125000e-01, 3.750000e-01]]> : tensor<2x8xf32>
// CHECK-NOT: gse.
func.func @round_trip_constant() -> tensor<2x8xf32> {
  %w = arith.constant dense<[[1.0, -0.5, 0.25, 3.0, 0.0, 0.0, 0.0, 0.0], [1.0e6, 1.0, -1.0e6, 0.75, 0.1, 0.2, 0.3, 0.375]]> : tensor<2x8xf32>
  %q = gse.quantize %w : tensor<2x8xf32> -> !gse.tensor<2x8, #gse.format<group = 4, mantissa = 4, exponent = 5>>
  %d = gse.dequantize %q : !gse.tensor<2x8, #gse.format<group = 4, mantissa = 4, exponent = 5>> -> tensor<2x8xf32>
  return %d : tensor<2x8xf32>
}

// A partial last group (K = 5, group 4): [1, 2, 3, 4] has e = 0, [0.5] e = −3.
// CHECK-LABEL: func @partial_group
// CHECK: gse.constant dense<[1, 2, 3, 4, 4]> : tensor<5xi8>, dense<[0, -3]> : tensor<2xi8>
func.func @partial_group() -> !gse.tensor<5, #gse.format<group = 4, mantissa = 4, exponent = 5>> {
  %w = arith.constant dense<[1.0, 2.0, 3.0, 4.0, 0.5]> : tensor<5xf32>
  %q = gse.quantize %w : tensor<5xf32> -> !gse.tensor<5, #gse.format<group = 4, mantissa = 4, exponent = 5>>
  return %q : !gse.tensor<5, #gse.format<group = 4, mantissa = 4, exponent = 5>>
}

// Requantizing dequantized values in the same format is the identity.
// CHECK-LABEL: func @requantize
// CHECK-NEXT: return %arg0
func.func @requantize(%q: !gse.tensor<?x64, #gse.format<group = 32, mantissa = 8, exponent = 5>>) -> !gse.tensor<?x64, #gse.format<group = 32, mantissa = 8, exponent = 5>> {
  %d = gse.dequantize %q : !gse.tensor<?x64, #gse.format<group = 32, mantissa = 8, exponent = 5>> -> tensor<?x64xf32>
  %r = gse.quantize %d : tensor<?x64xf32> -> !gse.tensor<?x64, #gse.format<group = 32, mantissa = 8, exponent = 5>>
  return %r : !gse.tensor<?x64, #gse.format<group = 32, mantissa = 8, exponent = 5>>
}

// ... but not in another format (fewer mantissa bits lose information).
// CHECK-LABEL: func @requantize_narrower
// CHECK: gse.dequantize
// CHECK: gse.quantize
func.func @requantize_narrower(%q: !gse.tensor<?x64, #gse.format<group = 32, mantissa = 8, exponent = 5>>) -> !gse.tensor<?x64, #gse.format<group = 32, mantissa = 4, exponent = 5>> {
  %d = gse.dequantize %q : !gse.tensor<?x64, #gse.format<group = 32, mantissa = 8, exponent = 5>> -> tensor<?x64xf32>
  %r = gse.quantize %d : tensor<?x64xf32> -> !gse.tensor<?x64, #gse.format<group = 32, mantissa = 4, exponent = 5>>
  return %r : !gse.tensor<?x64, #gse.format<group = 32, mantissa = 4, exponent = 5>>
}
