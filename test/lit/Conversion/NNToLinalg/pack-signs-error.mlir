// RUN: sinter-opt %s -convert-nn-to-linalg -verify-diagnostics

// Weights are constants and bnn.pack_signs folds on them; signs of a value
// computed at run time have no kernel.
func.func @computed(%w: tensor<16x4xf32>) -> tensor<4x2xi8> {
  // expected-error @+2 {{packs signs of a value computed at run time; only constant weights can be binarized}}
  // expected-error @+1 {{failed to legalize operation 'bnn.pack_signs'}}
  %0 = bnn.pack_signs %w {layout = #bnn<layout rows_of_inputs>} : tensor<16x4xf32> -> tensor<4x2xi8>
  return %0 : tensor<4x2xi8>
}
