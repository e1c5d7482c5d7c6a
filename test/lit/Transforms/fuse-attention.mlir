// RUN: sinter-opt %s -split-input-file -sinter-fuse-attention | FileCheck %s

// torch.onnx's causal attention on a fused QKV projection, symbolic batch
// and sequence: the shapes are Gather(Shape(q)) pieces, the mask a lower
// triangle cut to the sequence length.
// CHECK-LABEL: func @gpt2_causal
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x24xf32>)
// CHECK: %[[S:.*]]:3 = nn.split %[[X]]
// CHECK: %[[A:.*]] = nn.attention %[[S]]#0, %[[S]]#1, %[[S]]#2 {causal, heads = 2 : i64, scale = 5.000000e-01 : f32}
// CHECK-SAME: -> tensor<?x?x8xf32>
// CHECK-NOT: nn.softmax
// CHECK-NOT: nn.transpose
// CHECK: return %[[A]]
func.func @gpt2_causal(%x: tensor<?x?x24xf32>) -> tensor<?x?x8xf32> {
  %s:3 = nn.split %x {axis = 2 : i64, sizes = array<i64: 8, 8, 8>} : tensor<?x?x24xf32> -> tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>
  %shape = nn.shape %s#0 : tensor<?x?x8xf32> -> tensor<3xi64>
  %c0 = arith.constant dense<0> : tensor<i64>
  %c1 = arith.constant dense<1> : tensor<i64>
  %b = nn.gather %shape, %c0 : tensor<3xi64>, tensor<i64> -> tensor<i64>
  %t = nn.gather %shape, %c1 : tensor<3xi64>, tensor<i64> -> tensor<i64>
  %b1 = nn.unsqueeze %b {axes = array<i64: 0>} : tensor<i64> -> tensor<1xi64>
  %t1 = nn.unsqueeze %t {axes = array<i64: 0>} : tensor<i64> -> tensor<1xi64>
  %h = arith.constant dense<2> : tensor<1xi64>
  %dh = arith.constant dense<4> : tensor<1xi64>
  %d = arith.constant dense<8> : tensor<1xi64>
  %split_shape = nn.concat %b1, %t1, %h, %dh {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<4xi64>
  %join_shape = nn.concat %b1, %t1, %d {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<3xi64>
  %q0 = nn.reshape %s#0, %split_shape : tensor<?x?x8xf32>, tensor<4xi64> -> tensor<?x?x2x4xf32>
  %k0 = nn.reshape %s#1, %split_shape : tensor<?x?x8xf32>, tensor<4xi64> -> tensor<?x?x2x4xf32>
  %v0 = nn.reshape %s#2, %split_shape : tensor<?x?x8xf32>, tensor<4xi64> -> tensor<?x?x2x4xf32>
  %q = nn.transpose %q0 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x4xf32> -> tensor<?x2x?x4xf32>
  %kt = nn.transpose %k0 {perm = array<i64: 0, 2, 3, 1>} : tensor<?x?x2x4xf32> -> tensor<?x2x4x?xf32>
  %v = nn.transpose %v0 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x4xf32> -> tensor<?x2x?x4xf32>
  %scores = nn.matmul %q, %kt : tensor<?x2x?x4xf32>, tensor<?x2x4x?xf32> -> tensor<?x2x?x?xf32>
  %scale = arith.constant dense<5.000000e-01> : tensor<f32>
  %scaled = nn.mul %scores, %scale : tensor<?x2x?x?xf32>, tensor<f32> -> tensor<?x2x?x?xf32>
  %tril = arith.constant dense<[[true, false, false, false], [true, true, false, false], [true, true, true, false], [true, true, true, true]]> : tensor<4x4xi1>
  %zero = arith.constant dense<0> : tensor<1xi64>
  %one = arith.constant dense<1> : tensor<1xi64>
  %rows = nn.slice %tril, %zero, %t1 axes %zero : tensor<1xi64> steps %one : tensor<1xi64> : tensor<4x4xi1>, tensor<1xi64>, tensor<1xi64> -> tensor<?x4xi1>
  %mask = nn.slice %rows, %zero, %t1 axes %one : tensor<1xi64> steps %one : tensor<1xi64> : tensor<?x4xi1>, tensor<1xi64>, tensor<1xi64> -> tensor<?x?xi1>
  %masked_out = nn.not %mask : tensor<?x?xi1>
  %ninf = arith.constant dense<0xFF800000> : tensor<f32>
  %logits = nn.where %masked_out, %ninf, %scaled : tensor<?x?xi1>, tensor<f32>, tensor<?x2x?x?xf32> -> tensor<?x2x?x?xf32>
  %p = nn.softmax %logits : tensor<?x2x?x?xf32> -> tensor<?x2x?x?xf32>
  %ctx = nn.matmul %p, %v : tensor<?x2x?x?xf32>, tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf32>
  %ctx_t = nn.transpose %ctx {perm = array<i64: 0, 2, 1, 3>} : tensor<?x2x?x4xf32> -> tensor<?x?x2x4xf32>
  %out = nn.reshape %ctx_t, %join_shape : tensor<?x?x2x4xf32>, tensor<3xi64> -> tensor<?x?x8xf32>
  return %out : tensor<?x?x8xf32>
}

// -----

// No mask, a Div scale, separate projections, Kᵀ as a transpose of K's
// heads, constant shapes: one non-causal nn.attention.
// CHECK-LABEL: func @bidirectional
// CHECK-SAME: (%[[Q:.*]]: tensor<1x5x8xf32>, %[[K:.*]]: tensor<1x7x8xf32>, %[[V:.*]]: tensor<1x7x12xf32>)
// CHECK: %[[A:.*]] = nn.attention %[[Q]], %[[K]], %[[V]] {heads = 2 : i64, scale = 2.500000e-01 : f32}
// CHECK-NEXT: return %[[A]]
func.func @bidirectional(%q3: tensor<1x5x8xf32>, %k3: tensor<1x7x8xf32>, %v3: tensor<1x7x12xf32>) -> tensor<1x5x12xf32> {
  %qs = arith.constant dense<[1, 5, 2, 4]> : tensor<4xi64>
  %ks = arith.constant dense<[0, 0, 2, 4]> : tensor<4xi64>
  %vs = arith.constant dense<[1, 7, 2, -1]> : tensor<4xi64>
  %os = arith.constant dense<[0, 0, 12]> : tensor<3xi64>
  %q0 = nn.reshape %q3, %qs : tensor<1x5x8xf32>, tensor<4xi64> -> tensor<1x5x2x4xf32>
  %k0 = nn.reshape %k3, %ks : tensor<1x7x8xf32>, tensor<4xi64> -> tensor<1x7x2x4xf32>
  %v0 = nn.reshape %v3, %vs : tensor<1x7x12xf32>, tensor<4xi64> -> tensor<1x7x2x6xf32>
  %q = nn.transpose %q0 {perm = array<i64: 0, 2, 1, 3>} : tensor<1x5x2x4xf32> -> tensor<1x2x5x4xf32>
  %k = nn.transpose %k0 {perm = array<i64: 0, 2, 1, 3>} : tensor<1x7x2x4xf32> -> tensor<1x2x7x4xf32>
  %kt = nn.transpose %k {perm = array<i64: 0, 1, 3, 2>} : tensor<1x2x7x4xf32> -> tensor<1x2x4x7xf32>
  %v = nn.transpose %v0 {perm = array<i64: 0, 2, 1, 3>} : tensor<1x7x2x6xf32> -> tensor<1x2x7x6xf32>
  %scores = nn.matmul %q, %kt : tensor<1x2x5x4xf32>, tensor<1x2x4x7xf32> -> tensor<1x2x5x7xf32>
  %four = arith.constant dense<4.000000e+00> : tensor<f32>
  %scaled = nn.div %scores, %four : tensor<1x2x5x7xf32>, tensor<f32> -> tensor<1x2x5x7xf32>
  %p = nn.softmax %scaled {axis = 3 : i64} : tensor<1x2x5x7xf32> -> tensor<1x2x5x7xf32>
  %ctx = nn.matmul %p, %v : tensor<1x2x5x7xf32>, tensor<1x2x7x6xf32> -> tensor<1x2x5x6xf32>
  %ctx_t = nn.transpose %ctx {perm = array<i64: 0, 2, 1, 3>} : tensor<1x2x5x6xf32> -> tensor<1x5x2x6xf32>
  %out = nn.reshape %ctx_t, %os : tensor<1x5x2x6xf32>, tensor<3xi64> -> tensor<1x5x12xf32>
  return %out : tensor<1x5x12xf32>
}

// -----

// An upper-triangular mask is not causal: left alone.
// CHECK-LABEL: func @upper_mask
// CHECK-NOT: nn.attention
// CHECK: nn.softmax
func.func @upper_mask(%q3: tensor<1x3x4xf32>, %k3: tensor<1x3x4xf32>, %v3: tensor<1x3x4xf32>) -> tensor<1x3x4xf32> {
  %hs = arith.constant dense<[1, 3, 2, 2]> : tensor<4xi64>
  %os = arith.constant dense<[1, 3, 4]> : tensor<3xi64>
  %q0 = nn.reshape %q3, %hs : tensor<1x3x4xf32>, tensor<4xi64> -> tensor<1x3x2x2xf32>
  %k0 = nn.reshape %k3, %hs : tensor<1x3x4xf32>, tensor<4xi64> -> tensor<1x3x2x2xf32>
  %v0 = nn.reshape %v3, %hs : tensor<1x3x4xf32>, tensor<4xi64> -> tensor<1x3x2x2xf32>
  %q = nn.transpose %q0 {perm = array<i64: 0, 2, 1, 3>} : tensor<1x3x2x2xf32> -> tensor<1x2x3x2xf32>
  %kt = nn.transpose %k0 {perm = array<i64: 0, 2, 3, 1>} : tensor<1x3x2x2xf32> -> tensor<1x2x2x3xf32>
  %v = nn.transpose %v0 {perm = array<i64: 0, 2, 1, 3>} : tensor<1x3x2x2xf32> -> tensor<1x2x3x2xf32>
  %scores = nn.matmul %q, %kt : tensor<1x2x3x2xf32>, tensor<1x2x2x3xf32> -> tensor<1x2x3x3xf32>
  %mask = arith.constant dense<[[true, true, true], [false, true, true], [false, false, true]]> : tensor<3x3xi1>
  %ninf = arith.constant dense<0xFF800000> : tensor<f32>
  %logits = nn.where %mask, %scores, %ninf : tensor<3x3xi1>, tensor<1x2x3x3xf32>, tensor<f32> -> tensor<1x2x3x3xf32>
  %p = nn.softmax %logits : tensor<1x2x3x3xf32> -> tensor<1x2x3x3xf32>
  %ctx = nn.matmul %p, %v : tensor<1x2x3x3xf32>, tensor<1x2x3x2xf32> -> tensor<1x2x3x2xf32>
  %ctx_t = nn.transpose %ctx {perm = array<i64: 0, 2, 1, 3>} : tensor<1x2x3x2xf32> -> tensor<1x3x2x2xf32>
  %out = nn.reshape %ctx_t, %os : tensor<1x3x2x2xf32>, tensor<3xi64> -> tensor<1x3x4xf32>
  return %out : tensor<1x3x4xf32>
}

// -----

// The same with the lower triangle is fused (the static mask is the whole
// sequence), and its Where(mask, s, −∞) form is accepted.
// CHECK-LABEL: func @lower_mask_static
// CHECK: nn.attention %{{.*}} {causal, heads = 2 : i64, scale = 1.000000e+00 : f32}
// CHECK-NOT: nn.softmax
func.func @lower_mask_static(%q3: tensor<1x3x4xf32>, %k3: tensor<1x3x4xf32>, %v3: tensor<1x3x4xf32>) -> tensor<1x3x4xf32> {
  %hs = arith.constant dense<[1, 3, 2, 2]> : tensor<4xi64>
  %os = arith.constant dense<[1, 3, 4]> : tensor<3xi64>
  %q0 = nn.reshape %q3, %hs : tensor<1x3x4xf32>, tensor<4xi64> -> tensor<1x3x2x2xf32>
  %k0 = nn.reshape %k3, %hs : tensor<1x3x4xf32>, tensor<4xi64> -> tensor<1x3x2x2xf32>
  %v0 = nn.reshape %v3, %hs : tensor<1x3x4xf32>, tensor<4xi64> -> tensor<1x3x2x2xf32>
  %q = nn.transpose %q0 {perm = array<i64: 0, 2, 1, 3>} : tensor<1x3x2x2xf32> -> tensor<1x2x3x2xf32>
  %kt = nn.transpose %k0 {perm = array<i64: 0, 2, 3, 1>} : tensor<1x3x2x2xf32> -> tensor<1x2x2x3xf32>
  %v = nn.transpose %v0 {perm = array<i64: 0, 2, 1, 3>} : tensor<1x3x2x2xf32> -> tensor<1x2x3x2xf32>
  %scores = nn.matmul %q, %kt : tensor<1x2x3x2xf32>, tensor<1x2x2x3xf32> -> tensor<1x2x3x3xf32>
  %mask = arith.constant dense<[[true, false, false], [true, true, false], [true, true, true]]> : tensor<3x3xi1>
  %ninf = arith.constant dense<0xFF800000> : tensor<f32>
  %logits = nn.where %mask, %scores, %ninf : tensor<3x3xi1>, tensor<1x2x3x3xf32>, tensor<f32> -> tensor<1x2x3x3xf32>
  %p = nn.softmax %logits : tensor<1x2x3x3xf32> -> tensor<1x2x3x3xf32>
  %ctx = nn.matmul %p, %v : tensor<1x2x3x3xf32>, tensor<1x2x3x2xf32> -> tensor<1x2x3x2xf32>
  %ctx_t = nn.transpose %ctx {perm = array<i64: 0, 2, 1, 3>} : tensor<1x2x3x2xf32> -> tensor<1x3x2x2xf32>
  %out = nn.reshape %ctx_t, %os : tensor<1x3x2x2xf32>, tensor<3xi64> -> tensor<1x3x4xf32>
  return %out : tensor<1x3x4xf32>
}

// -----

// Symbolic shapes that the graph does not tie to Q: the head split could
// be any [?, ?, 2, ?] of the same elements, so nothing is fused.
// CHECK-LABEL: func @unproven_reshape
// CHECK-NOT: nn.attention
// CHECK: nn.softmax
func.func @unproven_reshape(%q3: tensor<?x?x4xf32>, %k3: tensor<?x?x4xf32>, %v3: tensor<?x?x4xf32>, %hs: tensor<4xi64>, %os: tensor<3xi64>) -> tensor<?x?x4xf32> {
  %q0 = nn.reshape %q3, %hs : tensor<?x?x4xf32>, tensor<4xi64> -> tensor<?x?x2x?xf32>
  %k0 = nn.reshape %k3, %hs : tensor<?x?x4xf32>, tensor<4xi64> -> tensor<?x?x2x?xf32>
  %v0 = nn.reshape %v3, %hs : tensor<?x?x4xf32>, tensor<4xi64> -> tensor<?x?x2x?xf32>
  %q = nn.transpose %q0 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x?xf32> -> tensor<?x2x?x?xf32>
  %kt = nn.transpose %k0 {perm = array<i64: 0, 2, 3, 1>} : tensor<?x?x2x?xf32> -> tensor<?x2x?x?xf32>
  %v = nn.transpose %v0 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x?xf32> -> tensor<?x2x?x?xf32>
  %scores = nn.matmul %q, %kt : tensor<?x2x?x?xf32>, tensor<?x2x?x?xf32> -> tensor<?x2x?x?xf32>
  %p = nn.softmax %scores : tensor<?x2x?x?xf32> -> tensor<?x2x?x?xf32>
  %ctx = nn.matmul %p, %v : tensor<?x2x?x?xf32>, tensor<?x2x?x?xf32> -> tensor<?x2x?x?xf32>
  %ctx_t = nn.transpose %ctx {perm = array<i64: 0, 2, 1, 3>} : tensor<?x2x?x?xf32> -> tensor<?x?x2x?xf32>
  %out = nn.reshape %ctx_t, %os : tensor<?x?x2x?xf32>, tensor<3xi64> -> tensor<?x?x4xf32>
  return %out : tensor<?x?x4xf32>
}

// -----

// The same block with the mask cut to another tensor's length: nothing
// proves it is the queries' causal mask, so it is left alone.
// CHECK-LABEL: func @mask_cut_elsewhere
// CHECK-NOT: nn.attention
// CHECK: nn.softmax
func.func @mask_cut_elsewhere(%x: tensor<?x?x24xf32>, %y: tensor<?x?xf32>) -> tensor<?x?x8xf32> {
  %s:3 = nn.split %x {axis = 2 : i64, sizes = array<i64: 8, 8, 8>} : tensor<?x?x24xf32> -> tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>
  %shape = nn.shape %s#0 : tensor<?x?x8xf32> -> tensor<3xi64>
  %c0 = arith.constant dense<0> : tensor<i64>
  %c1 = arith.constant dense<1> : tensor<i64>
  %b = nn.gather %shape, %c0 : tensor<3xi64>, tensor<i64> -> tensor<i64>
  %t = nn.gather %shape, %c1 : tensor<3xi64>, tensor<i64> -> tensor<i64>
  %b1 = nn.unsqueeze %b {axes = array<i64: 0>} : tensor<i64> -> tensor<1xi64>
  %t1 = nn.unsqueeze %t {axes = array<i64: 0>} : tensor<i64> -> tensor<1xi64>
  %h = arith.constant dense<2> : tensor<1xi64>
  %dh = arith.constant dense<4> : tensor<1xi64>
  %d = arith.constant dense<8> : tensor<1xi64>
  %split_shape = nn.concat %b1, %t1, %h, %dh {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<4xi64>
  %join_shape = nn.concat %b1, %t1, %d {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<3xi64>
  %q0 = nn.reshape %s#0, %split_shape : tensor<?x?x8xf32>, tensor<4xi64> -> tensor<?x?x2x4xf32>
  %k0 = nn.reshape %s#1, %split_shape : tensor<?x?x8xf32>, tensor<4xi64> -> tensor<?x?x2x4xf32>
  %v0 = nn.reshape %s#2, %split_shape : tensor<?x?x8xf32>, tensor<4xi64> -> tensor<?x?x2x4xf32>
  %q = nn.transpose %q0 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x4xf32> -> tensor<?x2x?x4xf32>
  %kt = nn.transpose %k0 {perm = array<i64: 0, 2, 3, 1>} : tensor<?x?x2x4xf32> -> tensor<?x2x4x?xf32>
  %v = nn.transpose %v0 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x4xf32> -> tensor<?x2x?x4xf32>
  %scores = nn.matmul %q, %kt : tensor<?x2x?x4xf32>, tensor<?x2x4x?xf32> -> tensor<?x2x?x?xf32>
  %scale = arith.constant dense<5.000000e-01> : tensor<f32>
  %scaled = nn.mul %scores, %scale : tensor<?x2x?x?xf32>, tensor<f32> -> tensor<?x2x?x?xf32>
  %tril = arith.constant dense<[[true, false, false, false], [true, true, false, false], [true, true, true, false], [true, true, true, true]]> : tensor<4x4xi1>
  %zero = arith.constant dense<0> : tensor<1xi64>
  %one = arith.constant dense<1> : tensor<1xi64>
  %yshape = nn.shape %y : tensor<?x?xf32> -> tensor<2xi64>
  %ylen = nn.gather %yshape, %c1 : tensor<2xi64>, tensor<i64> -> tensor<i64>
  %ylen1 = nn.unsqueeze %ylen {axes = array<i64: 0>} : tensor<i64> -> tensor<1xi64>
  %rows = nn.slice %tril, %zero, %ylen1 axes %zero : tensor<1xi64> steps %one : tensor<1xi64> : tensor<4x4xi1>, tensor<1xi64>, tensor<1xi64> -> tensor<?x4xi1>
  %mask = nn.slice %rows, %zero, %t1 axes %one : tensor<1xi64> steps %one : tensor<1xi64> : tensor<?x4xi1>, tensor<1xi64>, tensor<1xi64> -> tensor<?x?xi1>
  %masked_out = nn.not %mask : tensor<?x?xi1>
  %ninf = arith.constant dense<0xFF800000> : tensor<f32>
  %logits = nn.where %masked_out, %ninf, %scaled : tensor<?x?xi1>, tensor<f32>, tensor<?x2x?x?xf32> -> tensor<?x2x?x?xf32>
  %p = nn.softmax %logits : tensor<?x2x?x?xf32> -> tensor<?x2x?x?xf32>
  %ctx = nn.matmul %p, %v : tensor<?x2x?x?xf32>, tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf32>
  %ctx_t = nn.transpose %ctx {perm = array<i64: 0, 2, 1, 3>} : tensor<?x2x?x4xf32> -> tensor<?x?x2x4xf32>
  %out = nn.reshape %ctx_t, %join_shape : tensor<?x?x2x4xf32>, tensor<3xi64> -> tensor<?x?x8xf32>
  return %out : tensor<?x?x8xf32>
}

