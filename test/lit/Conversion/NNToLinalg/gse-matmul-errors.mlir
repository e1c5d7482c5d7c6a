// RUN: sinter-opt %s -split-input-file -verify-diagnostics -convert-nn-to-linalg

// Only that shape lowers: GSE values from elsewhere (here, arguments) are
// named in an error.
func.func @computed(%a: !gse.tensor<3x8, #gse.format<group = 4, mantissa = 8, exponent = 5>>,
                    %b: !gse.tensor<2x8, #gse.format<group = 4, mantissa = 8, exponent = 5>>) -> tensor<3x2xf32> {
  // expected-error@+2 {{lowers only as gse.matmul(gse.quantize(x), gse.constant): activations quantized by the kernel, weights at compile time}}
  // expected-error@+1 {{failed to legalize operation 'gse.matmul'}}
  %y = gse.matmul %a, %b : !gse.tensor<3x8, #gse.format<group = 4, mantissa = 8, exponent = 5>>, !gse.tensor<2x8, #gse.format<group = 4, mantissa = 8, exponent = 5>> -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

func.func @dequantized(%x: tensor<3x8xf32>) -> tensor<3x8xf32> {
  // expected-error@+1 {{a GSE value used other than by gse.matmul cannot be lowered yet}}
  %q = gse.quantize %x : tensor<3x8xf32> -> !gse.tensor<3x8, #gse.format<group = 4, mantissa = 8, exponent = 5>>
  %d = gse.dequantize %q : !gse.tensor<3x8, #gse.format<group = 4, mantissa = 8, exponent = 5>> -> tensor<3x8xf32>
  return %d : tensor<3x8xf32>
}
