// Bad options and profiles are errors that name the option or the file.
// RUN: not sinter-opt %s -sinter-linearize-ffn 2>&1 | FileCheck %s --check-prefix=NOPROFILE
// NOPROFILE: error: linearize-ffn: needs a calibration profile (profile=FILE; sinter-compile --calibration)
// RUN: not sinter-opt %s -sinter-linearize-ffn="profile=%S/Inputs/ffn-profile.json coverage=1.5" 2>&1 | FileCheck %s --check-prefix=COVERAGE
// COVERAGE: error: linearize-ffn: coverage must be in (0, 1], got 1.5
// RUN: not sinter-opt %s -sinter-linearize-ffn="profile=%S/Inputs/ffn-profile.json linear-coverage=-0.5" 2>&1 | FileCheck %s --check-prefix=LINEAR
// LINEAR: error: linearize-ffn: linear-coverage must be in [0, 1], got -0.5
// RUN: not sinter-opt %s -sinter-linearize-ffn="profile=%S/Inputs/ffn-profile.json predictor-bits=9" 2>&1 | FileCheck %s --check-prefix=BITS
// BITS: error: linearize-ffn: predictor-bits must be 1..8, got 9
// RUN: not sinter-opt %s -sinter-linearize-ffn="profile=%S/Inputs/missing.json" 2>&1 | FileCheck %s --check-prefix=MISSING
// MISSING: error: linearize-ffn: cannot read profile '{{.*}}missing.json': No such file or directory
// RUN: not sinter-opt %s -sinter-linearize-ffn="profile=%S/Inputs/bad-profile.json" 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: error: linearize-ffn: profile '{{.*}}bad-profile.json': layer 'up0' has arrays of the wrong length
func.func @f(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  return %x : tensor<2x4xf32>
}
