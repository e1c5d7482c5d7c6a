// RUN: sinter-opt %s -convert-nn-to-linalg -split-input-file | FileCheck %s

// Broadcasting: the unit dim of %b reads index 0, the missing leading dim
// is dropped; the dynamic size comes from %a.
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[BC:.*]] = affine_map<(d0, d1) -> (0, d1)>
// CHECK-LABEL: func @add_broadcast
// CHECK: %[[D:.*]] = tensor.dim %arg0, %c0
// CHECK: tensor.empty(%[[D]]) : tensor<?x4xf32>
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[BC]], #[[ID]]], iterator_types = ["parallel", "parallel"]}
// CHECK: arith.addf
func.func @add_broadcast(%a: tensor<?x4xf32>, %b: tensor<1x4xf32>) -> tensor<?x4xf32> {
  %0 = nn.add %a, %b : tensor<?x4xf32>, tensor<1x4xf32> -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}

// -----

// MatMul against a 2-D weight: batch dims only on the lhs; loops are
// (batch, m, k, n) so that n, contiguous in B and C, is innermost.
// CHECK-DAG: #[[L:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-DAG: #[[R:.*]] = affine_map<(d0, d1, d2, d3) -> (d2, d3)>
// CHECK-DAG: #[[O:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-LABEL: func @matmul
// CHECK: linalg.fill
// CHECK: linalg.generic {indexing_maps = [#[[L]], #[[R]], #[[O]]], iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
// CHECK: arith.mulf
// CHECK: arith.addf
func.func @matmul(%x: tensor<2x?x8xf32>, %w: tensor<8x16xf32>) -> tensor<2x?x16xf32> {
  %0 = nn.matmul %x, %w : tensor<2x?x8xf32>, tensor<8x16xf32> -> tensor<2x?x16xf32>
  return %0 : tensor<2x?x16xf32>
}

// -----

