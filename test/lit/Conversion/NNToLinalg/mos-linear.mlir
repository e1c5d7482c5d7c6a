// RUN: sinter-opt %s -convert-nn-to-linalg -canonicalize | FileCheck %s
// RUN: sinter-opt %s -sinter-lower-to-linalg -sinter-lower-to-llvm | FileCheck %s --check-prefix=LLVM

// bnn.mos_linear becomes a call to the runtime kernel with 14 index
// arguments: x, the result buffer, rows (2·?), K = 20, N = 3, E = 2, the
// addresses of bits, scale_in, scale_out, router and bias (0 when absent),
// the activation bits (32, or 8 with int8_activations), the bits' layout
// and the scales' bits.
// CHECK: func.func private @__sinter_mos_linear(index, index, index, index, index, index, index, index, index, index, index, index, index, index)
// CHECK-LABEL: func @mos
// CHECK-DAG: %[[K:.*]] = arith.constant 20 : index
// CHECK-DAG: %[[N:.*]] = arith.constant 3 : index
// CHECK-DAG: %[[E:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[FP32:.*]] = arith.constant 32 : index
// CHECK-DAG: %[[TILES:.*]] = arith.constant 1 : index
// With fp32 activations, constant bits are regrouped into one tile of 16
// outputs: byte c of output j at 16·c + j, zero past N = 3; the rows are gone.
// CHECK-DAG: %[[BITS:.*]] = arith.constant dense<[1, 4, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 5, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 6, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]> : tensor<48xi8>
// CHECK-NOT: tensor<3x3xi8>
// CHECK: %[[OUT:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<2x?x3xf32>
// CHECK: bufferization.to_buffer %[[BITS]]
// CHECK: call @__sinter_mos_linear(%{{.*}}, %{{.*}}, %{{.*}}, %[[K]], %[[N]], %[[E]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[FP32]], %[[TILES]], %[[FP32]])
// CHECK: bufferization.to_tensor %[[OUT]] restrict writable
// int8 activations keep the rows (layout 0).
// CHECK-LABEL: func @no_bias
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[INT8:.*]] = arith.constant 8 : index
// CHECK-DAG: %[[F32:.*]] = arith.constant 32 : index
// CHECK-DAG: arith.constant dense<0> : tensor<3x3xi8>
// CHECK: call @__sinter_mos_linear({{.*}}, %[[ZERO]], %[[INT8]], %[[ZERO]], %[[F32]])
// Bits computed at run time cannot be regrouped: rows.
// CHECK-LABEL: func @runtime_bits
// CHECK-DAG: %[[ROWS:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[A32:.*]] = arith.constant 32 : index
// CHECK: call @__sinter_mos_linear({{.*}}, %[[A32]], %[[ROWS]], %[[A32]])

// LLVM: llvm.func @__sinter_mos_linear(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64)
// LLVM: llvm.call @__sinter_mos_linear
func.func @mos(%x: tensor<2x?x20xf32>) -> tensor<2x?x3xf32> {
  %bits = arith.constant dense<[[1, 2, 3], [4, 5, 6], [7, 8, 9]]> : tensor<3x3xi8>
  %sin = arith.constant dense<1.0> : tensor<2x20xf32>
  %sout = arith.constant dense<0.5> : tensor<2x3xf32>
  %r = arith.constant dense<0.0> : tensor<20x2xf32>
  %b = arith.constant dense<0.1> : tensor<3xf32>
  %0 = bnn.mos_linear %x, %bits, %sin, %sout, %r bias(%b) {in_features = 20 : i64, layout = #bnn<layout rows_of_inputs>} : (tensor<2x?x20xf32>, tensor<3x3xi8>, tensor<2x20xf32>, tensor<2x3xf32>, tensor<20x2xf32>, tensor<3xf32>) -> tensor<2x?x3xf32>
  return %0 : tensor<2x?x3xf32>
}

func.func @no_bias(%x: tensor<4x20xf32>) -> tensor<4x3xf32> {
  %bits = arith.constant dense<0> : tensor<3x3xi8>
  %sin = arith.constant dense<1.0> : tensor<1x20xf32>
  %sout = arith.constant dense<0.5> : tensor<1x3xf32>
  %r = arith.constant dense<0.0> : tensor<20x1xf32>
  %0 = bnn.mos_linear %x, %bits, %sin, %sout, %r {in_features = 20 : i64, int8_activations, layout = #bnn<layout rows_of_inputs>} : (tensor<4x20xf32>, tensor<3x3xi8>, tensor<1x20xf32>, tensor<1x3xf32>, tensor<20x1xf32>) -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}


func.func @runtime_bits(%x: tensor<4x20xf32>, %bits: tensor<3x3xi8>) -> tensor<4x3xf32> {
  %sin = arith.constant dense<1.0> : tensor<1x20xf32>
  %sout = arith.constant dense<0.5> : tensor<1x3xf32>
  %r = arith.constant dense<0.0> : tensor<20x1xf32>
  %0 = bnn.mos_linear %x, %bits, %sin, %sout, %r {in_features = 20 : i64, layout = #bnn<layout rows_of_inputs>} : (tensor<4x20xf32>, tensor<3x3xi8>, tensor<1x20xf32>, tensor<1x3xf32>, tensor<20x1xf32>) -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}
