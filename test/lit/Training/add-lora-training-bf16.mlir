// RUN: sinter-opt %s -split-input-file -sinter-add-lora-training="rank=2 moments=bf16" -verify-diagnostics | FileCheck %s
// RUN: not sinter-opt %s -sinter-add-lora-training="moments=fp16" 2>&1 | FileCheck %s --check-prefix=BAD

// moments=bf16: the step takes and returns Adam's moments as bf16, widens
// them for the f32 update and rounds the new ones back; the adapters stay
// f32. The workspace: 64 bytes of header; A [6, 2] (48 bytes f32, 24
// bf16, each padded to 64) and B [2, 40] (320 bytes f32, 160 bf16 padded
// to 192): 64 + (64 + 2·64) + (320 + 2·192) = 960 (1216 with f32 moments).
// CHECK: method = "train-lora-model", moments = "bf16", rank = 2 : i64, trainable_parameters = 92 : i64, workspace_bytes = 960 : i64
// CHECK-LABEL: func.func @lora_train_step
// CHECK-SAME: %{{.*}}: tensor<6x2xf32> {sinter.name = "lin.lora_A"}, %{{.*}}: tensor<2x40xf32> {sinter.name = "lin.lora_B"}
// CHECK-SAME: %[[MA:.*]]: tensor<6x2xbf16> {sinter.name = "lin.lora_A.adam_m"}, %{{.*}}: tensor<2x40xbf16> {sinter.name = "lin.lora_B.adam_m"}
// CHECK-SAME: %{{.*}}: tensor<6x2xbf16> {sinter.name = "lin.lora_A.adam_v"}, %{{.*}}: tensor<2x40xbf16> {sinter.name = "lin.lora_B.adam_v"}
// CHECK-SAME: -> (tensor<f32> {sinter.name = "loss"}, tensor<6x2xf32> {sinter.name = "lin.lora_A"}, tensor<2x40xf32> {sinter.name = "lin.lora_B"}, tensor<6x2xbf16> {sinter.name = "lin.lora_A.adam_m"}
// CHECK: %[[M:.*]] = nn.cast %[[MA]] : tensor<6x2xbf16> -> tensor<6x2xf32>
// CHECK: %[[M1:.*]] = nn.add
// CHECK: nn.cast %[[M1]] : tensor<6x2xf32> -> tensor<6x2xbf16>
// BAD: error: train-lora: moments must be f32 or bf16, not 'fp16'
module {
  func.func @main_graph(%ids: tensor<?x?xi64> {sinter.name = "input_ids", sinter.dim_names = ["batch", "seq"]}) -> (tensor<?x?x40xf32> {sinter.name = "logits"}) {
    %emb = arith.constant dense<0.5> : tensor<8x6xf32>
    %w = arith.constant dense<0.25> : tensor<6x40xf32>
    %x = nn.gather %emb, %ids : tensor<8x6xf32>, tensor<?x?xi64> -> tensor<?x?x6xf32>
    %y = nn.matmul %x, %w : tensor<?x?x6xf32>, tensor<6x40xf32> -> tensor<?x?x40xf32> loc("node 'lin' (MatMul)")
    %w2 = arith.constant dense<0.5> : tensor<40x40xf32>
    %h = nn.matmul %y, %w2 : tensor<?x?x40xf32>, tensor<40x40xf32> -> tensor<?x?x40xf32>
    return %h : tensor<?x?x40xf32>
  }
}
