// RUN: sinter-opt %s -split-input-file -verify-diagnostics -convert-nn-to-linalg

func.func @train_argument(%s: !spike.train<4x?x2>, %w: tensor<2x3xf32>) -> tensor<?x3xf32> {
  // expected-error@+2 {{lowers only with the spike.if that makes its spikes (spike trains are not stored)}}
  // expected-error@+1 {{failed to legalize operation 'spike.matmul'}}
  %y = spike.matmul %s, %w : !spike.train<4x?x2>, tensor<2x3xf32> -> tensor<?x3xf32>
  return %y : tensor<?x3xf32>
}

// -----

func.func @other_threshold(%x: tensor<?x2xf32>, %t: tensor<f32>, %u: tensor<f32>) -> tensor<?x2xf32> {
  %s = spike.if %x, threshold %t, membrane %t : tensor<?x2xf32>, tensor<f32> -> !spike.train<4x?x2>
  // expected-error@+2 {{lowers only with the threshold of its spike.if}}
  // expected-error@+1 {{failed to legalize operation 'spike.values'}}
  %v = spike.values %s, threshold %u : !spike.train<4x?x2>, tensor<f32> -> tensor<?x2xf32>
  return %v : tensor<?x2xf32>
}

// -----

func.func @returned(%x: tensor<?x2xf32>, %t: tensor<f32>) -> !spike.train<4x?x2> {
  // expected-error@+1 {{spikes read other than by spike.matmul or spike.values cannot be lowered}}
  %s = spike.if %x, threshold %t, membrane %t : tensor<?x2xf32>, tensor<f32> -> !spike.train<4x?x2>
  return %s : !spike.train<4x?x2>
}
