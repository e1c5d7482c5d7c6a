// RUN: sinter-opt %s -split-input-file -verify-diagnostics
// Verifier errors. Ops with inferred result types report the specific
// problem, then that inference failed.

func.func @broadcast(%a: tensor<3xf32>, %b: tensor<4xf32>) {
  // expected-error @+2 {{operands are not broadcast-compatible}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = nn.add %a, %b : tensor<3xf32>, tensor<4xf32> -> tensor<4xf32>
  return
}

// -----

func.func @wrong_result(%a: tensor<3xf32>) {
  // expected-error @+2 {{inferred type(s) 'tensor<3xf32>' are incompatible with return type(s) of operation 'tensor<4xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = nn.add %a, %a : tensor<3xf32>, tensor<3xf32> -> tensor<4xf32>
  return
}

// -----

func.func @matmul_k(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) {
  // expected-error @+2 {{contraction dimensions differ: 3 vs 4}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = nn.matmul %a, %b : tensor<2x3xf32>, tensor<4x5xf32> -> tensor<2x5xf32>
  return
}

// -----

func.func @softmax_axis(%a: tensor<2x3xf32>) {
  // expected-error @+2 {{axis 2 out of range for rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = nn.softmax %a {axis = 2 : i64} : tensor<2x3xf32> -> tensor<2x3xf32>
  return
}

// -----

func.func @perm(%a: tensor<2x3xf32>) {
  // expected-error @+2 {{perm is not a permutation}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = nn.transpose %a {perm = array<i64: 0, 0>} : tensor<2x3xf32> -> tensor<2x2xf32>
  return
}

// -----

func.func @gelu(%a: tensor<3xf32>) {
  // expected-error @+1 {{approximate must be "none" or "tanh", got "erf"}}
  %0 = nn.gelu %a {approximate = "erf"} : tensor<3xf32>
  return
}

// -----

func.func @cast_shape(%a: tensor<3xf32>) {
  // expected-error @+1 {{changes the shape}}
  %0 = nn.cast %a : tensor<3xf32> -> tensor<4xi64>
  return
}

// -----

func.func @split_sizes(%a: tensor<6xf32>) {
  // expected-error @+1 {{sizes sum to 5, dimension is 6}}
  %0:2 = nn.split %a {axis = 0 : i64, sizes = array<i64: 2, 3>} : tensor<6xf32> -> tensor<2xf32>, tensor<3xf32>
  return
}

// -----

func.func @reshape_count(%a: tensor<6xf32>) {
  %s = arith.constant dense<[4, 2]> : tensor<2xi64>
  // expected-error @+2 {{cannot reshape 6 elements into 8}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = nn.reshape %a, %s : tensor<6xf32>, tensor<2xi64> -> tensor<4x2xf32>
  return
}

// -----

func.func @squeeze_non_unit(%a: tensor<2x3xf32>) {
  // expected-error @+2 {{squeezed dimension 1 is not 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = nn.squeeze %a {axes = array<i64: 1>} : tensor<2x3xf32> -> tensor<2xf32>
  return
}

// -----

func.func @clip_bounds(%a: tensor<3xf32>, %lo: tensor<2xf32>) {
  // expected-error @+1 {{bounds must be one-element tensors}}
  %0 = nn.clip %a min %lo : tensor<2xf32> : tensor<3xf32> -> tensor<3xf32>
  return
}

// -----

func.func @layer_norm_scale(%a: tensor<2x8xf32>, %s: tensor<4xf32>) {
  // expected-error @+2 {{scale/bias do not broadcast to the normalised dimensions}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = nn.layer_norm %a, %s : tensor<2x8xf32>, tensor<4xf32> -> tensor<2x8xf32>
  return
}

// -----

func.func @qcfs_threshold(%a: tensor<2x8xf32>, %t: tensor<4xf32>) {
  // expected-error @+1 {{threshold must be 0-D (one per layer) or hold one value per neuron of the last dimension, not 'tensor<4xf32>'}}
  %0 = nn.qcfs %a, threshold %t levels 8 : tensor<2x8xf32>, tensor<4xf32>
  return
}

// -----

func.func @qcfs_levels(%a: tensor<2x8xf32>, %t: tensor<f32>) {
  // expected-error @+1 {{attribute 'levels' failed to satisfy constraint}}
  %0 = nn.qcfs %a, threshold %t levels 0 : tensor<2x8xf32>, tensor<f32>
  return
}
