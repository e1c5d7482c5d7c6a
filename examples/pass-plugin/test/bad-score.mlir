// RUN: sinter-opt %s --load-pass-plugin=%plugin --pass-pipeline="builtin.module(sinter-prune-2of4{profile=%S/Inputs/profile.json score=random})" -verify-diagnostics

// An unknown score is refused, naming it.
// expected-error@+1 {{sinter-prune-2of4: score must be wanda or magnitude, not 'random'}}
module {
  func.func @f(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
    return %x : tensor<2x8xf32>
  }
}
