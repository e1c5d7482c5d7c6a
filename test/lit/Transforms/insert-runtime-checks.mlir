// RUN: sinter-opt %s -split-input-file -sinter-insert-runtime-checks | FileCheck %s

// A data-dependent Gather gets a range check; the status is an extra i32
// result and the messages name the node.
// CHECK-LABEL: func @main_graph
// CHECK-SAME: -> (tensor<?x4xf32> {sinter.name = "y"}, tensor<i32> {sinter.status})
// CHECK-SAME: sinter.check_names = ["node 'emb' (Gather): index out of range"]
// CHECK: nn.less
// CHECK: nn.greater
// CHECK: nn.or
// CHECK: nn.reduce_max
// CHECK: nn.gather
// CHECK: return %{{.*}}, %{{.*}} : tensor<?x4xf32>, tensor<i32>
func.func @main_graph(%ids: tensor<?xi64>) -> (tensor<?x4xf32> {sinter.name = "y"}) {
  %table = arith.constant dense<1.0> : tensor<10x4xf32>
  %0 = nn.gather %table, %ids : tensor<10x4xf32>, tensor<?xi64> -> tensor<?x4xf32> loc("node 'emb' (Gather)")
  return %0 : tensor<?x4xf32>
}

// -----

// So does an embedding quantized by --compress=gse (gse.gather): the
// table's 10 rows are a constant.
// CHECK-LABEL: func @main_graph
// CHECK-SAME: sinter.check_names = ["node 'wte' (Gather): index out of range"]
// CHECK: arith.constant dense<10> : tensor<1xi64>
// CHECK: nn.less
// CHECK: nn.greater
// CHECK: gse.gather
func.func @main_graph(%ids: tensor<?xi64>) -> (tensor<?x4xf32> {sinter.name = "y"}) {
  %t = gse.constant dense<1> : tensor<10x4xi8>, dense<0> : tensor<10x1xi8> : !gse.tensor<10x4, #gse.format<group = 32, mantissa = 8, exponent = 5>>
  %0 = gse.gather %t, %ids : !gse.tensor<10x4, #gse.format<group = 32, mantissa = 8, exponent = 5>>, tensor<?xi64> -> tensor<?x4xf32> loc("node 'wte' (Gather)")
  return %0 : tensor<?x4xf32>
}

// -----

// Two symbolic dims paired by broadcasting must agree at run time; the
// static ones need no check.
// CHECK-LABEL: func @main_graph
// CHECK: sinter.check_names = ["node 'add' (Add): broadcast dimensions differ at run time"]
// CHECK: nn.shape %arg0 {end = 1 : i64}
// CHECK: nn.shape %arg1 {end = 1 : i64}
// CHECK: nn.equal
// CHECK: nn.not
func.func @main_graph(%a: tensor<?x4xf32>, %b: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %0 = nn.add %a, %b : tensor<?x4xf32>, tensor<?x4xf32> -> tensor<?x4xf32> loc("node 'add' (Add)")
  return %0 : tensor<?x4xf32>
}

// -----

// Fully static: nothing to check, the signature is unchanged.
// CHECK-LABEL: func @main_graph
// CHECK-SAME: -> tensor<2x4xf32>
// CHECK-NOT: sinter.status
func.func @main_graph(%a: tensor<2x4xf32>, %b: tensor<4xf32>) -> tensor<2x4xf32> {
  %0 = nn.add %a, %b : tensor<2x4xf32>, tensor<4xf32> -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}
