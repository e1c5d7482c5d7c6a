// RUN: sinter-opt %s -split-input-file -verify-diagnostics

func.func @heads_do_not_divide(%q: tensor<1x4x6xf32>, %v: tensor<1x4x8xf32>) -> tensor<1x4x8xf32> {
  // expected-error @+1 {{features (6, 8) must divide into 4 heads}}
  %0 = nn.attention %q, %q, %v {heads = 4 : i64, scale = 1.0 : f32} : tensor<1x4x6xf32>, tensor<1x4x6xf32>, tensor<1x4x8xf32> -> tensor<1x4x8xf32>
  return %0 : tensor<1x4x8xf32>
}

// -----

func.func @query_key_differ(%q: tensor<1x4x8xf32>, %k: tensor<1x4x4xf32>) -> tensor<1x4x8xf32> {
  // expected-error @+1 {{query and key features differ: 8 vs 4}}
  %0 = nn.attention %q, %k, %q {heads = 2 : i64, scale = 1.0 : f32} : tensor<1x4x8xf32>, tensor<1x4x4xf32>, tensor<1x4x8xf32> -> tensor<1x4x8xf32>
  return %0 : tensor<1x4x8xf32>
}

// -----

func.func @not_rank_3(%q: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{query, key, value and result must be [batch, sequence, features]}}
  %0 = nn.attention %q, %q, %q {heads = 2 : i64, scale = 1.0 : f32} : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @key_value_lengths(%q: tensor<1x4x8xf32>, %k: tensor<1x5x8xf32>, %v: tensor<1x6x8xf32>) -> tensor<1x4x8xf32> {
  // expected-error @+1 {{key and value sequence lengths differ}}
  %0 = nn.attention %q, %k, %v {heads = 2 : i64, scale = 1.0 : f32} : tensor<1x4x8xf32>, tensor<1x5x8xf32>, tensor<1x6x8xf32> -> tensor<1x4x8xf32>
  return %0 : tensor<1x4x8xf32>
}

// -----

func.func @result_shape(%q: tensor<1x4x8xf32>, %v: tensor<1x4x6xf32>) -> tensor<1x4x8xf32> {
  // expected-error @+1 {{result must be [batch, query length, 6], got 'tensor<1x4x8xf32>'}}
  %0 = nn.attention %q, %q, %v {heads = 2 : i64, scale = 1.0 : f32} : tensor<1x4x8xf32>, tensor<1x4x8xf32>, tensor<1x4x6xf32> -> tensor<1x4x8xf32>
  return %0 : tensor<1x4x8xf32>
}

// -----

func.func @no_heads(%q: tensor<1x4x8xf32>) -> tensor<1x4x8xf32> {
  // expected-error @+1 {{heads must be positive, got 0}}
  %0 = nn.attention %q, %q, %q {heads = 0 : i64, scale = 1.0 : f32} : tensor<1x4x8xf32>, tensor<1x4x8xf32>, tensor<1x4x8xf32> -> tensor<1x4x8xf32>
  return %0 : tensor<1x4x8xf32>
}
