// RUN: sinter-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(sinter-fold-addends-into-contraction))' | FileCheck %s

#id = affine_map<(i, j) -> (i, j)>
#row = affine_map<(i, j) -> (j)>

// Bias and residual: the product starts from bias + residual, and the
// elementwise op that added them is gone.
// CHECK-LABEL: func @bias_and_residual
// CHECK-SAME: (%[[A:.*]]: tensor<4x8xf32>, %[[W:.*]]: tensor<8x16xf32>, %[[B:.*]]: tensor<16xf32>, %[[R:.*]]: tensor<4x16xf32>)
// CHECK: %[[E:.*]] = tensor.empty() : tensor<4x16xf32>
// CHECK: %[[INIT:.*]] = linalg.generic {{.*}} ins(%[[B]], %[[R]] : tensor<16xf32>, tensor<4x16xf32>) outs(%[[E]] : tensor<4x16xf32>)
// CHECK-NEXT: ^bb0(%[[BI:.*]]: f32, %[[RI:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: %[[S:.*]] = arith.addf %[[BI]], %[[RI]] : f32
// CHECK-NEXT: linalg.yield %[[S]]
// CHECK: %[[MM:.*]] = linalg.matmul ins(%[[A]], %[[W]] : tensor<4x8xf32>, tensor<8x16xf32>) outs(%[[INIT]] : tensor<4x16xf32>)
// CHECK-NEXT: return %[[MM]]
func.func @bias_and_residual(%a: tensor<4x8xf32>, %w: tensor<8x16xf32>, %b: tensor<16xf32>, %r: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x16xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  %c = linalg.matmul ins(%a, %w : tensor<4x8xf32>, tensor<8x16xf32>) outs(%f : tensor<4x16xf32>) -> tensor<4x16xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c, %b, %r : tensor<4x16xf32>, tensor<16xf32>, tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) {
  ^bb0(%ci: f32, %bi: f32, %ri: f32, %o: f32):
    %s = arith.addf %bi, %ri : f32
    %t = arith.addf %ci, %s : f32
    linalg.yield %t : f32
  } -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

#id = affine_map<(i, j) -> (i, j)>
#row = affine_map<(i, j) -> (j)>

// An activation of the biased product: the product starts from the bias,
// the activation stays and reads the product.
// CHECK-LABEL: func @bias_then_activation
// CHECK: %[[INIT:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<16xf32>)
// CHECK: %[[MM:.*]] = linalg.matmul {{.*}} outs(%[[INIT]] : tensor<4x16xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[MM]], %{{.*}} : tensor<4x16xf32>, tensor<16xf32>)
// CHECK-NEXT: ^bb0(%[[C:.*]]: f32, %{{.*}}: f32, %{{.*}}: f32):
// CHECK-NEXT: %[[M:.*]] = arith.mulf %[[C]], %[[C]] : f32
// CHECK-NEXT: linalg.yield %[[M]]
func.func @bias_then_activation(%a: tensor<4x8xf32>, %w: tensor<8x16xf32>, %b: tensor<16xf32>) -> tensor<4x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x16xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  %c = linalg.matmul ins(%a, %w : tensor<4x8xf32>, tensor<8x16xf32>) outs(%f : tensor<4x16xf32>) -> tensor<4x16xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c, %b : tensor<4x16xf32>, tensor<16xf32>) outs(%e : tensor<4x16xf32>) {
  ^bb0(%ci: f32, %bi: f32, %o: f32):
    %t = arith.addf %ci, %bi : f32
    %sq = arith.mulf %t, %t : f32
    linalg.yield %sq : f32
  } -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

#id = affine_map<(i, j) -> (i, j)>

// Left alone: the product also feeds something else, the addend is made
// after the product, and a product not started from zero.
// CHECK-LABEL: func @left_alone
// CHECK-COUNT-3: linalg.fill
// CHECK-NOT: linalg.fill
func.func @left_alone(%a: tensor<4x8xf32>, %w: tensor<8x16xf32>, %r: tensor<4x16xf32>) -> (tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>) {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %e = tensor.empty() : tensor<4x16xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  %c = linalg.matmul ins(%a, %w : tensor<4x8xf32>, tensor<8x16xf32>) outs(%f : tensor<4x16xf32>) -> tensor<4x16xf32>
  %y = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c, %r : tensor<4x16xf32>, tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) {
  ^bb0(%ci: f32, %ri: f32, %o: f32):
    %t = arith.addf %ci, %ri : f32
    linalg.yield %t : f32
  } -> tensor<4x16xf32>
  %f2 = linalg.fill ins(%zero : f32) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  %c2 = linalg.matmul ins(%a, %w : tensor<4x8xf32>, tensor<8x16xf32>) outs(%f2 : tensor<4x16xf32>) -> tensor<4x16xf32>
  %late = linalg.matmul ins(%a, %w : tensor<4x8xf32>, tensor<8x16xf32>) outs(%r : tensor<4x16xf32>) -> tensor<4x16xf32>
  %y2 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c2, %late : tensor<4x16xf32>, tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) {
  ^bb0(%ci: f32, %li: f32, %o: f32):
    %t = arith.addf %ci, %li : f32
    linalg.yield %t : f32
  } -> tensor<4x16xf32>
  %f3 = linalg.fill ins(%one : f32) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  %c3 = linalg.matmul ins(%a, %w : tensor<4x8xf32>, tensor<8x16xf32>) outs(%f3 : tensor<4x16xf32>) -> tensor<4x16xf32>
  %y3 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c3, %r : tensor<4x16xf32>, tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) {
  ^bb0(%ci: f32, %ri: f32, %o: f32):
    %t = arith.addf %ci, %ri : f32
    linalg.yield %t : f32
  } -> tensor<4x16xf32>
  return %y, %c, %y2, %y3 : tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>
}

// -----

// One zero fill shared by two products (as CSE leaves it): each gets its
// own, so bufferization writes them in place instead of copying.
// CHECK-LABEL: func @shared_fill
// CHECK: %[[F1:.*]] = linalg.fill
// CHECK: %[[F2:.*]] = linalg.fill
// CHECK-DAG: linalg.matmul {{.*}} outs(%[[F1]] :
// CHECK-DAG: linalg.matmul {{.*}} outs(%[[F2]] :
func.func @shared_fill(%a: tensor<4x8xf32>, %w: tensor<8x16xf32>) -> (tensor<4x16xf32>, tensor<4x16xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x16xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  %c1 = linalg.matmul ins(%a, %w : tensor<4x8xf32>, tensor<8x16xf32>) outs(%f : tensor<4x16xf32>) -> tensor<4x16xf32>
  %c2 = linalg.matmul ins(%a, %w : tensor<4x8xf32>, tensor<8x16xf32>) outs(%f : tensor<4x16xf32>) -> tensor<4x16xf32>
  return %c1, %c2 : tensor<4x16xf32>, tensor<4x16xf32>
}
