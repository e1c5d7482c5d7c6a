// RUN: sinter-opt %s | FileCheck %s
// RUN: sinter-opt %s | sinter-opt | FileCheck %s
// RUN: sinter-opt %s --mlir-print-op-generic | sinter-opt | FileCheck %s

// CHECK-LABEL: func @ops
// CHECK: %[[Q:.*]] = gse.quantize %arg0 : tensor<?x64xf32> -> !gse.tensor<?x64, #gse.format<group = 32, mantissa = 8, exponent = 5>>
// CHECK: %[[W:.*]] = gse.constant dense<1> : tensor<3x64xi8>, dense<-3> : tensor<3x2xi8> : !gse.tensor<3x64, #gse.format<group = 32, mantissa = 4, exponent = 5>>
// CHECK: %[[Y:.*]] = gse.matmul %[[Q]], %[[W]] : !gse.tensor<?x64, #gse.format<group = 32, mantissa = 8, exponent = 5>>, !gse.tensor<3x64, #gse.format<group = 32, mantissa = 4, exponent = 5>> -> tensor<?x3xf32>
// CHECK: gse.dequantize %[[Q]] : !gse.tensor<?x64, #gse.format<group = 32, mantissa = 8, exponent = 5>> -> tensor<?x64xf32>
func.func @ops(%x: tensor<?x64xf32>) -> (tensor<?x3xf32>, tensor<?x64xf32>) {
  %q = gse.quantize %x : tensor<?x64xf32> -> !gse.tensor<?x64, #gse.format<group = 32, mantissa = 8, exponent = 5>>
  %w = gse.constant dense<1> : tensor<3x64xi8>, dense<-3> : tensor<3x2xi8> : !gse.tensor<3x64, #gse.format<group = 32, mantissa = 4, exponent = 5>>
  %y = gse.matmul %q, %w : !gse.tensor<?x64, #gse.format<group = 32, mantissa = 8, exponent = 5>>, !gse.tensor<3x64, #gse.format<group = 32, mantissa = 4, exponent = 5>> -> tensor<?x3xf32>
  %d = gse.dequantize %q : !gse.tensor<?x64, #gse.format<group = 32, mantissa = 8, exponent = 5>> -> tensor<?x64xf32>
  return %y, %d : tensor<?x3xf32>, tensor<?x64xf32>
}

// Batched rows, a partial last group (K = 40: groups of 32 and 8) and the
// OCP MX mode (8-bit E8M0 exponent).
// CHECK-LABEL: func @batched_mx
// CHECK: gse.matmul {{.*}} : !gse.tensor<2x?x40, #gse.format<group = 32, mantissa = 8, exponent = 8>>, !gse.tensor<5x40, #gse.format<group = 32, mantissa = 8, exponent = 8>> -> tensor<2x?x5xf32>
func.func @batched_mx(%a: !gse.tensor<2x?x40, #gse.format<group = 32, mantissa = 8, exponent = 8>>,
                      %b: !gse.tensor<5x40, #gse.format<group = 32, mantissa = 8, exponent = 8>>) -> tensor<2x?x5xf32> {
  %y = gse.matmul %a, %b : !gse.tensor<2x?x40, #gse.format<group = 32, mantissa = 8, exponent = 8>>, !gse.tensor<5x40, #gse.format<group = 32, mantissa = 8, exponent = 8>> -> tensor<2x?x5xf32>
  return %y : tensor<2x?x5xf32>
}

// CHECK-LABEL: func @transpose
// CHECK: gse.transpose %arg0 : !gse.tensor<3x64, #gse.format<group = 32, mantissa = 4, exponent = 5>> -> !gse.tensor<64x3, #gse.format<group = 32, mantissa = 4, exponent = 5>>
func.func @transpose(%w: !gse.tensor<3x64, #gse.format<group = 32, mantissa = 4, exponent = 5>>) -> !gse.tensor<64x3, #gse.format<group = 32, mantissa = 4, exponent = 5>> {
  %t = gse.transpose %w : !gse.tensor<3x64, #gse.format<group = 32, mantissa = 4, exponent = 5>> -> !gse.tensor<64x3, #gse.format<group = 32, mantissa = 4, exponent = 5>>
  return %t : !gse.tensor<64x3, #gse.format<group = 32, mantissa = 4, exponent = 5>>
}

// CHECK-LABEL: func @gather
// CHECK: gse.gather %arg0, %arg1 : !gse.tensor<50x64, #gse.format<group = 32, mantissa = 8, exponent = 5>>, tensor<?x?xi64> -> tensor<?x?x64xf32>
func.func @gather(%t: !gse.tensor<50x64, #gse.format<group = 32, mantissa = 8, exponent = 5>>, %ids: tensor<?x?xi64>) -> tensor<?x?x64xf32> {
  %x = gse.gather %t, %ids : !gse.tensor<50x64, #gse.format<group = 32, mantissa = 8, exponent = 5>>, tensor<?x?xi64> -> tensor<?x?x64xf32>
  return %x : tensor<?x?x64xf32>
}
