// RUN: sinter-opt %s -split-input-file -verify-diagnostics

// expected-error@+1 {{the time steps (leading dimension) must be static and positive}}
func.func @dynamic_steps(%s: !spike.train<?x4x16>)

// -----

// expected-error@+1 {{a spike train needs the time steps and at least one neuron dimension}}
func.func @no_neurons(%s: !spike.train<8>)

// -----

func.func @encode_shape(%x: tensor<2x5xi64>) -> tensor<8x5xi64> {
  // expected-error@+1 {{result 'tensor<8x5xi64>' must be the input 'tensor<2x5xi64>' repeated 8 times along its leading dimension}}
  %e = spike.encode %x steps 8 : tensor<2x5xi64> -> tensor<8x5xi64>
  return %e : tensor<8x5xi64>
}

// -----

func.func @encode_steps(%x: tensor<2x5xi64>) -> tensor<2x5xi64> {
  // expected-error@+1 {{attribute 'steps' failed to satisfy constraint}}
  %e = spike.encode %x steps 0 : tensor<2x5xi64> -> tensor<2x5xi64>
  return %e : tensor<2x5xi64>
}

// -----

func.func @decode_multiple(%x: tensor<6x5xf32>) -> tensor<1x5xf32> {
  // expected-error@+1 {{input's leading dimension 6 is not a multiple of the 4 steps}}
  %m = spike.decode %x steps 4 : tensor<6x5xf32> -> tensor<1x5xf32>
  return %m : tensor<1x5xf32>
}

// -----

func.func @if_rank(%x: tensor<?x16xf32>, %t: tensor<16xf32>) {
  // expected-error@+1 {{result '!spike.train<8x?x?x16>' must have one dimension (the steps) more than the current 'tensor<?x16xf32>'}}
  %s = spike.if %x, threshold %t, membrane %t : tensor<?x16xf32>, tensor<16xf32> -> !spike.train<8x?x?x16>
  return
}

// -----

func.func @if_fold(%x: tensor<16x16xf32>, %t: tensor<16xf32>) {
  // expected-error@+1 {{current 'tensor<16x16xf32>' must be '!spike.train<8x4x16>''s steps folded into its leading dimension}}
  %s = spike.if %x, threshold %t, membrane %t : tensor<16x16xf32>, tensor<16xf32> -> !spike.train<8x4x16>
  return
}

// -----

func.func @if_threshold(%x: tensor<?x16xf32>, %t: tensor<8xf32>) {
  // expected-error@+1 {{threshold must be 0-D (one per layer) or hold one value per neuron (16), not 'tensor<8xf32>'}}
  %s = spike.if %x, threshold %t, membrane %t : tensor<?x16xf32>, tensor<8xf32> -> !spike.train<8x?x16>
  return
}

// -----

func.func @if_bound_unsigned(%x: tensor<?x16xf32>, %t: tensor<f32>) {
  // expected-error@+1 {{bound applies to signed neurons only}}
  %s = spike.if %x, threshold %t, membrane %t {bound = 4} : tensor<?x16xf32>, tensor<f32> -> !spike.train<8x?x16>
  return
}

// -----

func.func @if_membrane_type(%x: tensor<?x16xf32>, %t: tensor<f32>, %v: tensor<16xf32>) {
  // expected-error@+1 {{all of {threshold, membrane} have same type}}
  %s = "spike.if"(%x, %t, %v) : (tensor<?x16xf32>, tensor<f32>, tensor<16xf32>) -> !spike.train<8x?x16>
  return
}

// -----

func.func @matmul_k(%s: !spike.train<8x?x16>, %w: tensor<8x4xf32>) {
  // expected-error@+1 {{weight 'tensor<8x4xf32>' must be [K, N] with K = 16, the spiking neurons}}
  %y = spike.matmul %s, %w : !spike.train<8x?x16>, tensor<8x4xf32> -> tensor<?x4xf32>
  return
}

// -----

func.func @matmul_result(%s: !spike.train<8x2x16>, %w: tensor<16x4xf32>) {
  // expected-error@+1 {{result 'tensor<2x4xf32>' must be '!spike.train<8x2x16>''s steps folded into its leading dimension}}
  %y = spike.matmul %s, %w : !spike.train<8x2x16>, tensor<16x4xf32> -> tensor<2x4xf32>
  return
}

// -----

func.func @matmul_rate(%s: !spike.train<8x?x16>, %w: tensor<16x4xf32>) {
  // expected-error@+1 {{firing_rate must be in [0, 1]}}
  %y = spike.matmul %s, %w {firing_rate = 1.5 : f32} : !spike.train<8x?x16>, tensor<16x4xf32> -> tensor<?x4xf32>
  return
}

// -----

func.func @values_float(%s: !spike.train<8x?x16>, %t: tensor<16xf32>) {
  // expected-error@+1 {{result 'tensor<?x8xf32>' must be '!spike.train<8x?x16>''s steps folded into its leading dimension}}
  %y = spike.values %s, threshold %t : !spike.train<8x?x16>, tensor<16xf32> -> tensor<?x8xf32>
  return
}
