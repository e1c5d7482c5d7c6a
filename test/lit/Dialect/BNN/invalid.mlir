// RUN: sinter-opt %s -split-input-file -verify-diagnostics

func.func @bits_width(%x: tensor<?x12xf32>, %bits: tensor<5x3xi8>, %sin: tensor<4x12xf32>, %sout: tensor<4x5xf32>, %r: tensor<12x4xf32>) -> tensor<?x5xf32> {
  // expected-error@+1 {{bits must be [N, ceil(K/8)] = [5, 2], not 'tensor<5x3xi8>'}}
  %0 = bnn.mos_linear %x, %bits, %sin, %sout, %r {in_features = 12 : i64, layout = #bnn<layout rows_of_inputs>}
      : (tensor<?x12xf32>, tensor<5x3xi8>, tensor<4x12xf32>, tensor<4x5xf32>, tensor<12x4xf32>) -> tensor<?x5xf32>
  return %0 : tensor<?x5xf32>
}

// -----

func.func @input_width(%x: tensor<?x11xf32>, %bits: tensor<5x2xi8>, %sin: tensor<4x12xf32>, %sout: tensor<4x5xf32>, %r: tensor<12x4xf32>) -> tensor<?x5xf32> {
  // expected-error@+1 {{input's last dimension must be in_features = 12}}
  %0 = bnn.mos_linear %x, %bits, %sin, %sout, %r {in_features = 12 : i64, layout = #bnn<layout rows_of_inputs>}
      : (tensor<?x11xf32>, tensor<5x2xi8>, tensor<4x12xf32>, tensor<4x5xf32>, tensor<12x4xf32>) -> tensor<?x5xf32>
  return %0 : tensor<?x5xf32>
}

// -----

func.func @experts(%x: tensor<?x12xf32>, %bits: tensor<5x2xi8>, %sin: tensor<3x12xf32>, %sout: tensor<4x5xf32>, %r: tensor<12x4xf32>) -> tensor<?x5xf32> {
  // expected-error@+1 {{scale_in must be [E, K] = [4, 12], not 'tensor<3x12xf32>'}}
  %0 = bnn.mos_linear %x, %bits, %sin, %sout, %r {in_features = 12 : i64, layout = #bnn<layout rows_of_inputs>}
      : (tensor<?x12xf32>, tensor<5x2xi8>, tensor<3x12xf32>, tensor<4x5xf32>, tensor<12x4xf32>) -> tensor<?x5xf32>
  return %0 : tensor<?x5xf32>
}

// -----

func.func @scale_out(%x: tensor<?x12xf32>, %bits: tensor<5x2xi8>, %sin: tensor<4x12xf32>, %sout: tensor<4x6xf32>, %r: tensor<12x4xf32>) -> tensor<?x5xf32> {
  // expected-error@+1 {{scale_out must be [E, N] = [4, 5], not 'tensor<4x6xf32>'}}
  %0 = bnn.mos_linear %x, %bits, %sin, %sout, %r {in_features = 12 : i64, layout = #bnn<layout rows_of_inputs>}
      : (tensor<?x12xf32>, tensor<5x2xi8>, tensor<4x12xf32>, tensor<4x6xf32>, tensor<12x4xf32>) -> tensor<?x5xf32>
  return %0 : tensor<?x5xf32>
}

// -----

func.func @router(%x: tensor<?x12xf32>, %bits: tensor<5x2xi8>, %sin: tensor<4x12xf32>, %sout: tensor<4x5xf32>, %r: tensor<11x4xf32>) -> tensor<?x5xf32> {
  // expected-error@+1 {{router must be [K, E] = [12, 4], not 'tensor<11x4xf32>'}}
  %0 = bnn.mos_linear %x, %bits, %sin, %sout, %r {in_features = 12 : i64, layout = #bnn<layout rows_of_inputs>}
      : (tensor<?x12xf32>, tensor<5x2xi8>, tensor<4x12xf32>, tensor<4x5xf32>, tensor<11x4xf32>) -> tensor<?x5xf32>
  return %0 : tensor<?x5xf32>
}

// -----

func.func @bias(%x: tensor<?x12xf32>, %bits: tensor<5x2xi8>, %sin: tensor<4x12xf32>, %sout: tensor<4x5xf32>, %r: tensor<12x4xf32>, %b: tensor<4xf32>) -> tensor<?x5xf32> {
  // expected-error@+1 {{bias must be [N] = [5], not 'tensor<4xf32>'}}
  %0 = bnn.mos_linear %x, %bits, %sin, %sout, %r bias(%b) {in_features = 12 : i64, layout = #bnn<layout rows_of_inputs>}
      : (tensor<?x12xf32>, tensor<5x2xi8>, tensor<4x12xf32>, tensor<4x5xf32>, tensor<12x4xf32>, tensor<4xf32>) -> tensor<?x5xf32>
  return %0 : tensor<?x5xf32>
}

// -----

func.func @result(%x: tensor<2x12xf32>, %bits: tensor<5x2xi8>, %sin: tensor<4x12xf32>, %sout: tensor<4x5xf32>, %r: tensor<12x4xf32>) -> tensor<3x5xf32> {
  // expected-error@+1 {{result dimension 0 must match the input's, 2}}
  %0 = bnn.mos_linear %x, %bits, %sin, %sout, %r {in_features = 12 : i64, layout = #bnn<layout rows_of_inputs>}
      : (tensor<2x12xf32>, tensor<5x2xi8>, tensor<4x12xf32>, tensor<4x5xf32>, tensor<12x4xf32>) -> tensor<3x5xf32>
  return %0 : tensor<3x5xf32>
}

// -----

func.func @in_features(%x: tensor<?x12xf32>, %bits: tensor<5x2xi8>, %sin: tensor<4x12xf32>, %sout: tensor<4x5xf32>, %r: tensor<12x4xf32>) -> tensor<?x5xf32> {
  // expected-error@+1 {{in_features must be positive, not 0}}
  %0 = bnn.mos_linear %x, %bits, %sin, %sout, %r {in_features = 0 : i64, layout = #bnn<layout rows_of_inputs>}
      : (tensor<?x12xf32>, tensor<5x2xi8>, tensor<4x12xf32>, tensor<4x5xf32>, tensor<12x4xf32>) -> tensor<?x5xf32>
  return %0 : tensor<?x5xf32>
}

// -----

func.func @packed(%w: tensor<12x5xf32>) -> tensor<5x1xi8> {
  // expected-error@+1 {{packs [K, N] = [12, 5] into [N, ceil(K/8)] = [5, 2] bytes, not 'tensor<5x1xi8>'}}
  %0 = bnn.pack_signs %w {layout = #bnn<layout rows_of_inputs>} : tensor<12x5xf32> -> tensor<5x1xi8>
  return %0 : tensor<5x1xi8>
}

// -----

func.func @layout(%w: tensor<12x5xf32>) -> tensor<5x2xi8> {
  // expected-error@+2 {{expected ::sinter::bnn::Layout to be one of: rows_of_inputs}}
  // expected-error@+1 {{failed to parse BNN_LayoutAttr parameter 'value'}}
  %0 = bnn.pack_signs %w {layout = #bnn<layout columns>} : tensor<12x5xf32> -> tensor<5x2xi8>
  return %0 : tensor<5x2xi8>
}

// -----

func.func @experts(%x: tensor<2x8xf32>, %sin: tensor<65x8xf32>, %sout: tensor<65x4xf32>, %r: tensor<8x65xf32>) -> tensor<2x4xf32> {
  %bits = arith.constant dense<0> : tensor<4x1xi8>
  // expected-error@+1 {{has 65 experts; at most 64 are supported}}
  %0 = bnn.mos_linear %x, %bits, %sin, %sout, %r {in_features = 8 : i64, layout = #bnn<layout rows_of_inputs>} : (tensor<2x8xf32>, tensor<4x1xi8>, tensor<65x8xf32>, tensor<65x4xf32>, tensor<8x65xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @mixed_scale_types(%x: tensor<?x12xf32>, %bits: tensor<5x2xi8>, %sin: tensor<4x12xf16>, %sout: tensor<4x5xf16>, %r: tensor<12x4xf32>) -> tensor<?x5xf32> {
  // expected-error@+1 {{scale_in, scale_out and router must share one element type (f32 or f16), not 'f16', 'f16', 'f32'}}
  %0 = bnn.mos_linear %x, %bits, %sin, %sout, %r {in_features = 12 : i64, layout = #bnn<layout rows_of_inputs>}
      : (tensor<?x12xf32>, tensor<5x2xi8>, tensor<4x12xf16>, tensor<4x5xf16>, tensor<12x4xf32>) -> tensor<?x5xf32>
  return %0 : tensor<?x5xf32>
}

// -----

func.func @bf16_scales(%x: tensor<?x12xf32>, %bits: tensor<5x2xi8>, %sin: tensor<4x12xbf16>, %sout: tensor<4x5xbf16>, %r: tensor<12x4xbf16>) -> tensor<?x5xf32> {
  // expected-error@+1 {{operand #2 must be 2D tensor of 32-bit float or 16-bit float values}}
  %0 = bnn.mos_linear %x, %bits, %sin, %sout, %r {in_features = 12 : i64, layout = #bnn<layout rows_of_inputs>}
      : (tensor<?x12xf32>, tensor<5x2xi8>, tensor<4x12xbf16>, tensor<4x5xbf16>, tensor<12x4xbf16>) -> tensor<?x5xf32>
  return %0 : tensor<?x5xf32>
}
