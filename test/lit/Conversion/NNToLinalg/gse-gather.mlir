// RUN: sinter-opt %s -split-input-file -convert-nn-to-linalg -canonicalize | FileCheck %s
// RUN: sinter-opt %s -split-input-file -sinter-lower-to-linalg -sinter-lower-to-llvm | FileCheck %s --check-prefix=LLVM

// gse.gather of a gse.constant becomes one linalg.generic over [ids..., D]
// that reads the table's mantissas and exponents from i8 constants (the
// gse.constant's own), the row as nn.gather normalizes it (negative from
// the end, clamped), and scales q by 2^e built from exponent bits, in two
// halves so that e = ±127 (OCP MX) stays a normal power of two.
// CHECK-LABEL: func @table
// CHECK-DAG: %[[M:.*]] = arith.constant dense<{{\[\[}}1, 2, 3], [4, 5, -6]]> : tensor<2x3xi8>
// CHECK-DAG: %[[E:.*]] = arith.constant dense<{{\[\[}}0], [-1]]> : tensor<2x1xi8>
// CHECK: linalg.generic
// CHECK-SAME: ins(%arg0 : tensor<4x?xi64>)
// CHECK: arith.addi
// CHECK: arith.maxsi
// CHECK: arith.minsi
// CHECK: tensor.extract %[[M]]
// CHECK: tensor.extract %[[E]]
// CHECK: arith.divsi
// CHECK: arith.sitofp
// CHECK: arith.shli
// CHECK: arith.bitcast
// CHECK: arith.mulf
// CHECK: arith.mulf
// CHECK-NOT: gse.
// LLVM-LABEL: llvm.func @table
// LLVM-NOT: gse.
func.func @table(%ids: tensor<4x?xi64>) -> tensor<4x?x3xf32> {
  %t = gse.constant dense<[[1, 2, 3], [4, 5, -6]]> : tensor<2x3xi8>, dense<[[0], [-1]]> : tensor<2x1xi8> : !gse.tensor<2x3, #gse.format<group = 4, mantissa = 8, exponent = 5>>
  %x = gse.gather %t, %ids : !gse.tensor<2x3, #gse.format<group = 4, mantissa = 8, exponent = 5>>, tensor<4x?xi64> -> tensor<4x?x3xf32>
  return %x : tensor<4x?x3xf32>
}

// -----

// Mantissas of at most 4 bits are stored two to a byte, q + 8 with the even
// column low: row 0 (1, 2, 3) → 9 | 10 << 4 = 169 (−87 as i8), 11; row 1
// (4, 5, −6) → 12 | 13 << 4 = 220 (−36), 2. The body picks the nibble by
// the column's parity and subtracts 8.
// CHECK-LABEL: func @nibbles
// CHECK-DAG: %[[M:.*]] = arith.constant dense<{{\[\[}}-87, 11], [-36, 2]]> : tensor<2x2xi8>
// CHECK: linalg.generic
// CHECK: arith.divui
// CHECK: tensor.extract %[[M]]
// CHECK: arith.shrui
// CHECK: arith.andi
// CHECK: arith.subi
func.func @nibbles(%ids: tensor<5xi64>) -> tensor<5x3xf32> {
  %t = gse.constant dense<[[1, 2, 3], [4, 5, -6]]> : tensor<2x3xi8>, dense<[[0], [-1]]> : tensor<2x1xi8> : !gse.tensor<2x3, #gse.format<group = 4, mantissa = 4, exponent = 5>>
  %x = gse.gather %t, %ids : !gse.tensor<2x3, #gse.format<group = 4, mantissa = 4, exponent = 5>>, tensor<5xi64> -> tensor<5x3xf32>
  return %x : tensor<5x3xf32>
}

// -----

// Two lookups of one table share one packed constant (256 bytes of
// nibbles: a resource blob, which is not uniqued by its contents).
// CHECK-LABEL: func @shared_table
// CHECK: arith.constant dense_resource<gse_table_nibbles{{.*}}> : tensor<32x8xi8>
// CHECK-NOT: dense_resource<gse_table_nibbles
// CHECK: return
func.func @shared_table(%ids: tensor<5xi64>) -> (tensor<5x16xf32>, tensor<5x16xf32>) {
  %t = gse.constant dense<1> : tensor<32x16xi8>, dense<0> : tensor<32x4xi8> : !gse.tensor<32x16, #gse.format<group = 4, mantissa = 4, exponent = 5>>
  %x = gse.gather %t, %ids : !gse.tensor<32x16, #gse.format<group = 4, mantissa = 4, exponent = 5>>, tensor<5xi64> -> tensor<5x16xf32>
  %y = gse.gather %t, %ids : !gse.tensor<32x16, #gse.format<group = 4, mantissa = 4, exponent = 5>>, tensor<5xi64> -> tensor<5x16xf32>
  return %x, %y : tensor<5x16xf32>, tensor<5x16xf32>
}
