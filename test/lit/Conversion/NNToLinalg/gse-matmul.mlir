// RUN: sinter-opt %s -convert-nn-to-linalg -canonicalize | FileCheck %s
// RUN: sinter-opt %s -sinter-lower-to-linalg -sinter-lower-to-llvm | FileCheck %s --check-prefix=LLVM

// gse.matmul(gse.quantize(x), gse.constant) becomes a call of the kernel
// with 12 index arguments: x, the result buffer, rows (2·?), K = 4, N = 2,
// the group (4), the activations' mantissa bits (6) and exponent range
// ([−16, 15]), and the weight repacked into one panel of 16 outputs:
// quad 0 of output 0 is q + 128 = 129..132 (as i8: −127..−124), of output
// 1 133..136, and 128 (q = 0, as i8 −128) past N; exponents [0, 1, 0...];
// and 0: bytes, not nibbles (8-bit mantissas).
// The quantize and the gse.constant are gone.
// CHECK-DAG: func.func private @__sinter_gse_linear(index, index, index, index, index, index, index, index, index, index, index, index)
// CHECK-DAG: func.func private @__sinter_gse_linear_transposed(index, index, index, index, index, index, index, index, index, index, index, index, index, index, index)
// CHECK-LABEL: func @linear
// CHECK-DAG: %[[PANELS:.*]] = arith.constant dense<{{\[}}-127, -126, -125, -124, -123, -122, -121, -120, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128]> : tensor<64xi8>
// CHECK-DAG: %[[EXPS:.*]] = arith.constant dense<[0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]> : tensor<16xi8>
// CHECK-DAG: %[[K:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[N:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[A:.*]] = arith.constant 6 : index
// CHECK-DAG: %[[LO:.*]] = arith.constant -16 : index
// CHECK-DAG: %[[HI:.*]] = arith.constant 15 : index
// CHECK-DAG: %[[BYTES:.*]] = arith.constant 0 : index
// CHECK: %[[OUT:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<2x?x2xf32>
// CHECK: call @__sinter_gse_linear(%{{.*}}, %{{.*}}, %{{.*}}, %[[K]], %[[N]], %[[K]], %[[A]], %[[LO]], %[[HI]], %{{.*}}, %{{.*}}, %[[BYTES]])
// CHECK-NOT: gse.
// LLVM: llvm.func @__sinter_gse_linear(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64)
// LLVM: llvm.call @__sinter_gse_linear
func.func @linear(%x: tensor<2x?x4xf32>) -> tensor<2x?x2xf32> {
  %w = gse.constant dense<[[1, 2, 3, 4], [5, 6, 7, 8]]> : tensor<2x4xi8>, dense<[[0], [1]]> : tensor<2x1xi8> : !gse.tensor<2x4, #gse.format<group = 4, mantissa = 8, exponent = 5>>
  %q = gse.quantize %x : tensor<2x?x4xf32> -> !gse.tensor<2x?x4, #gse.format<group = 4, mantissa = 6, exponent = 5>>
  %y = gse.matmul %q, %w : !gse.tensor<2x?x4, #gse.format<group = 4, mantissa = 6, exponent = 5>>, !gse.tensor<2x4, #gse.format<group = 4, mantissa = 8, exponent = 5>> -> tensor<2x?x2xf32>
  return %y : tensor<2x?x2xf32>
}

