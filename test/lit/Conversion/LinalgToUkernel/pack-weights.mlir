// RUN: sinter-opt %s -sinter-linalg-to-ukernel="panel-width=4" -split-input-file | FileCheck %s
// RUN: sinter-opt %s -sinter-linalg-to-ukernel -split-input-file | FileCheck %s --check-prefix=NOPACK
// RUN: sinter-opt %s -sinter-linalg-to-ukernel="panel-width=4 release-packed=1" -split-input-file | FileCheck %s --check-prefix=RELEASE

// A constant 3x5 weight (K = 3, N = 5) packed into ceil(5/4) = 2 panels of
// 3 rows x 4 columns, zero past column 5; the call passes the packed
// global's address only. Without a panel width, nothing is packed.
// CHECK: func.func private @__sinter_sgemm_packed(index, index, index, index, index, index, index, index, index, index, index, index, index)
// CHECK: memref.global "private" constant @w_packed4 : memref<2x3x4xf32> = dense<{{\[}}{{\[}}[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00], [6.000000e+00, 7.000000e+00, 8.000000e+00, 9.000000e+00], [1.100000e+01, 1.200000e+01, 1.300000e+01, 1.400000e+01]], {{\[}}[5.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00], [1.000000e+01, 0.000000e+00, 0.000000e+00, 0.000000e+00], [1.500000e+01, 0.000000e+00, 0.000000e+00, 0.000000e+00]]]> {alignment = 64 : i64}
// CHECK-LABEL: func @weight
// CHECK: %[[G:.*]] = memref.get_global @w_packed4 : memref<2x3x4xf32>
// CHECK: %[[P:.*]] = memref.extract_aligned_pointer_as_index %[[G]]
// CHECK: call @__sinter_sgemm_packed(%c1, %c2, %c5, %c3, %{{.*}}, %c0, %c3, %c1, %[[P]], %{{.*}}, %c0, %c5, %c1)
// NOPACK-NOT: packed
// NOPACK: call @__sinter_sgemm(
// With release-packed the unpacked weight, now unread, is gone.
// RELEASE-NOT: memref.global "private" constant @w :
// RELEASE: memref.global "private" constant @w_packed4
// RELEASE-NOT: memref.global "private" constant @w :
// RELEASE-LABEL: func @weight
memref.global "private" constant @w : memref<3x5xf32> = dense<[[1.0, 2.0, 3.0, 4.0, 5.0], [6.0, 7.0, 8.0, 9.0, 10.0], [11.0, 12.0, 13.0, 14.0, 15.0]]>
#mk = affine_map<(m, k, n) -> (m, k)>
#kn = affine_map<(m, k, n) -> (k, n)>
#mn = affine_map<(m, k, n) -> (m, n)>
func.func @weight(%a: memref<2x3xf32>, %c: memref<2x5xf32>) {
  %w = memref.get_global @w : memref<3x5xf32>
  linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %w : memref<2x3xf32>, memref<3x5xf32>) outs(%c : memref<2x5xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Transposed (Gemm transB: the weight is N x K = 5 x 3) packs the same
// panels; two uses share one packed global.
// CHECK-LABEL: memref.global "private" constant @wt_packed4 : memref<2x3x4xf32> = dense<{{\[}}{{\[}}[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00]
// CHECK-NOT: memref.global "private" constant @wt_packed4
// CHECK-LABEL: func @transposed_twice
// CHECK-COUNT-2: call @__sinter_sgemm_packed
memref.global "private" constant @wt : memref<5x3xf32> = dense<[[1.0, 6.0, 11.0], [2.0, 7.0, 12.0], [3.0, 8.0, 13.0], [4.0, 9.0, 14.0], [5.0, 10.0, 15.0]]>
#mk = affine_map<(m, k, n) -> (m, k)>
#nk = affine_map<(m, k, n) -> (n, k)>
#mn = affine_map<(m, k, n) -> (m, n)>
func.func @transposed_twice(%a: memref<2x3xf32>, %c: memref<2x5xf32>, %d: memref<2x5xf32>) {
  %w = memref.get_global @wt : memref<5x3xf32>
  linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %w : memref<2x3xf32>, memref<5x3xf32>) outs(%c : memref<2x5xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %w : memref<2x3xf32>, memref<5x3xf32>) outs(%d : memref<2x5xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Not packed: a weight that is not constant, or a batched operand.
// CHECK-LABEL: func @not_packed
// CHECK-NOT: _packed
// CHECK-COUNT-2: call @__sinter_sgemm(
memref.global "private" @mutable : memref<3x5xf32> = dense<1.0>
#mk = affine_map<(m, k, n) -> (m, k)>
#kn = affine_map<(m, k, n) -> (k, n)>
#mn = affine_map<(m, k, n) -> (m, n)>
#bmk = affine_map<(b, m, k, n) -> (b, m, k)>
#bkn = affine_map<(b, m, k, n) -> (b, k, n)>
#bmn = affine_map<(b, m, k, n) -> (b, m, n)>
func.func @not_packed(%a: memref<2x3xf32>, %c: memref<2x5xf32>, %ba: memref<2x2x3xf32>, %bb: memref<2x3x5xf32>, %bc: memref<2x2x5xf32>) {
  %w = memref.get_global @mutable : memref<3x5xf32>
  linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %w : memref<2x3xf32>, memref<3x5xf32>) outs(%c : memref<2x5xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#bmk, #bkn, #bmn], iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
      ins(%ba, %bb : memref<2x2x3xf32>, memref<2x3x5xf32>) outs(%bc : memref<2x2x5xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
