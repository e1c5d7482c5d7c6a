// RUN: sinter-opt %s -sinter-linalg-to-ukernel -split-input-file | FileCheck %s

// A 2-D matmul: batch 1 (batch strides 0); static layouts fold the
// metadata to constant strides (row 8 / 16, column 1). The kernel is
// declared once, private.
// CHECK: func.func private @__sinter_sgemm(index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index)
// CHECK-LABEL: func @matmul
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[C8:.*]] = arith.constant 8 : index
// CHECK-DAG: %[[C16:.*]] = arith.constant 16 : index
// CHECK-DAG: %[[PA:.*]] = memref.extract_aligned_pointer_as_index %arg0
// CHECK-DAG: %[[PB:.*]] = memref.extract_aligned_pointer_as_index %arg1
// CHECK-DAG: %[[PC:.*]] = memref.extract_aligned_pointer_as_index %arg2
// CHECK: call @__sinter_sgemm(%[[C1]], %[[C4]], %[[C16]], %[[C8]], %[[PA]], %[[C0]], %[[C8]], %[[C1]], %[[PB]], %[[C0]], %[[C16]], %[[C1]], %[[PC]], %[[C0]], %[[C16]], %[[C1]])
// CHECK-NOT: linalg.generic
#mk = affine_map<(m, k, n) -> (m, k)>
#kn = affine_map<(m, k, n) -> (k, n)>
#mn = affine_map<(m, k, n) -> (m, n)>
func.func @matmul(%a: memref<4x8xf32>, %b: memref<8x16xf32>, %c: memref<4x16xf32>) {
  linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<4x8xf32>, memref<8x16xf32>) outs(%c : memref<4x16xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Attention-shaped: two batch dims, B transposed (n, k) and broadcast over
// the first batch dim (constant 0). The outer batch dim becomes a loop that
// advances the addresses; the inner one goes to the kernel.
// A dynamic layout keeps its metadata (the offset scaled to bytes); static
// ones fold to constants.
// CHECK-LABEL: func @batched_transposed
// CHECK: %[[D0:.*]] = memref.dim %arg0, %c0
// CHECK: %{{.*}}, %[[OFF:.*]], %{{.*}}:4, %[[ST:.*]]:4 = memref.extract_strided_metadata %arg0
// CHECK: %[[P:.*]] = memref.extract_aligned_pointer_as_index %arg0
// CHECK: %[[BYTES:.*]] = arith.muli %[[OFF]], %c4
// CHECK: %[[ADDR:.*]] = arith.addi %[[P]], %[[BYTES]]
// CHECK: %[[PB:.*]] = memref.extract_aligned_pointer_as_index %arg1
// CHECK: %[[PC:.*]] = memref.extract_aligned_pointer_as_index %arg2
// CHECK: scf.for %[[I:.*]] = %c0 to %[[D0]] step %c1
// CHECK: %[[STEP:.*]] = arith.muli %[[ST]]#0, %c4
// CHECK: %[[OFFB:.*]] = arith.muli %[[I]], %[[STEP]]
// CHECK: %[[A:.*]] = arith.addi %[[ADDR]], %[[OFFB]]
// CHECK: %[[OFFC:.*]] = arith.muli %[[I]], %c420
// CHECK: %[[C:.*]] = arith.addi %[[PC]], %[[OFFC]]
// B stays put along the outer dim (stride 0); per head it advances 56
// floats; as (n, k) its k-rows are 1 apart and its n-columns 8.
// CHECK: call @__sinter_sgemm(%c3, %c5, %c7, %c8, %[[A]], %[[ST]]#1, %[[ST]]#2, %c1, %[[PB]], %c56, %c1, %c8, %[[C]], %c35, %c7, %c1)
#a4 = affine_map<(b, h, m, k, n) -> (b, h, m, k)>
#bt = affine_map<(b, h, m, k, n) -> (0, h, n, k)>
#c4 = affine_map<(b, h, m, k, n) -> (b, h, m, n)>
func.func @batched_transposed(%a: memref<?x3x5x8xf32, strided<[?, ?, ?, 1], offset: ?>>, %b: memref<1x3x7x8xf32>, %c: memref<?x3x5x7xf32>) {
  linalg.generic {indexing_maps = [#a4, #bt, #c4], iterator_types = ["parallel", "parallel", "parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<?x3x5x8xf32, strided<[?, ?, ?, 1], offset: ?>>, memref<1x3x7x8xf32>) outs(%c : memref<?x3x5x7xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %y, %x : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Left alone: integer contractions, tensors (not yet bufferized), bodies
// that are not a plain multiply-add, and maps that are not a contraction.
// No call means no declaration either.
// CHECK-NOT: __sinter_sgemm
// CHECK-LABEL: func @not_matched
// CHECK-COUNT-4: linalg.generic
#mk = affine_map<(m, k, n) -> (m, k)>
#kn = affine_map<(m, k, n) -> (k, n)>
#mn = affine_map<(m, k, n) -> (m, n)>
#diag = affine_map<(m, k, n) -> (k, k)>
func.func @not_matched(%ai: memref<4x8xi32>, %bi: memref<8x16xi32>, %ci: memref<4x16xi32>,
                       %a: memref<4x8xf32>, %b: memref<8x16xf32>, %c: memref<4x16xf32>,
                       %bd: memref<8x8xf32>, %t: tensor<4x8xf32>, %tb: tensor<8x16xf32>, %tc: tensor<4x16xf32>) -> tensor<4x16xf32> {
  linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%ai, %bi : memref<4x8xi32>, memref<8x16xi32>) outs(%ci : memref<4x16xi32>) {
  ^bb0(%x: i32, %y: i32, %acc: i32):
    %p = arith.muli %x, %y : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  }
  linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<4x8xf32>, memref<8x16xf32>) outs(%c : memref<4x16xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %q = arith.mulf %p, %p : f32
    %s = arith.addf %acc, %q : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#mk, #diag, #mn], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %bd : memref<4x8xf32>, memref<8x8xf32>) outs(%c : memref<4x16xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  %r = linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%t, %tb : tensor<4x8xf32>, tensor<8x16xf32>) outs(%tc : tensor<4x16xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<4x16xf32>
  return %r : tensor<4x16xf32>
}
