// RUN: sinter-opt %s -convert-nn-to-linalg | FileCheck %s

// Q, K and V are read in place as strided views (a slice of a fused
// projection needs no copy); the result is a fresh [B, T, H·Dv] buffer.
// CHECK-LABEL: func @attention
// CHECK-SAME: (%[[X:.*]]: tensor<1x?x24xf32>)
// CHECK-DAG: %[[Q:.*]] = tensor.extract_slice %[[X]][0, 0, 0]
// CHECK-DAG: %[[K:.*]] = tensor.extract_slice %[[X]][0, 0, 8]
// CHECK-DAG: %[[V:.*]] = tensor.extract_slice %[[X]][0, 0, 16]
// CHECK: %[[OUT:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<1x?x8xf32>
// CHECK: bufferization.to_buffer %[[Q]] read_only : tensor<1x?x8xf32> to memref<1x?x8xf32, strided<[?, ?, 1], offset: ?>>
// CHECK: memref.extract_strided_metadata
// CHECK: bufferization.to_buffer %[[K]] read_only
// CHECK: bufferization.to_buffer %[[V]] read_only
// CHECK: call @__sinter_attention(
// CHECK: %[[R:.*]] = bufferization.to_tensor %[[OUT]] restrict writable
// CHECK: return %[[R]]
func.func @attention(%x: tensor<1x?x24xf32>) -> tensor<1x?x8xf32> {
  %s:3 = nn.split %x {axis = 2 : i64, sizes = array<i64: 8, 8, 8>} : tensor<1x?x24xf32> -> tensor<1x?x8xf32>, tensor<1x?x8xf32>, tensor<1x?x8xf32>
  %0 = nn.attention %s#0, %s#1, %s#2 {heads = 2 : i64, scale = 0.5 : f32, causal} : tensor<1x?x8xf32>, tensor<1x?x8xf32>, tensor<1x?x8xf32> -> tensor<1x?x8xf32>
  return %0 : tensor<1x?x8xf32>
}
