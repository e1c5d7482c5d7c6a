// RUN: sinter-opt %s -split-input-file -verify-diagnostics \
// RUN:   -sinter-linearize-ffn="profile=%S/Inputs/ffn-profile.json"

// A gated FFN (SwiGLU: silu(x·Wg) ⊙ x·Wu → Wd) is left dense, with a remark.
func.func @gated(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %wg = arith.constant dense<0.1> : tensor<4x8xf32>
  %wu = arith.constant dense<0.2> : tensor<4x8xf32>
  %wd = arith.constant dense<0.3> : tensor<8x4xf32>
  %g = nn.matmul %x, %wg : tensor<2x4xf32>, tensor<4x8xf32> -> tensor<2x8xf32>
  %s = nn.sigmoid %g : tensor<2x8xf32>
  %silu = nn.mul %g, %s : tensor<2x8xf32>, tensor<2x8xf32> -> tensor<2x8xf32>
  %u = nn.matmul %x, %wu : tensor<2x4xf32>, tensor<4x8xf32> -> tensor<2x8xf32>
  // Unnamed (no ONNX node name), it is called by its position.
  // expected-remark @+1 {{linearize-ffn: gated FFN 'ffn0' left dense: a product of two projections does not fold into one matrix}}
  %h = nn.mul %silu, %u : tensor<2x8xf32>, tensor<2x8xf32> -> tensor<2x8xf32>
  %y = nn.matmul %h, %wd : tensor<2x8xf32>, tensor<8x4xf32> -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// An FFN the profile does not name stays dense, with a remark.
func.func @unprofiled(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %wu = arith.constant dense<0.2> : tensor<4x8xf32>
  %wd = arith.constant dense<0.3> : tensor<8x4xf32>
  // expected-remark @+1 {{linearize-ffn: FFN 'ffn0' is not in the profile; left dense}}
  %u = nn.matmul %x, %wu : tensor<2x4xf32>, tensor<4x8xf32> -> tensor<2x8xf32>
  %h = nn.relu %u : tensor<2x8xf32>
  %y = nn.matmul %h, %wd : tensor<2x8xf32>, tensor<8x4xf32> -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// The profile's layer must describe this FFN: 8 GELU neurons, not ReLU.
func.func @mismatch(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %wu = arith.constant dense<0.2> : tensor<4x8xf32>
  %wd = arith.constant dense<0.3> : tensor<8x4xf32>
  // expected-error @unknown {{linearize-ffn: profile layer 'up0' does not match this FFN (8 gelu neurons)}}
  %u = nn.matmul %x, %wu : tensor<2x4xf32>, tensor<4x8xf32> -> tensor<2x8xf32> loc("up0")
  %h = nn.relu %u : tensor<2x8xf32>
  %y = nn.matmul %h, %wd : tensor<2x8xf32>, tensor<8x4xf32> -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}
