// RUN: sinter-opt %s -convert-nn-to-linalg -canonicalize | FileCheck %s
// RUN: sinter-opt %s -sinter-lower-to-linalg -sinter-lower-to-llvm | FileCheck %s --check-prefix=LLVM

// nn.sparse_ffn becomes a call to the runtime kernel with 19 index
// arguments: buffer addresses, sizes (rows = 2·?, d = 4, h = 8, d_out = 3),
// null addresses for the absent gate, the predictor's rank (2) and kept
// (3), the threshold's f32 bits, σ's code (gelu = 1) and dense_rows (5).
// (-canonicalize gathers the constants at the top of the function.)
// CHECK: func.func private @__sinter_sparse_ffn(index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index)
// CHECK-LABEL: func @sparse
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[D:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[H:.*]] = arith.constant 8 : index
// CHECK-DAG: %[[DOUT:.*]] = arith.constant 3 : index
// CHECK-DAG: %[[RANK:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[GELU:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[ROWS5:.*]] = arith.constant 5 : index
// CHECK: %[[OUT:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<2x?x3xf32>
// CHECK: call @__sinter_sparse_ffn(%{{.*}}, %{{.*}}, %{{.*}}, %[[D]], %[[H]], %[[DOUT]], %{{.*}}, %{{.*}}, %[[ZERO]], %[[ZERO]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[RANK]], %{{.*}}, %[[ZERO]], %[[GELU]], %[[ROWS5]])
// CHECK: bufferization.to_tensor %[[OUT]] restrict writable

// LLVM: llvm.func @__sinter_sparse_ffn(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64)
// LLVM: llvm.call @__sinter_sparse_ffn
func.func @sparse(%x: tensor<2x?x4xf32>) -> tensor<2x?x3xf32> {
  %u = arith.constant dense<0.5> : tensor<8x4xf32>
  %b = arith.constant dense<0.1> : tensor<8xf32>
  %d = arith.constant dense<0.25> : tensor<8x3xf32>
  %pi = arith.constant dense<1.0> : tensor<4x2xf32>
  %po = arith.constant dense<2.0> : tensor<2x8xf32>
  %0 = nn.sparse_ffn %x up(%u, %b) down(%d) predictor(%pi, %po, %b) {activation = "gelu", dense_rows = 5 : i64, kept = 3 : i64, threshold = 0.0 : f32} : (tensor<2x?x4xf32>, tensor<8x4xf32>, tensor<8xf32>, tensor<8x3xf32>, tensor<4x2xf32>, tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x?x3xf32>
  return %0 : tensor<2x?x3xf32>
}
