// RUN: sinter-opt %s -split-input-file -sinter-add-lora-training="rank=2 alpha=4" -verify-diagnostics | FileCheck %s

// A one-linear language model: lora_forward adds x·A·B·(alpha/rank) to the
// product, before the bias; lora_train_step takes ids, targets, Adam's
// hyperparameters, then adapters, first and second moments, and returns
// the loss first.
// The LM head (the last linear) is not adapted by default. The report
// states the workspace: a 64-byte header, then A (12 floats, padded to 16)
// and B (16), three times over (adapters, two Adam moments).
// CHECK: {adapted_linears = 1 : i64, alpha = 4.000000e+00 : f64, method = "train-lora-model", moments = "f32", rank = 2 : i64, trainable_parameters = 28 : i64, workspace_bytes = 448 : i64}
// CHECK: sinter.lora = {adapters = ["lin"], alpha = 4.000000e+00 : f64
// CHECK-LABEL: func.func @main_graph
// CHECK-NOT: lora
// CHECK-LABEL: func.func @lora_forward
// CHECK-SAME: %{{.*}}: tensor<6x2xf32> {sinter.name = "lin.lora_A"}, %{{.*}}: tensor<2x8xf32> {sinter.name = "lin.lora_B"}
// CHECK-SAME: attributes {sinter.entry}
// CHECK-DAG: %[[S:.*]] = arith.constant dense<2.000000e+00> : tensor<f32>
// CHECK: %[[P:.*]] = nn.matmul %{{.*}}, %{{.*}} : tensor<?x?x6xf32>, tensor<6x8xf32>
// CHECK: %[[XA:.*]] = nn.matmul %{{.*}}, %arg1
// CHECK: %[[XAB:.*]] = nn.matmul %[[XA]], %arg2
// CHECK: %[[U:.*]] = nn.mul %[[XAB]], %[[S]]
// CHECK: %[[SUM:.*]] = nn.add %[[P]], %[[U]]
// CHECK: nn.add %[[SUM]], %{{.*}} : tensor<?x?x8xf32>, tensor<8xf32>
// CHECK-LABEL: func.func @lora_train_step
// CHECK-SAME: {sinter.dim_names = ["batch", "seq"], sinter.name = "targets"}
// CHECK-SAME: tensor<3xf32> {sinter.name = "adam_hyper"}
// CHECK-SAME: {sinter.name = "lin.lora_B.adam_v"}
// CHECK-SAME: -> (tensor<f32> {sinter.name = "loss"}, tensor<6x2xf32> {sinter.name = "lin.lora_A"}
// CHECK-SAME: attributes {sinter.entry}
// CHECK: nn.log_softmax
// CHECK: nn.equal
// CHECK: nn.sqrt
module {
  func.func @main_graph(%ids: tensor<?x?xi64> {sinter.name = "input_ids", sinter.dim_names = ["batch", "seq"]}) -> (tensor<?x?x8xf32> {sinter.name = "logits"}) {
    %emb = arith.constant dense<0.5> : tensor<8x6xf32>
    %w = arith.constant dense<0.25> : tensor<6x8xf32>
    %b = arith.constant dense<0.1> : tensor<8xf32>
    %x = nn.gather %emb, %ids : tensor<8x6xf32>, tensor<?x?xi64> -> tensor<?x?x6xf32>
    %y = nn.matmul %x, %w : tensor<?x?x6xf32>, tensor<6x8xf32> -> tensor<?x?x8xf32> loc("node 'lin' (MatMul)")
    %z = nn.add %y, %b : tensor<?x?x8xf32>, tensor<8xf32> -> tensor<?x?x8xf32>
    %w2 = arith.constant dense<0.5> : tensor<8x8xf32>
    %h = nn.matmul %z, %w2 : tensor<?x?x8xf32>, tensor<8x8xf32> -> tensor<?x?x8xf32>
    return %h : tensor<?x?x8xf32>
  }
}

// -----

// expected-error @+1 {{train-lora: the model must take token ids and return logits (one input, one output)}}
func.func @main_graph(%a: tensor<?x?xi64>, %b: tensor<?x?xi64>) -> tensor<?x?x8xf32> {
  %c = arith.constant dense<0.0> : tensor<1x1x8xf32>
  %d = tensor.cast %c : tensor<1x1x8xf32> to tensor<?x?x8xf32>
  return %d : tensor<?x?x8xf32>
}

// -----

// expected-error @+1 {{train-lora: no linear matches targets=all}}
func.func @main_graph(%ids: tensor<?x?xi64>) -> tensor<?x?x8xf32> {
  %emb = arith.constant dense<0.5> : tensor<8x8xf32>
  %x = nn.gather %emb, %ids : tensor<8x8xf32>, tensor<?x?xi64> -> tensor<?x?x8xf32>
  return %x : tensor<?x?x8xf32>
}
