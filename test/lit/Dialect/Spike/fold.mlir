// RUN: sinter-opt %s -canonicalize | FileCheck %s

// The mean over the steps of a value repeated at every step is the value.
// CHECK-LABEL: func @decode_of_encode
// CHECK-SAME: (%[[X:.*]]: tensor<?x16xf32>)
// CHECK-NEXT: return %[[X]]
func.func @decode_of_encode(%x: tensor<?x16xf32>) -> tensor<?x16xf32> {
  %e = spike.encode %x steps 4 : tensor<?x16xf32> -> tensor<?x16xf32>
  %m = spike.decode %e steps 4 : tensor<?x16xf32> -> tensor<?x16xf32>
  return %m : tensor<?x16xf32>
}

// Different steps do not fold.
// CHECK-LABEL: func @other_steps
// CHECK: spike.encode
// CHECK: spike.decode
func.func @other_steps(%x: tensor<?x16xf32>) -> tensor<?x16xf32> {
  %e = spike.encode %x steps 4 : tensor<?x16xf32> -> tensor<?x16xf32>
  %m = spike.decode %e steps 2 : tensor<?x16xf32> -> tensor<?x16xf32>
  return %m : tensor<?x16xf32>
}

// One step is the identity.
// CHECK-LABEL: func @one_step
// CHECK-SAME: (%[[X:.*]]: tensor<3x16xf32>)
// CHECK-NEXT: return %[[X]], %[[X]]
func.func @one_step(%x: tensor<3x16xf32>) -> (tensor<3x16xf32>, tensor<3x16xf32>) {
  %e = spike.encode %x steps 1 : tensor<3x16xf32> -> tensor<3x16xf32>
  %m = spike.decode %x steps 1 : tensor<3x16xf32> -> tensor<3x16xf32>
  return %e, %m : tensor<3x16xf32>, tensor<3x16xf32>
}

// Unused spikes die.
// CHECK-LABEL: func @dead
// CHECK-NOT: spike.
func.func @dead(%x: tensor<?x16xf32>, %t: tensor<f32>) {
  %s = spike.if %x, threshold %t, membrane %t : tensor<?x16xf32>, tensor<f32> -> !spike.train<8x?x16>
  return
}
