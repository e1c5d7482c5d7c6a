// RUN: sinter-opt %s -split-input-file --pass-pipeline="builtin.module(func.func(sinter-innermost-parallel-dim-first))" | FileCheck %s

// A 3-D loop lists its dimensions innermost first; each use of an
// induction variable follows it, so the same elements are written.
// CHECK-LABEL: func.func @three_d
// CHECK: scf.parallel (%[[K:.*]], %[[J:.*]], %[[I:.*]]) = (%c0, %c0, %c0) to (%c5, %c4, %c3) step (%c1, %c1, %c1)
// CHECK: %[[V:.*]] = memref.load %{{.*}}[%[[I]], %[[J]], %[[K]]]
// CHECK: memref.store %[[V]], %{{.*}}[%[[I]], %[[J]], %[[K]]]
func.func @three_d(%a: memref<3x4x5xf32>, %b: memref<3x4x5xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c5 = arith.constant 5 : index
  scf.parallel (%i, %j, %k) = (%c0, %c0, %c0) to (%c3, %c4, %c5) step (%c1, %c1, %c1) {
    %v = memref.load %a[%i, %j, %k] : memref<3x4x5xf32>
    memref.store %v, %b[%i, %j, %k] : memref<3x4x5xf32>
  }
  return
}

// -----

// One dimension, a loop with a reduction and a nested loop are left alone.
// CHECK-LABEL: func.func @left_alone
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%c3) step (%c1)
// CHECK: scf.parallel (%[[I:.*]], %[[J:.*]]) = (%c0, %c0) to (%c3, %c4) step (%c1, %c1) init
// CHECK: scf.parallel (%[[O:.*]], %[[P:.*]]) = (%c0, %c0) to (%c4, %c3)
// CHECK: scf.parallel (%[[Q:.*]], %[[R:.*]]) = (%c0, %c0) to (%c3, %c4)
func.func @left_alone(%a: memref<3x4xf32>, %b: memref<3xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%i) = (%c0) to (%c3) step (%c1) {
    memref.store %zero, %b[%i] : memref<3xf32>
  }
  %sum = scf.parallel (%i, %j) = (%c0, %c0) to (%c3, %c4) step (%c1, %c1) init (%zero) -> f32 {
    %v = memref.load %a[%i, %j] : memref<3x4xf32>
    scf.reduce(%v : f32) {
    ^bb0(%x: f32, %y: f32):
      %s = arith.addf %x, %y : f32
      scf.reduce.return %s : f32
    }
  }
  scf.parallel (%i, %j) = (%c0, %c0) to (%c3, %c4) step (%c1, %c1) {
    scf.parallel (%k, %l) = (%c0, %c0) to (%c3, %c4) step (%c1, %c1) {
      %v = memref.load %a[%k, %l] : memref<3x4xf32>
      memref.store %v, %a[%i, %j] : memref<3x4xf32>
    }
  }
  return %sum : f32
}
