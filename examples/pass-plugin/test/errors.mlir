// RUN: sinter-opt %s --load-pass-plugin=%plugin --pass-pipeline="builtin.module(sinter-prune-2of4{profile=%S/Inputs/missing.json})" -verify-diagnostics

// A profile that cannot be read fails the pass, naming the file.
// expected-error@+1 {{sinter-prune-2of4: cannot read profile '}}
module {
  func.func @f(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
    return %x : tensor<2x8xf32>
  }
}

