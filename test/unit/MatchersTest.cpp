// The SDK's matchers: findLinears (sinter/Compression/Linears.h) on a
// small decoder-shaped function — which products of constant weights are
// linears, which have a bias, which one is the head — and findAttention
// (Attention.h) and findLinears on the reference models as imported.
#include "sinter/Compression/Attention.h"
#include "sinter/Compression/FFNBlocks.h"
#include "sinter/Compression/Linears.h"
#include "sinter/Frontend/ONNXImporter.h"
#include "sinter/Dialect/NN/NNDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

namespace {

// x → up (+ bias) → gelu → down → + x (residual) → head, plus a product of
// two activations, which is not a linear.
constexpr const char *kDecoder = R"mlir(
func.func @decoder(%x: tensor<2x4xf32>) -> (tensor<2x6xf32>, tensor<2x2xf32>) {
  %wu = arith.constant dense<1.0> : tensor<4x8xf32>
  %bu = arith.constant dense<0.5> : tensor<8xf32>
  %wd = arith.constant dense<2.0> : tensor<8x4xf32>
  %wh = arith.constant dense<3.0> : tensor<4x6xf32>
  %0 = nn.matmul %x, %wu : tensor<2x4xf32>, tensor<4x8xf32> -> tensor<2x8xf32> loc("node 'fc' (MatMul)")
  %1 = nn.add %0, %bu : tensor<2x8xf32>, tensor<8xf32> -> tensor<2x8xf32>
  %2 = nn.gelu %1 : tensor<2x8xf32>
  %3 = nn.matmul %2, %wd : tensor<2x8xf32>, tensor<8x4xf32> -> tensor<2x4xf32>
  %4 = nn.add %3, %x : tensor<2x4xf32>, tensor<2x4xf32> -> tensor<2x4xf32>
  %5 = nn.matmul %4, %wh : tensor<2x4xf32>, tensor<4x6xf32> -> tensor<2x6xf32> loc("lm_head")
  %t = nn.transpose %x {perm = array<i64: 1, 0>} : tensor<2x4xf32> -> tensor<4x2xf32>
  %6 = nn.matmul %x, %t : tensor<2x4xf32>, tensor<4x2xf32> -> tensor<2x2xf32>
  return %5, %6 : tensor<2x6xf32>, tensor<2x2xf32>
}
)mlir";

TEST(Linears, FindsLinearsTheirBiasesAndTheHead) {
  mlir::MLIRContext ctx;
  ctx.loadDialect<sinter::nn::NNDialect, mlir::arith::ArithDialect, mlir::func::FuncDialect>();
  auto module = mlir::parseSourceString<mlir::ModuleOp>(kDecoder, &ctx);
  ASSERT_TRUE(module);
  auto func = *module->getOps<mlir::func::FuncOp>().begin();
  auto linears = sinter::findLinears(func);
  ASSERT_EQ(linears.size(), 3u);

  EXPECT_EQ(linears[0].name, "fc");
  EXPECT_TRUE(linears[0].biasAdd);
  EXPECT_TRUE(linears[0].bias);
  EXPECT_EQ(linears[0].output, linears[0].biasAdd->getResult(0));
  EXPECT_EQ(linears[0].dIn, 4);
  EXPECT_EQ(linears[0].dOut, 8);
  EXPECT_FALSE(linears[0].head);

  // The residual add is not a bias: its other operand is not a constant.
  EXPECT_EQ(linears[1].name, "linear1");
  EXPECT_FALSE(linears[1].biasAdd);
  EXPECT_EQ(linears[1].output, linears[1].matmul->getResult(0));
  EXPECT_FALSE(linears[1].head) << "the down projection reaches the result only through the head";

  EXPECT_EQ(linears[2].name, "lm_head");
  EXPECT_TRUE(linears[2].head);
  EXPECT_EQ(linears[2].input, (*linears[1].output.getUsers().begin())->getResult(0)); // the residual sum
}

/// The reference model `name` imported, with its linears and attention.
struct Imported {
  mlir::MLIRContext ctx;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  llvm::SmallVector<sinter::Linear> linears;
  llvm::SmallVector<sinter::Attention> attention;

  explicit Imported(const std::string &name) {
    module = sinter::importONNXFile(ctx, std::string(SINTER_MODELS_DIR) + "/" + name + "/model.onnx");
    if (!module)
      return;
    auto func = *module->getOps<mlir::func::FuncOp>().begin();
    linears = sinter::findLinears(func);
    attention = sinter::findAttention(func);
  }

  bool isLinear(mlir::Operation *op) const {
    return llvm::any_of(linears, [&](const sinter::Linear &l) { return l.matmul == op; });
  }
};

TEST(Attention, FusedQKVOfTheGPT) {
  // kjv-gpt: 4 blocks, Q, K and V split from one c_attn projection.
  Imported gpt("kjv-gpt");
  ASSERT_TRUE(gpt.module);
  ASSERT_EQ(gpt.attention.size(), 4u);
  for (const sinter::Attention &a : gpt.attention) {
    ASSERT_TRUE(a.query) << a.name;
    EXPECT_EQ(a.query, a.key) << a.name;
    EXPECT_EQ(a.query, a.value) << a.name;
    EXPECT_TRUE(gpt.isLinear(a.query)) << a.name;
    ASSERT_TRUE(a.output) << a.name;
    EXPECT_TRUE(gpt.isLinear(a.output)) << a.name;
    EXPECT_NE(a.output, a.query) << a.name;
  }
  // Per block: the fused projection, the output projection, the FFN's two;
  // then the head.
  EXPECT_EQ(gpt.linears.size(), 4u * 4 + 1);
  EXPECT_EQ(llvm::count_if(gpt.linears, [](const sinter::Linear &l) { return l.head; }), 1);
  EXPECT_TRUE(gpt.linears.back().head);
}

TEST(Attention, SeparateProjections) {
  // kjv-opt: Q, K and V from their own projections, with biases; kjv-llama:
  // the same without biases, and Q and K pass rotary embeddings (slices,
  // negation, products with the cos/sin tables) on the way.
  for (const char *name : {"kjv-opt", "kjv-llama"}) {
    Imported model(name);
    ASSERT_TRUE(model.module) << name;
    ASSERT_EQ(model.attention.size(), 4u) << name;
    for (const sinter::Attention &a : model.attention) {
      ASSERT_TRUE(a.query && a.key && a.value && a.output) << name << " " << a.name;
      EXPECT_NE(a.query, a.key) << name << " " << a.name;
      EXPECT_NE(a.key, a.value) << name << " " << a.name;
      for (mlir::Operation *op : {a.query, a.key, a.value, a.output})
        EXPECT_TRUE(model.isLinear(op)) << name << " " << a.name;
    }
  }
}

} // namespace
