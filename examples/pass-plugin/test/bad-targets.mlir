// RUN: sinter-opt %s --load-pass-plugin=%plugin --pass-pipeline="builtin.module(sinter-prune-2of4{profile=%S/Inputs/profile.json targets=attention})" -verify-diagnostics

// An unknown target set is refused, naming it.
// expected-error@+1 {{sinter-prune-2of4: targets must be ffn or linears, not 'attention'}}
module {
  func.func @f(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
    return %x : tensor<2x8xf32>
  }
}
