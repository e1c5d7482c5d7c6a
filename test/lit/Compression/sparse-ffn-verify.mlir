// RUN: sinter-opt %s -split-input-file -verify-diagnostics | FileCheck %s

// Round trip: gated with threshold selection, plain with a predictor.
// CHECK-LABEL: func @ok
// CHECK: nn.sparse_ffn %{{.*}} up(%{{.*}}, %{{.*}}) gate(%{{.*}}, %{{.*}}) down(%{{.*}}) {activation = "silu", dense_rows = 4 : i64, kept = 0 : i64, threshold = 2.500000e-01 : f32}
// CHECK: nn.sparse_ffn %{{.*}} up(%{{.*}}, %{{.*}}) down(%{{.*}}) predictor(%{{.*}}, %{{.*}}, %{{.*}}) {activation = "gelu", dense_rows = 2 : i64, kept = 3 : i64, threshold = 0.000000e+00 : f32}
func.func @ok(%x: tensor<?x4xf32>, %u: tensor<8x4xf32>, %b: tensor<8xf32>, %d: tensor<8x3xf32>, %pi: tensor<4x2xf32>, %po: tensor<2x8xf32>) -> (tensor<?x3xf32>, tensor<?x3xf32>) {
  %0 = nn.sparse_ffn %x up(%u, %b) gate(%u, %b) down(%d) {activation = "silu", dense_rows = 4 : i64, kept = 0 : i64, threshold = 0.25 : f32} : (tensor<?x4xf32>, tensor<8x4xf32>, tensor<8xf32>, tensor<8x4xf32>, tensor<8xf32>, tensor<8x3xf32>) -> tensor<?x3xf32>
  %1 = nn.sparse_ffn %x up(%u, %b) down(%d) predictor(%pi, %po, %b) {activation = "gelu", dense_rows = 2 : i64, kept = 3 : i64, threshold = 0.0 : f32} : (tensor<?x4xf32>, tensor<8x4xf32>, tensor<8xf32>, tensor<8x3xf32>, tensor<4x2xf32>, tensor<2x8xf32>, tensor<8xf32>) -> tensor<?x3xf32>
  return %0, %1 : tensor<?x3xf32>, tensor<?x3xf32>
}

// -----

func.func @bad_up(%x: tensor<2x4xf32>, %u: tensor<8x5xf32>, %b: tensor<8xf32>, %d: tensor<8x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{up_weight must be a static [neurons, 4], got 'tensor<8x5xf32>'}}
  %0 = nn.sparse_ffn %x up(%u, %b) down(%d) {activation = "relu", dense_rows = 2 : i64, kept = 0 : i64, threshold = 0.0 : f32} : (tensor<2x4xf32>, tensor<8x5xf32>, tensor<8xf32>, tensor<8x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @bad_down(%x: tensor<2x4xf32>, %u: tensor<8x4xf32>, %b: tensor<8xf32>, %d: tensor<7x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{down_weight must be [8, 3], got 'tensor<7x3xf32>'}}
  %0 = nn.sparse_ffn %x up(%u, %b) down(%d) {activation = "relu", dense_rows = 2 : i64, kept = 0 : i64, threshold = 0.0 : f32} : (tensor<2x4xf32>, tensor<8x4xf32>, tensor<8xf32>, tensor<7x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @bad_rows(%x: tensor<2x4xf32>, %u: tensor<8x4xf32>, %b: tensor<8xf32>, %d: tensor<8x3xf32>) -> tensor<3x3xf32> {
  // expected-error @+1 {{input and result must have one rank and the same leading dimensions}}
  %0 = nn.sparse_ffn %x up(%u, %b) down(%d) {activation = "relu", dense_rows = 2 : i64, kept = 0 : i64, threshold = 0.0 : f32} : (tensor<2x4xf32>, tensor<8x4xf32>, tensor<8xf32>, tensor<8x3xf32>) -> tensor<3x3xf32>
  return %0 : tensor<3x3xf32>
}

// -----

func.func @bad_activation(%x: tensor<2x4xf32>, %u: tensor<8x4xf32>, %b: tensor<8xf32>, %d: tensor<8x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{activation must be "gelu", "relu" or "silu", got "tanh"}}
  %0 = nn.sparse_ffn %x up(%u, %b) down(%d) {activation = "tanh", dense_rows = 2 : i64, kept = 0 : i64, threshold = 0.0 : f32} : (tensor<2x4xf32>, tensor<8x4xf32>, tensor<8xf32>, tensor<8x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @bad_kept(%x: tensor<2x4xf32>, %u: tensor<8x4xf32>, %b: tensor<8xf32>, %d: tensor<8x3xf32>, %pi: tensor<4x2xf32>, %po: tensor<2x8xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{kept must be 1..8 with a predictor, got 9}}
  %0 = nn.sparse_ffn %x up(%u, %b) down(%d) predictor(%pi, %po, %b) {activation = "gelu", dense_rows = 2 : i64, kept = 9 : i64, threshold = 0.0 : f32} : (tensor<2x4xf32>, tensor<8x4xf32>, tensor<8xf32>, tensor<8x3xf32>, tensor<4x2xf32>, tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @bad_predictor(%x: tensor<2x4xf32>, %u: tensor<8x4xf32>, %b: tensor<8xf32>, %d: tensor<8x3xf32>, %pi: tensor<4x2xf32>, %po: tensor<3x8xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{the predictor must be [4, r], [r, 8] and [8]}}
  %0 = nn.sparse_ffn %x up(%u, %b) down(%d) predictor(%pi, %po, %b) {activation = "gelu", dense_rows = 2 : i64, kept = 2 : i64, threshold = 0.0 : f32} : (tensor<2x4xf32>, tensor<8x4xf32>, tensor<8xf32>, tensor<8x3xf32>, tensor<4x2xf32>, tensor<3x8xf32>, tensor<8xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @kept_without_predictor(%x: tensor<2x4xf32>, %u: tensor<8x4xf32>, %b: tensor<8xf32>, %d: tensor<8x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{kept is for predictor selection; without a predictor it must be 0}}
  %0 = nn.sparse_ffn %x up(%u, %b) down(%d) {activation = "relu", dense_rows = 2 : i64, kept = 3 : i64, threshold = 0.0 : f32} : (tensor<2x4xf32>, tensor<8x4xf32>, tensor<8xf32>, tensor<8x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @bad_threshold(%x: tensor<2x4xf32>, %u: tensor<8x4xf32>, %b: tensor<8xf32>, %d: tensor<8x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{threshold must be >= 0}}
  %0 = nn.sparse_ffn %x up(%u, %b) down(%d) {activation = "relu", dense_rows = 2 : i64, kept = 0 : i64, threshold = -1.0 : f32} : (tensor<2x4xf32>, tensor<8x4xf32>, tensor<8xf32>, tensor<8x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @bad_dense_rows(%x: tensor<2x4xf32>, %u: tensor<8x4xf32>, %b: tensor<8xf32>, %d: tensor<8x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{dense_rows must be >= 1}}
  %0 = nn.sparse_ffn %x up(%u, %b) down(%d) {activation = "relu", dense_rows = 0 : i64, kept = 0 : i64, threshold = 0.0 : f32} : (tensor<2x4xf32>, tensor<8x4xf32>, tensor<8xf32>, tensor<8x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}