// Softmax: max-reduce, exp(x - max), sum-reduce, divide.
// CHECK-LABEL: func @softmax
// CHECK: arith.constant 0xFF800000 : f32
// CHECK: arith.maximumf
// CHECK: math.exp
// CHECK: arith.addf
// CHECK: arith.divf
func.func @softmax(%x: tensor<2x5xf32>) -> tensor<2x5xf32> {
  %0 = nn.softmax %x : tensor<2x5xf32> -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

// Gather: negative indices wrap, then clamp into range; the row is read
// with tensor.extract.
// CHECK-LABEL: func @gather
// CHECK: linalg.generic
// CHECK: arith.index_cast
// CHECK: arith.select
// CHECK: arith.maxsi
// CHECK: arith.minsi
// CHECK: tensor.extract %arg0
func.func @gather(%t: tensor<10x4xf32>, %i: tensor<?x?xi64>) -> tensor<?x?x4xf32> {
  %0 = nn.gather %t, %i : tensor<10x4xf32>, tensor<?x?xi64> -> tensor<?x?x4xf32>
  return %0 : tensor<?x?x4xf32>
}

// -----

// Reshape with 0 and -1 resolved at run time.
// CHECK-LABEL: func @reshape
// CHECK: tensor.extract %arg1
// CHECK: arith.divsi
// CHECK: tensor.from_elements
// CHECK: tensor.reshape %arg0
func.func @reshape(%x: tensor<?x3x4xf32>, %s: tensor<2xi64>) -> tensor<?x?xf32> {
  %0 = nn.reshape %x, %s : tensor<?x3x4xf32>, tensor<2xi64> -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}

// -----

// Positive constant steps become extract_slice; a negative step reads
// element by element.
// CHECK-LABEL: func @slices
// CHECK: tensor.extract_slice %arg0
// CHECK: linalg.generic
// CHECK: tensor.extract %arg0
func.func @slices(%x: tensor<10xf32>) -> (tensor<4xf32>, tensor<10xf32>) {
  %s = arith.constant dense<1> : tensor<1xi64>
  %e = arith.constant dense<9> : tensor<1xi64>
  %st = arith.constant dense<2> : tensor<1xi64>
  %0 = nn.slice %x, %s, %e steps %st : tensor<1xi64> : tensor<10xf32>, tensor<1xi64>, tensor<1xi64> -> tensor<4xf32>
  %rs = arith.constant dense<-1> : tensor<1xi64>
  %re = arith.constant dense<-100> : tensor<1xi64>
  %rst = arith.constant dense<-1> : tensor<1xi64>
  %1 = nn.slice %x, %rs, %re steps %rst : tensor<1xi64> : tensor<10xf32>, tensor<1xi64>, tensor<1xi64> -> tensor<10xf32>
  return %0, %1 : tensor<4xf32>, tensor<10xf32>
}

// -----

// Transpose, concat and split map to linalg.transpose / tensor ops.
// CHECK-LABEL: func @movement
// CHECK: linalg.transpose
// CHECK: tensor.concat dim(1)
// CHECK: tensor.extract_slice {{.*}}[0, 0] [3, 2] [1, 1]
// CHECK: tensor.extract_slice {{.*}}[0, 2] [3, 4] [1, 1]
func.func @movement(%x: tensor<2x3xf32>, %y: tensor<3x4xf32>) -> (tensor<3x2xf32>, tensor<3x4xf32>) {
  %t = nn.transpose %x {perm = array<i64: 1, 0>} : tensor<2x3xf32> -> tensor<3x2xf32>
  %c = nn.concat %t, %y {axis = 1 : i64} : (tensor<3x2xf32>, tensor<3x4xf32>) -> tensor<3x6xf32>
  %s:2 = nn.split %c {axis = 1 : i64, sizes = array<i64: 2, 4>} : tensor<3x6xf32> -> tensor<3x2xf32>, tensor<3x4xf32>
  return %s#0, %s#1 : tensor<3x2xf32>, tensor<3x4xf32>
}

// -----

// Pow by a constant 2 is a multiply (RMSNorm's x^2).
// CHECK-LABEL: func @square
// CHECK-NOT: math.powf
// CHECK: arith.mulf
func.func @square(%x: tensor<4xf32>) -> tensor<4xf32> {
  %two = arith.constant dense<2.0> : tensor<f32>
  %0 = nn.pow %x, %two : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Other small integer powers are multiplies too (right for negative bases,
// unlike powf's expansion through exp and log); x^-2 divides; x^0.5 is powf.
// CHECK-LABEL: func @integer_powers
// CHECK: arith.mulf
// CHECK: arith.mulf
// CHECK: arith.divf
// CHECK: math.powf
func.func @integer_powers(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %three = arith.constant dense<3.0> : tensor<f32>
  %m2 = arith.constant dense<-2.0> : tensor<f32>
  %half = arith.constant dense<0.5> : tensor<f32>
  %0 = nn.pow %x, %three : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  %1 = nn.pow %x, %m2 : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  %2 = nn.pow %x, %half : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  return %0, %1, %2 : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}

// -----

// Causal mask pieces: Trilu compares loop indices against k.
// CHECK-LABEL: func @trilu
// CHECK: %[[I:.*]] = linalg.index 0
// CHECK: %[[J:.*]] = linalg.index 1
// CHECK: %[[D:.*]] = arith.subi %[[J]], %[[I]]
// CHECK: arith.cmpi sle, %[[D]]
// CHECK: arith.select
func.func @trilu(%x: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %0 = nn.trilu %x {upper = false} : tensor<4x4xf32> -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

// QCFS in the order of its exported chain: x/θ, clamp to [0, 1], ·L + 0.5,
// floor, · θ/L; θ per neuron broadcasts along the last dimension.
// CHECK-LABEL: func @qcfs
// CHECK: linalg.generic
// CHECK: ^bb0(%[[X:.*]]: f32, %[[T:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[H:.*]] = arith.divf %[[X]], %[[T]]
// CHECK: arith.maximumf %[[H]]
// CHECK: arith.minimumf
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: %[[F:.*]] = math.floor
// CHECK: %[[S:.*]] = arith.divf %[[T]]
// CHECK: arith.mulf %[[F]], %[[S]]
func.func @qcfs(%x: tensor<?x3xf32>, %t: tensor<3xf32>) -> tensor<?x3xf32> {
  %0 = nn.qcfs %x, threshold %t levels 8 : tensor<?x3xf32>, tensor<3xf32>
  return %0 : tensor<?x3xf32>
}
