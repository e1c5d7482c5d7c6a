// RUN: sinter-opt %s -verify-diagnostics -sinter-binarize-linears

// Converting an imported layer's scales to f16 (the default) needs them
// constant: tables computed at run time are reported, naming the layer.
func.func @argument_scales(%x: tensor<2x8xf32>, %sin: tensor<1x8xf32>, %sout: tensor<1x4xf32>, %r: tensor<8x1xf32>) -> tensor<2x4xf32> {
  %bits = arith.constant dense<0> : tensor<4x1xi8>
  // expected-error@+1 {{binary-mos: scales=f16 needs constant scales and router}}
  %0 = bnn.mos_linear %x, %bits, %sin, %sout, %r {in_features = 8 : i64, layout = #bnn<layout rows_of_inputs>} : (tensor<2x8xf32>, tensor<4x1xi8>, tensor<1x8xf32>, tensor<1x4xf32>, tensor<8x1xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}
