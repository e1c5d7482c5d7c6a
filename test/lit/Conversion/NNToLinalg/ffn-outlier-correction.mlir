// RUN: sinter-opt %s -convert-nn-to-linalg | FileCheck %s
// RUN: sinter-opt %s -sinter-lower-to-linalg -sinter-lower-to-llvm | FileCheck %s --check-prefix=LLVM

// The correction becomes a call to the runtime kernel on the operands'
// buffer addresses (rows = 2·?, d = 4, d_out = 4, kept = 2, bits = 2,
// gelu = 1), writing a fresh 64-byte-aligned buffer that becomes the result.
// The kernel is declared once, at the top of the module.
// CHECK: func.func private @__sinter_ffn_correction(index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index)
// CHECK-LABEL: func @correction
// CHECK: %[[OUT:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<2x?x4xf32>
// CHECK: bufferization.to_buffer %{{.*}} read_only
// CHECK: %[[P:.*]] = memref.extract_aligned_pointer_as_index %[[OUT]]
// CHECK: call @__sinter_ffn_correction(%{{.*}}, %{{.*}}, %[[P]], %{{.*}}) : (index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index) -> ()
// CHECK: %[[T:.*]] = bufferization.to_tensor %[[OUT]] restrict writable
// CHECK: return %[[T]]

// Through the whole pipeline it is an LLVM call taking 18 i64.
// LLVM: llvm.func @__sinter_ffn_correction(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64)
// LLVM: llvm.call @__sinter_ffn_correction
func.func @correction(%x: tensor<2x?x4xf32>, %lin: tensor<2x?x4xf32>) -> tensor<2x?x4xf32> {
  %p = arith.constant dense<[[1, 2], [3, 4]]> : tensor<2x2xi8>
  %v = arith.constant dense<[0.5, 1.0]> : tensor<2xf32>
  %w = arith.constant dense<0.25> : tensor<2x4xf32>
  %0 = nn.ffn_outlier_correction %x, %lin predictor(%p, %v) range(%v, %v) exact(%w, %v, %w) fit(%v, %v) {activation = "gelu", predictor_bits = 2 : i64} : (tensor<2x?x4xf32>, tensor<2x?x4xf32>, tensor<2x2xi8>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2x4xf32>) -> tensor<2x?x4xf32>
  return %0 : tensor<2x?x4xf32>
}
