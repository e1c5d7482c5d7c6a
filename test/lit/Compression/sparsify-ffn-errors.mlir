// RUN: sinter-opt %s -split-input-file -verify-diagnostics \
// RUN:   -sinter-sparsify-ffn="profile=%S/Inputs/sparsify-profile.json score=attribution"
// RUN: not sinter-opt %s -sinter-sparsify-ffn="sparsity=1" 2>&1 | FileCheck %s --check-prefix=RANGE
// RUN: not sinter-opt %s -sinter-sparsify-ffn="profile=%S/Inputs/sparsify-profile.json mode=sometimes" 2>&1 | FileCheck %s --check-prefix=MODE
// RUN: not sinter-opt %s -sinter-sparsify-ffn="profile=%S/Inputs/sparsify-profile.json mode=dynamic dense-rows=-1" 2>&1 | FileCheck %s --check-prefix=ROWS
// RUN: not sinter-opt %s -split-input-file -sinter-sparsify-ffn="profile=%S/Inputs/sparsify-profile.json mode=dynamic score=attribution" 2>&1 | FileCheck %s --check-prefix=NOPRED
// RUN: not sinter-opt %s -sinter-sparsify-ffn="profile=%S/Inputs/sparsify-profile.json score=loudest" 2>&1 | FileCheck %s --check-prefix=SCORE
// RUN: not sinter-opt %s -sinter-sparsify-ffn="sparsity=0.5" 2>&1 | FileCheck %s --check-prefix=NOPROFILE
// RUN: not sinter-opt %s -sinter-sparsify-ffn="profile=%S/Inputs/missing.json" 2>&1 | FileCheck %s --check-prefix=MISSING

// RANGE: sparsify-ffn: sparsity must be in [0, 1), got 1.0
// MODE: sparsify-ffn: mode must be static or dynamic, got 'sometimes'
// ROWS: sparsify-ffn: dense-rows must be >= 0, got -1
// NOPRED: sparsify-ffn: mode=dynamic score=attribution needs a predictor of 4 inputs in profile layer 'up1' (python3 -m sinter.attribution --predictor-rank R)
// SCORE: sparsify-ffn: score must be attribution, magnitude or auto, got 'loudest'
// NOPROFILE: sparsify-ffn: needs a calibration profile
// MISSING: sparsify-ffn: cannot read profile '{{.*}}missing.json'

// An FFN the profile does not name stays dense, with a remark.
func.func @unprofiled(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %wu = arith.constant dense<0.2> : tensor<4x8xf32>
  %wd = arith.constant dense<0.3> : tensor<8x4xf32>
  // expected-remark @+1 {{sparsify-ffn: FFN 'ffn0' is not in the profile; left dense}}
  %u = nn.matmul %x, %wu : tensor<2x4xf32>, tensor<4x8xf32> -> tensor<2x8xf32>
  %h = nn.relu %u : tensor<2x8xf32>
  %y = nn.matmul %h, %wd : tensor<2x8xf32>, tensor<8x4xf32> -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// score=attribution on a layer the attribution tool did not score. (Named
// locations carry no file position: the errors are @unknown.)
func.func @unscored(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %wg = arith.constant dense<0.1> : tensor<4x8xf32>
  %wu = arith.constant dense<0.2> : tensor<4x8xf32>
  %wd = arith.constant dense<0.3> : tensor<8x4xf32>
  %g = nn.matmul %x, %wg : tensor<2x4xf32>, tensor<4x8xf32> -> tensor<2x8xf32>
  %s = nn.sigmoid %g : tensor<2x8xf32>
  %silu = nn.mul %g, %s : tensor<2x8xf32>, tensor<2x8xf32> -> tensor<2x8xf32>
  // expected-error @unknown {{sparsify-ffn: score=attribution, but profile layer 'up1' has no attribution scores}}
  %u = nn.matmul %x, %wu : tensor<2x4xf32>, tensor<4x8xf32> -> tensor<2x8xf32> loc("up1")
  %h = nn.mul %silu, %u : tensor<2x8xf32>, tensor<2x8xf32> -> tensor<2x8xf32>
  %y = nn.matmul %h, %wd : tensor<2x8xf32>, tensor<8x4xf32> -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// The profile's layer 'small' has 6 ReLU neurons; this FFN has 8.
func.func @mismatch(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %wu = arith.constant dense<0.2> : tensor<4x8xf32>
  %wd = arith.constant dense<0.3> : tensor<8x4xf32>
  // expected-error @unknown {{sparsify-ffn: profile layer 'small' does not match this FFN (6 relu neurons)}}
  %u = nn.matmul %x, %wu : tensor<2x4xf32>, tensor<4x8xf32> -> tensor<2x8xf32> loc("small")
  %h = nn.relu %u : tensor<2x8xf32>
  %y = nn.matmul %h, %wd : tensor<2x8xf32>, tensor<8x4xf32> -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// A gated FFN where the profile recorded a plain one of the same name.
func.func @gatedness(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %wg = arith.constant dense<0.1> : tensor<4x8xf32>
  %wu = arith.constant dense<0.2> : tensor<4x8xf32>
  %wd = arith.constant dense<0.3> : tensor<8x4xf32>
  %g = nn.matmul %x, %wg : tensor<2x4xf32>, tensor<4x8xf32> -> tensor<2x8xf32>
  %a = nn.gelu %g : tensor<2x8xf32>
  // expected-error @unknown {{sparsify-ffn: profile layer 'up0' does not match this FFN (8 gelu neurons)}}
  %u = nn.matmul %x, %wu : tensor<2x4xf32>, tensor<4x8xf32> -> tensor<2x8xf32> loc("up0")
  %h = nn.mul %a, %u : tensor<2x8xf32>, tensor<2x8xf32> -> tensor<2x8xf32>
  %y = nn.matmul %h, %wd : tensor<2x8xf32>, tensor<8x4xf32> -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}