// 4-bit mantissas go as nibbles q + 8, the group padded to a pair of quads
// (8 inputs), quad 2c in the low nibbles and quad 2c + 1 in the high ones.
// K = 4 leaves quad 1 empty (8: q = 0), so output 0's bytes are
// (1..4) + 8 | 8<<4 = 137..140 (as i8 −119..−116), output 1's (5, 6, 7, −7)
// + 8 | 128 = 141, 142, 143, 129 (−115, −114, −113, −127), and 136 (−120)
// past N.
// CHECK-LABEL: func @nibbles
// CHECK-DAG: arith.constant dense<{{\[}}-119, -118, -117, -116, -115, -114, -113, -127, -120, -120,{{.*}}]> : tensor<64xi8>
// CHECK-DAG: %[[NIB:.*]] = arith.constant 1 : index
// CHECK: call @__sinter_gse_linear({{.*}}, %[[NIB]])
func.func @nibbles(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = gse.constant dense<[[1, 2, 3, 4], [5, 6, 7, -7]]> : tensor<2x4xi8>, dense<[[0], [1]]> : tensor<2x1xi8> : !gse.tensor<2x4, #gse.format<group = 4, mantissa = 4, exponent = 5>>
  %q = gse.quantize %x : tensor<3x4xf32> -> !gse.tensor<3x4, #gse.format<group = 4, mantissa = 8, exponent = 5>>
  %y = gse.matmul %q, %w : !gse.tensor<3x4, #gse.format<group = 4, mantissa = 8, exponent = 5>>, !gse.tensor<2x4, #gse.format<group = 4, mantissa = 4, exponent = 5>> -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// A gradient's product x · W (gse.matmul of gse.transpose W) reads W's own
// panels and exponents, the forward's very constants, with W's shape (N =
// 2 rows summed, K = 4 outputs) and its format (8 bits, [−16, 15]) after
// the 12 forward arguments; the transpose and the constant are gone.
// CHECK-LABEL: func @forward_and_gradient
// CHECK-DAG: %[[P:.*]] = arith.constant dense<{{\[}}-127, -126, -125, -124, -123, -122, -121, -120, -128, {{.*}}]> : tensor<64xi8>
// CHECK-DAG: %[[E:.*]] = arith.constant dense<[0, 1, 0, {{.*}}]> : tensor<16xi8>
// CHECK-DAG: %[[TWO:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[FOUR:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[WBITS:.*]] = arith.constant 8 : index
// CHECK-DAG: %[[DBITS:.*]] = arith.constant 7 : index
// CHECK-DAG: %[[DLO:.*]] = arith.constant -127 : index
// CHECK-DAG: %[[DHI:.*]] = arith.constant 127 : index
// CHECK-DAG: %[[WLO:.*]] = arith.constant -16 : index
// CHECK-DAG: %[[WHI:.*]] = arith.constant 15 : index
// CHECK: %[[PB:.*]] = bufferization.to_buffer %[[P]]
// CHECK: call @__sinter_gse_linear(%{{.*}}, %{{.*}}, %{{.*}}, %[[FOUR]], %[[TWO]], %[[FOUR]], %[[WBITS]], %[[WLO]], %[[WHI]], %{{.*}}, %{{.*}}, %{{.*}})
// CHECK: %[[PT:.*]] = bufferization.to_buffer %[[P]]
// CHECK: call @__sinter_gse_linear_transposed(%{{.*}}, %{{.*}}, %{{.*}}, %[[TWO]], %[[FOUR]], %[[FOUR]], %[[DBITS]], %[[DLO]], %[[DHI]], %{{.*}}, %{{.*}}, %{{.*}}, %[[WBITS]], %[[WLO]], %[[WHI]])
// CHECK-NOT: gse.
func.func @forward_and_gradient(%x: tensor<3x4xf32>, %dy: tensor<3x2xf32>) -> (tensor<3x2xf32>, tensor<3x4xf32>) {
  %w = gse.constant dense<[[1, 2, 3, 4], [5, 6, 7, 8]]> : tensor<2x4xi8>, dense<[[0], [1]]> : tensor<2x1xi8> : !gse.tensor<2x4, #gse.format<group = 4, mantissa = 8, exponent = 5>>
  %q = gse.quantize %x : tensor<3x4xf32> -> !gse.tensor<3x4, #gse.format<group = 4, mantissa = 8, exponent = 5>>
  %y = gse.matmul %q, %w : !gse.tensor<3x4, #gse.format<group = 4, mantissa = 8, exponent = 5>>, !gse.tensor<2x4, #gse.format<group = 4, mantissa = 8, exponent = 5>> -> tensor<3x2xf32>
  %dq = gse.quantize %dy : tensor<3x2xf32> -> !gse.tensor<3x2, #gse.format<group = 4, mantissa = 7, exponent = 8>>
  %wt = gse.transpose %w : !gse.tensor<2x4, #gse.format<group = 4, mantissa = 8, exponent = 5>> -> !gse.tensor<4x2, #gse.format<group = 4, mantissa = 8, exponent = 5>>
  %dx = gse.matmul %dq, %wt : !gse.tensor<3x2, #gse.format<group = 4, mantissa = 7, exponent = 8>>, !gse.tensor<4x2, #gse.format<group = 4, mantissa = 8, exponent = 5>> -> tensor<3x4xf32>
  return %y, %dx : tensor<3x2xf32>, tensor<3x4xf32>
}
