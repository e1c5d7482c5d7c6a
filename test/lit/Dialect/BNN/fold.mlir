// RUN: sinter-opt %s -canonicalize | FileCheck %s

// Constant weights fold to their bits: W is [K = 10, N = 2]; column 0 is
// + + − + − − − − + −  (bits 0, 1, 3, 8: byte 0 = 0b00001011 = 11,
// byte 1 = 0b01 = 1), column 1 is all + but the last (0 counts as +):
// byte 0 = 255, byte 1 = 0b01 = 1. Bits past K stay 0.
// CHECK-LABEL: func @fold
// CHECK: %[[BITS:.*]] = arith.constant dense<{{\[}}[11, 1], [-1, 1]]> : tensor<2x2xi8>
// CHECK-NOT: bnn.pack_signs
// CHECK: return %[[BITS]]
func.func @fold() -> tensor<2x2xi8> {
  %w = arith.constant dense<[[1.0, 0.5], [2.0, 0.0], [-1.0, 3.0], [0.0, 1.0], [-0.5, 1.0],
                             [-2.0, 1.0], [-3.0, 1.0], [-4.0, 1.0], [5.0, 1.0], [-6.0, -1.0]]> : tensor<10x2xf32>
  %0 = bnn.pack_signs %w {layout = #bnn<layout rows_of_inputs>} : tensor<10x2xf32> -> tensor<2x2xi8>
  return %0 : tensor<2x2xi8>
}

// A weight that is not a constant stays.
// CHECK-LABEL: func @keep
// CHECK: bnn.pack_signs
func.func @keep(%w: tensor<10x2xf32>) -> tensor<2x2xi8> {
  %0 = bnn.pack_signs %w {layout = #bnn<layout rows_of_inputs>} : tensor<10x2xf32> -> tensor<2x2xi8>
  return %0 : tensor<2x2xi8>
}
