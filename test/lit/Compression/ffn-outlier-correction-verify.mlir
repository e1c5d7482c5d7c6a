// RUN: sinter-opt %s -split-input-file -verify-diagnostics

func.func @bad_bits(%x: tensor<2x4xf32>, %l: tensor<2x4xf32>, %p: tensor<1x1xi8>, %v: tensor<1xf32>, %u: tensor<1x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{predictor_bits must be 1..8, got 0}}
  %0 = nn.ffn_outlier_correction %x, %l predictor(%p, %v) range(%v, %v) exact(%u, %v, %u) fit(%v, %v) {activation = "gelu", predictor_bits = 0 : i64} : (tensor<2x4xf32>, tensor<2x4xf32>, tensor<1x1xi8>, tensor<1xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1x4xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1x4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @bad_predictor(%x: tensor<2x4xf32>, %l: tensor<2x4xf32>, %p: tensor<1x3xi8>, %v: tensor<1xf32>, %u: tensor<1x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{predictor must be [1, 2] bytes, got 'tensor<1x3xi8>'}}
  %0 = nn.ffn_outlier_correction %x, %l predictor(%p, %v) range(%v, %v) exact(%u, %v, %u) fit(%v, %v) {activation = "gelu", predictor_bits = 2 : i64} : (tensor<2x4xf32>, tensor<2x4xf32>, tensor<1x3xi8>, tensor<1xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1x4xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1x4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @bad_activation(%x: tensor<2x4xf32>, %l: tensor<2x4xf32>, %p: tensor<1x1xi8>, %v: tensor<1xf32>, %u: tensor<1x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{activation must be "gelu" or "relu", got "tanh"}}
  %0 = nn.ffn_outlier_correction %x, %l predictor(%p, %v) range(%v, %v) exact(%u, %v, %u) fit(%v, %v) {activation = "tanh", predictor_bits = 2 : i64} : (tensor<2x4xf32>, tensor<2x4xf32>, tensor<1x1xi8>, tensor<1xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1x4xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1x4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @bad_down(%x: tensor<2x4xf32>, %l: tensor<2x4xf32>, %p: tensor<1x1xi8>, %v: tensor<1xf32>, %u: tensor<1x4xf32>, %w: tensor<1x3xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{down_weight must be [1, 4], got 'tensor<1x3xf32>'}}
  %0 = nn.ffn_outlier_correction %x, %l predictor(%p, %v) range(%v, %v) exact(%u, %v, %w) fit(%v, %v) {activation = "relu", predictor_bits = 2 : i64} : (tensor<2x4xf32>, tensor<2x4xf32>, tensor<1x1xi8>, tensor<1xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1x4xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1x3xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}
