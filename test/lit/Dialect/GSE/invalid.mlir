// RUN: sinter-opt %s -split-input-file -verify-diagnostics

// expected-error@+1 {{group must be in 1..4096, not 0}}
func.func @group(%x: !gse.tensor<4x64, #gse.format<group = 0, mantissa = 8, exponent = 5>>)

// -----

// expected-error@+1 {{mantissa bits must be in 2..8, not 9}}
func.func @mantissa(%x: !gse.tensor<4x64, #gse.format<group = 32, mantissa = 9, exponent = 5>>)

// -----

// expected-error@+1 {{exponent bits must be in 2..8 (8: the E8M0 scale of OCP MX), not 1}}
func.func @exponent(%x: !gse.tensor<4x64, #gse.format<group = 32, mantissa = 8, exponent = 1>>)

// -----

// expected-error@+1 {{the last dimension of a GSE tensor must be static and positive (it fixes the groups)}}
func.func @dynamic_last(%x: !gse.tensor<4x?, #gse.format<group = 32, mantissa = 8, exponent = 5>>)

// -----

func.func @quantize_shape(%x: tensor<4x64xf32>) {
  // expected-error@+1 {{result shape '!gse.tensor<4x32, #gse.format<group = 32, mantissa = 8, exponent = 5>>' must match the input's, 'tensor<4x64xf32>'}}
  %q = gse.quantize %x : tensor<4x64xf32> -> !gse.tensor<4x32, #gse.format<group = 32, mantissa = 8, exponent = 5>>
  return
}

// -----

func.func @dequantize_shape(%q: !gse.tensor<4x64, #gse.format<group = 32, mantissa = 8, exponent = 5>>) {
  // expected-error@+1 {{result shape 'tensor<64x4xf32>' must match the input's}}
  %x = gse.dequantize %q : !gse.tensor<4x64, #gse.format<group = 32, mantissa = 8, exponent = 5>> -> tensor<64x4xf32>
  return
}

// -----

func.func @constant_exponent_shape() {
  // expected-error@+1 {{exponents must be 'tensor<3x2xi8>', not 'tensor<3x64xi8>'}}
  %w = gse.constant dense<1> : tensor<3x64xi8>, dense<0> : tensor<3x64xi8> : !gse.tensor<3x64, #gse.format<group = 32, mantissa = 4, exponent = 5>>
  return
}

// -----

func.func @constant_mantissa_range() {
  // expected-error@+1 {{mantissa 8 is outside ±7 (4 bits)}}
  %w = gse.constant dense<8> : tensor<3x64xi8>, dense<0> : tensor<3x2xi8> : !gse.tensor<3x64, #gse.format<group = 32, mantissa = 4, exponent = 5>>
  return
}

// -----

func.func @constant_exponent_range() {
  // expected-error@+1 {{exponent -17 is outside [-16, 15] (5 bits)}}
  %w = gse.constant dense<1> : tensor<3x64xi8>, dense<-17> : tensor<3x2xi8> : !gse.tensor<3x64, #gse.format<group = 32, mantissa = 4, exponent = 5>>
  return
}

// -----

func.func @matmul_k(%a: !gse.tensor<?x64, #gse.format<group = 32, mantissa = 8, exponent = 5>>,
                    %b: !gse.tensor<5x96, #gse.format<group = 32, mantissa = 8, exponent = 5>>) {
  // expected-error@+1 {{contracts K: lhs has 64, rhs 96}}
  %y = gse.matmul %a, %b : !gse.tensor<?x64, #gse.format<group = 32, mantissa = 8, exponent = 5>>, !gse.tensor<5x96, #gse.format<group = 32, mantissa = 8, exponent = 5>> -> tensor<?x5xf32>
  return
}

// -----

func.func @matmul_groups(%a: !gse.tensor<?x64, #gse.format<group = 32, mantissa = 8, exponent = 5>>,
                         %b: !gse.tensor<5x64, #gse.format<group = 16, mantissa = 8, exponent = 5>>) {
  // expected-error@+1 {{needs one group size on both sides, not 32 and 16}}
  %y = gse.matmul %a, %b : !gse.tensor<?x64, #gse.format<group = 32, mantissa = 8, exponent = 5>>, !gse.tensor<5x64, #gse.format<group = 16, mantissa = 8, exponent = 5>> -> tensor<?x5xf32>
  return
}

// -----

func.func @matmul_result(%a: !gse.tensor<?x64, #gse.format<group = 32, mantissa = 8, exponent = 5>>,
                         %b: !gse.tensor<5x64, #gse.format<group = 32, mantissa = 8, exponent = 5>>) {
  // expected-error@+1 {{result must be [..., M, N] = 'tensor<?x5xf32>', not 'tensor<?x64xf32>'}}
  %y = gse.matmul %a, %b : !gse.tensor<?x64, #gse.format<group = 32, mantissa = 8, exponent = 5>>, !gse.tensor<5x64, #gse.format<group = 32, mantissa = 8, exponent = 5>> -> tensor<?x64xf32>
  return
}

// -----

func.func @matmul_rhs_rank(%a: !gse.tensor<?x64, #gse.format<group = 32, mantissa = 8, exponent = 5>>,
                           %b: !gse.tensor<2x5x64, #gse.format<group = 32, mantissa = 8, exponent = 5>>) {
  // expected-error@+1 {{lhs must be [..., M, K] and rhs [N, K]}}
  %y = gse.matmul %a, %b : !gse.tensor<?x64, #gse.format<group = 32, mantissa = 8, exponent = 5>>, !gse.tensor<2x5x64, #gse.format<group = 32, mantissa = 8, exponent = 5>> -> tensor<?x5xf32>
  return
}

// -----

func.func @transpose_not_matrix(%w: !gse.tensor<2x3x64, #gse.format<group = 32, mantissa = 8, exponent = 5>>) {
  // expected-error@+1 {{transposes a matrix [N, K], not '!gse.tensor<2x3x64, #gse.format<group = 32, mantissa = 8, exponent = 5>>'}}
  %t = gse.transpose %w : !gse.tensor<2x3x64, #gse.format<group = 32, mantissa = 8, exponent = 5>> -> !gse.tensor<64x3x2, #gse.format<group = 32, mantissa = 8, exponent = 5>>
  return
}

// -----

func.func @transpose_format(%w: !gse.tensor<3x64, #gse.format<group = 32, mantissa = 8, exponent = 5>>) {
  // expected-error@+1 {{keeps the format: #gse.format<group = 32, mantissa = 8, exponent = 5> became #gse.format<group = 32, mantissa = 4, exponent = 5>}}
  %t = gse.transpose %w : !gse.tensor<3x64, #gse.format<group = 32, mantissa = 8, exponent = 5>> -> !gse.tensor<64x3, #gse.format<group = 32, mantissa = 4, exponent = 5>>
  return
}

// -----

func.func @transpose_shape(%w: !gse.tensor<3x64, #gse.format<group = 32, mantissa = 8, exponent = 5>>) {
  // expected-error@+1 {{result must be [K, N] = [64, 3], not '!gse.tensor<3x64, #gse.format<group = 32, mantissa = 8, exponent = 5>>'}}
  %t = gse.transpose %w : !gse.tensor<3x64, #gse.format<group = 32, mantissa = 8, exponent = 5>> -> !gse.tensor<3x64, #gse.format<group = 32, mantissa = 8, exponent = 5>>
  return
}

// -----

func.func @gather_not_matrix(%t: !gse.tensor<2x5x64, #gse.format<group = 32, mantissa = 8, exponent = 5>>, %ids: tensor<3xi64>) {
  // expected-error@+1 {{gathers rows of a matrix [V, D], not '!gse.tensor<2x5x64, #gse.format<group = 32, mantissa = 8, exponent = 5>>'}}
  %x = gse.gather %t, %ids : !gse.tensor<2x5x64, #gse.format<group = 32, mantissa = 8, exponent = 5>>, tensor<3xi64> -> tensor<3x5x64xf32>
  return
}

// -----

func.func @gather_shape(%t: !gse.tensor<5x64, #gse.format<group = 32, mantissa = 8, exponent = 5>>, %ids: tensor<3xi64>) {
  // expected-error@+1 {{result must be [indices..., D] = 'tensor<3x64xf32>', not 'tensor<3x32xf32>'}}
  %x = gse.gather %t, %ids : !gse.tensor<5x64, #gse.format<group = 32, mantissa = 8, exponent = 5>>, tensor<3xi64> -> tensor<3x32xf32>
  return
}
