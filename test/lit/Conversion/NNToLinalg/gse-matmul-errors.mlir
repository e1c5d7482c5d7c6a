// RUN: sinter-opt %s -split-input-file -verify-diagnostics -convert-nn-to-linalg

// Only that shape lowers: GSE values from elsewhere (here, arguments) are
// named in an error.
func.func @computed(%a: !gse.tensor<3x8, #gse.format<group = 4, mantissa = 8, exponent = 5>>,
                    %b: !gse.tensor<2x8, #gse.format<group = 4, mantissa = 8, exponent = 5>>) -> tensor<3x2xf32> {
  // expected-error@+2 {{lowers only as gse.matmul(gse.quantize(x), W), W a gse.constant or gse.transpose of one: activations quantized by the kernel, weights at compile time}}
  // expected-error@+1 {{failed to legalize operation 'gse.matmul'}}
  %y = gse.matmul %a, %b : !gse.tensor<3x8, #gse.format<group = 4, mantissa = 8, exponent = 5>>, !gse.tensor<2x8, #gse.format<group = 4, mantissa = 8, exponent = 5>> -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

func.func @dequantized(%x: tensor<3x8xf32>) -> tensor<3x8xf32> {
  // expected-error@+1 {{a GSE value used other than by gse.matmul or gse.gather cannot be lowered yet}}
  %q = gse.quantize %x : tensor<3x8xf32> -> !gse.tensor<3x8, #gse.format<group = 4, mantissa = 8, exponent = 5>>
  %d = gse.dequantize %q : !gse.tensor<3x8, #gse.format<group = 4, mantissa = 8, exponent = 5>> -> tensor<3x8xf32>
  return %d : tensor<3x8xf32>
}

// -----

// A transposed weight must be a constant too.
func.func @transposed_argument(%x: tensor<3x2xf32>, %w: !gse.tensor<2x8, #gse.format<group = 4, mantissa = 8, exponent = 5>>) -> tensor<3x8xf32> {
  %q = gse.quantize %x : tensor<3x2xf32> -> !gse.tensor<3x2, #gse.format<group = 4, mantissa = 8, exponent = 5>>
  %wt = gse.transpose %w : !gse.tensor<2x8, #gse.format<group = 4, mantissa = 8, exponent = 5>> -> !gse.tensor<8x2, #gse.format<group = 4, mantissa = 8, exponent = 5>>
  // expected-error@+2 {{lowers only as gse.matmul(gse.quantize(x), W), W a gse.constant or gse.transpose of one}}
  // expected-error@+1 {{failed to legalize operation 'gse.matmul'}}
  %y = gse.matmul %q, %wt : !gse.tensor<3x2, #gse.format<group = 4, mantissa = 8, exponent = 5>>, !gse.tensor<8x2, #gse.format<group = 4, mantissa = 8, exponent = 5>> -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

// -----

// gse.transpose has no kernel of its own: only a gse.matmul's weight.
func.func @transposed_dequantized() -> tensor<8x2xf32> {
  // expected-error@+1 {{a GSE value used other than by gse.matmul or gse.gather cannot be lowered yet}}
  %w = gse.constant dense<1> : tensor<2x8xi8>, dense<0> : tensor<2x2xi8> : !gse.tensor<2x8, #gse.format<group = 4, mantissa = 8, exponent = 5>>
  %wt = gse.transpose %w : !gse.tensor<2x8, #gse.format<group = 4, mantissa = 8, exponent = 5>> -> !gse.tensor<8x2, #gse.format<group = 4, mantissa = 8, exponent = 5>>
  %d = gse.dequantize %wt : !gse.tensor<8x2, #gse.format<group = 4, mantissa = 8, exponent = 5>> -> tensor<8x2xf32>
  return %d : tensor<8x2xf32>
}

// -----

func.func @gather_argument(%t: !gse.tensor<2x8, #gse.format<group = 4, mantissa = 8, exponent = 5>>, %ids: tensor<3xi64>) -> tensor<3x8xf32> {
  // expected-error@+2 {{lowers only with a gse.constant table (an embedding quantized at compile time)}}
  // expected-error@+1 {{failed to legalize operation 'gse.gather'}}
  %x = gse.gather %t, %ids : !gse.tensor<2x8, #gse.format<group = 4, mantissa = 8, exponent = 5>>, tensor<3xi64> -> tensor<3x8xf32>
  return %x : tensor<3x8xf32>
}
