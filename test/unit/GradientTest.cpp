// The nn ops' gradient rules, each checked numerically: a function is
// differentiated by sinter-differentiate, both it and its gradient are
// compiled for this machine, and the gradient is compared with central
// finite differences of the compiled function.
#include "sinter/Dialect/NN/NNDialect.h"
#include "sinter/Target/HostLibrary.h"
#include "sinter/Training/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace mlir;

namespace {

struct Array {
  std::vector<float> data;
  std::vector<int64_t> shape;
};

class GradientCheck {
public:
  GradientCheck() {
    DialectRegistry registry;
    registerAllDialects(registry);
    registerAllExtensions(registry);
    registerAllToLLVMIRTranslations(registry);
    registry.insert<sinter::nn::NNDialect>();
    ctx = std::make_unique<MLIRContext>(registry);
    ctx->loadAllAvailableDialects();
  }

  /// `source` defines @main_graph; returns its forward and gradient models.
  void build(const std::string &source) {
    std::string error;
    auto forwardModule = parseSourceString<ModuleOp>(source, ctx.get());
    ASSERT_TRUE(forwardModule);
    auto gradModule = forwardModule->clone();
    PassManager pm(ctx.get());
    pm.addPass(sinter::createDifferentiate(sinter::DifferentiateOptions{"main_graph", "grad"}));
    ASSERT_TRUE(succeeded(pm.run(gradModule)));
    gradModule.lookupSymbol<func::FuncOp>("main_graph").erase();
    gradModule.lookupSymbol<func::FuncOp>("grad").setSymName("main_graph");
    forward = sinter::LoadedModel::build(forwardModule.release(), "forward", error);
    ASSERT_TRUE(forward) << error;
    gradient = sinter::LoadedModel::build(gradModule, "gradient", error);
    ASSERT_TRUE(gradient) << error;
  }

  static sinter_tensor tensor(Array &a) {
    sinter_tensor t{};
    t.data = a.data.data();
    t.dtype = SINTER_FLOAT32;
    t.rank = a.shape.size();
    for (size_t i = 0; i < a.shape.size(); ++i)
      t.shape[i] = a.shape[i];
    t.capacity = a.data.size() * 4;
    return t;
  }

  /// Runs `m` on `inputs`, returning its outputs.
  static std::vector<Array> run(const sinter_model *m, std::vector<Array> &inputs) {
    std::vector<sinter_tensor> in, out(m->num_outputs);
    for (Array &a : inputs)
      in.push_back(tensor(a));
    sinter_error err;
    EXPECT_EQ(m->run(in.data(), in.size(), out.data(), out.size(), &err), 0) << err.message;
    std::vector<Array> results;
    for (sinter_tensor &t : out) {
      Array a;
      size_t n = 1;
      for (int32_t d = 0; d < t.rank; ++d) {
        a.shape.push_back(t.shape[d]);
        n *= t.shape[d];
      }
      a.data.assign((float *)t.data, (float *)t.data + n);
      m->free_output(t.data);
      results.push_back(a);
    }
    return results;
  }

  /// Σ seed ⊙ f(inputs), the scalar whose gradient is checked.
  double loss(std::vector<Array> inputs, const std::vector<Array> &seeds) {
    auto outs = run(forward->model(), inputs);
    double s = 0;
    for (size_t r = 0; r < outs.size(); ++r)
      for (size_t i = 0; i < outs[r].data.size(); ++i)
        s += (double)outs[r].data[i] * seeds[r].data[i];
    return s;
  }

  /// Compares the compiled gradient with central differences at `inputs`.
  void check(std::vector<Array> inputs, double tolerance = 2e-2, float h = 1e-2f) {
    std::mt19937 rng(7);
    std::normal_distribution<float> normal;
    auto outs = run(forward->model(), inputs);
    std::vector<Array> seeds = outs;
    for (Array &s : seeds)
      for (float &v : s.data)
        v = normal(rng);
    std::vector<Array> gradInputs = inputs;
    gradInputs.insert(gradInputs.end(), seeds.begin(), seeds.end());
    auto grads = run(gradient->model(), gradInputs);
    ASSERT_EQ(grads.size(), inputs.size());
    for (size_t k = 0; k < inputs.size(); ++k) {
      double scale = 1e-3;
      std::vector<double> numeric(inputs[k].data.size());
      for (size_t i = 0; i < numeric.size(); ++i) {
        std::vector<Array> plus = inputs, minus = inputs;
        plus[k].data[i] += h;
        minus[k].data[i] -= h;
        numeric[i] = (loss(plus, seeds) - loss(minus, seeds)) / (2 * h);
        scale = std::max(scale, std::fabs(numeric[i]));
      }
      for (size_t i = 0; i < numeric.size(); ++i)
        EXPECT_NEAR(grads[k].data[i], numeric[i], tolerance * scale) << "input " << k << " element " << i;
    }
  }

  std::unique_ptr<MLIRContext> ctx;
  std::unique_ptr<sinter::LoadedModel> forward, gradient;
};

Array random(std::vector<int64_t> shape, unsigned seed, float lo = -1, float hi = 1) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  Array a{{}, shape};
  size_t n = 1;
  for (int64_t d : shape)
    n *= d;
  for (size_t i = 0; i < n; ++i)
    a.data.push_back(u(rng));
  return a;
}

TEST(Gradients, SharedMatrixOverDynamicRows) {
  GradientCheck g;
  g.build(R"(
func.func @main_graph(%x: tensor<?x?x3xf32>, %w: tensor<3x4xf32>) -> tensor<?x?x4xf32> {
  %0 = nn.matmul %x, %w : tensor<?x?x3xf32>, tensor<3x4xf32> -> tensor<?x?x4xf32>
  return %0 : tensor<?x?x4xf32>
})");
  g.check({random({2, 3, 3}, 1), random({3, 4}, 2)});
}

TEST(Gradients, LayerNormWithScaleAndBias) {
  GradientCheck g;
  g.build(R"(
func.func @main_graph(%x: tensor<?x?x6xf32>, %s: tensor<6xf32>, %b: tensor<6xf32>) -> tensor<?x?x6xf32> {
  %0 = nn.layer_norm %x, %s, %b : tensor<?x?x6xf32>, tensor<6xf32>, tensor<6xf32> -> tensor<?x?x6xf32>
  return %0 : tensor<?x?x6xf32>
})");
  g.check({random({2, 2, 6}, 3), random({6}, 4, 0.5, 1.5), random({6}, 5)});
}

TEST(Gradients, MaskedSoftmaxAttention) {
  // Scores, a causal mask through nn.where, softmax and the value product:
  // batched matmuls on both sides.
  GradientCheck g;
  g.build(R"(
func.func @main_graph(%q: tensor<?x2x3x4xf32>, %k: tensor<?x2x4x3xf32>, %v: tensor<?x2x3x4xf32>) -> tensor<?x2x3x4xf32> {
  %s = nn.matmul %q, %k : tensor<?x2x3x4xf32>, tensor<?x2x4x3xf32> -> tensor<?x2x3x3xf32>
  %c = arith.constant dense<0.5> : tensor<f32>
  %t = nn.mul %s, %c : tensor<?x2x3x3xf32>, tensor<f32> -> tensor<?x2x3x3xf32>
  %mask = arith.constant dense<[[false, true, true], [false, false, true], [false, false, false]]> : tensor<3x3xi1>
  %ninf = arith.constant dense<-1.0e9> : tensor<f32>
  %m = nn.where %mask, %ninf, %t : tensor<3x3xi1>, tensor<f32>, tensor<?x2x3x3xf32> -> tensor<?x2x3x3xf32>
  %p = nn.softmax %m : tensor<?x2x3x3xf32> -> tensor<?x2x3x3xf32>
  %o = nn.matmul %p, %v : tensor<?x2x3x3xf32>, tensor<?x2x3x4xf32> -> tensor<?x2x3x4xf32>
  return %o : tensor<?x2x3x4xf32>
})");
  g.check({random({1, 2, 3, 4}, 6), random({1, 2, 4, 3}, 7), random({1, 2, 3, 4}, 8)});
}

TEST(Gradients, SplitReshapeTranspose) {
  GradientCheck g;
  g.build(R"(
func.func @main_graph(%x: tensor<?x3x12xf32>) -> (tensor<?x2x3x2xf32>, tensor<?x3x4xf32>) {
  %p:3 = nn.split %x {axis = 2 : i64, sizes = array<i64: 4, 4, 4>} : tensor<?x3x12xf32> -> tensor<?x3x4xf32>, tensor<?x3x4xf32>, tensor<?x3x4xf32>
  %shape = arith.constant dense<[-1, 3, 2, 2]> : tensor<4xi64>
  %r = nn.reshape %p#0, %shape : tensor<?x3x4xf32>, tensor<4xi64> -> tensor<?x3x2x2xf32>
  %t = nn.transpose %r {perm = array<i64: 0, 2, 1, 3>} : tensor<?x3x2x2xf32> -> tensor<?x2x3x2xf32>
  return %t, %p#2 : tensor<?x2x3x2xf32>, tensor<?x3x4xf32>
})");
  g.check({random({2, 3, 12}, 9)});
}

TEST(Gradients, ErfGeluChainAndBroadcastArithmetic) {
  // The GELU as exporters write it, then GELU itself, on a broadcast bias.
  GradientCheck g;
  g.build(R"(
func.func @main_graph(%x: tensor<?x5xf32>, %b: tensor<5xf32>) -> (tensor<?x5xf32>, tensor<?x5xf32>) {
  %0 = nn.add %x, %b : tensor<?x5xf32>, tensor<5xf32> -> tensor<?x5xf32>
  %r2 = arith.constant dense<1.41421354> : tensor<f32>
  %1 = nn.div %0, %r2 : tensor<?x5xf32>, tensor<f32> -> tensor<?x5xf32>
  %2 = nn.erf %1 : tensor<?x5xf32>
  %one = arith.constant dense<1.0> : tensor<f32>
  %3 = nn.add %2, %one : tensor<?x5xf32>, tensor<f32> -> tensor<?x5xf32>
  %4 = nn.mul %0, %3 : tensor<?x5xf32>, tensor<?x5xf32> -> tensor<?x5xf32>
  %5 = nn.gelu %0 : tensor<?x5xf32>
  %6 = nn.div %5, %b : tensor<?x5xf32>, tensor<5xf32> -> tensor<?x5xf32>
  return %4, %6 : tensor<?x5xf32>, tensor<?x5xf32>
})");
  g.check({random({3, 5}, 10), random({5}, 11, 0.5, 1.5)});
}

TEST(Gradients, RotaryHalvesSliceNegConcat) {
  // Llama's rotate-half: slices with a run-time end and a negative start,
  // and a concat whose sizes along the axis are symbolic.
  GradientCheck g;
  g.build(R"(
func.func @main_graph(%x: tensor<?x6xf32>) -> tensor<?x?xf32> {
  %zero = arith.constant dense<0> : tensor<1xi64>
  %minus3 = arith.constant dense<-3> : tensor<1xi64>
  %big = arith.constant dense<9223372036854775807> : tensor<1xi64>
  %axis = arith.constant dense<1> : tensor<1xi64>
  %n = nn.shape %x {start = 1 : i64, end = 2 : i64} : tensor<?x6xf32> -> tensor<1xi64>
  %two = arith.constant dense<2> : tensor<1xi64>
  %half = nn.div %n, %two : tensor<1xi64>, tensor<1xi64> -> tensor<1xi64>
  %lo = nn.slice %x, %zero, %half axes %axis : tensor<1xi64> : tensor<?x6xf32>, tensor<1xi64>, tensor<1xi64> -> tensor<?x?xf32>
  %hi = nn.slice %x, %minus3, %big axes %axis : tensor<1xi64> : tensor<?x6xf32>, tensor<1xi64>, tensor<1xi64> -> tensor<?x?xf32>
  %nh = nn.neg %hi : tensor<?x?xf32>
  %r = nn.concat %nh, %lo {axis = -1 : i64} : (tensor<?x?xf32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  %c = arith.constant dense<[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]]> : tensor<1x6xf32>
  %y = nn.mul %r, %c : tensor<?x?xf32>, tensor<1x6xf32> -> tensor<?x?xf32>
  return %y : tensor<?x?xf32>
})");
  g.check({random({2, 6}, 12)});
}

} // namespace

Array values(std::vector<int64_t> shape, std::vector<float> data) { return Array{std::move(data), std::move(shape)}; }

TEST(Gradients, PiecewiseActivations) {
  // abs, leaky_relu, hard_sigmoid, clip (its bounds as tensors, with their
  // own gradients), floor and the tanh GELU, at points a finite step does
  // not carry across a kink.
  GradientCheck g;
  g.build(R"(
func.func @main_graph(%x: tensor<?x4xf32>, %lo: tensor<f32>, %hi: tensor<f32>) -> (tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>) {
  %a = nn.abs %x : tensor<?x4xf32>
  %l = nn.leaky_relu %x {alpha = 0.1 : f32} : tensor<?x4xf32>
  %h = nn.hard_sigmoid %x {alpha = 0.5 : f32, beta = 0.25 : f32} : tensor<?x4xf32>
  %s0 = nn.add %a, %l : tensor<?x4xf32>, tensor<?x4xf32> -> tensor<?x4xf32>
  %s = nn.add %s0, %h : tensor<?x4xf32>, tensor<?x4xf32> -> tensor<?x4xf32>
  %c = nn.clip %x min %lo : tensor<f32> max %hi : tensor<f32> : tensor<?x4xf32> -> tensor<?x4xf32>
  %f = nn.floor %x : tensor<?x4xf32>
  %cf = nn.add %c, %f : tensor<?x4xf32>, tensor<?x4xf32> -> tensor<?x4xf32>
  %t = nn.gelu %x {approximate = "tanh"} : tensor<?x4xf32>
  return %s, %cf, %t : tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>
})");
  g.check({values({2, 4}, {-1.7f, -0.6f, -0.3f, 0.4f, 0.8f, 1.3f, 2.2f, -2.9f}), values({}, {-0.45f}),
           values({}, {1.05f})});
}

TEST(Gradients, GemmTransposedScaledWithBias) {
  GradientCheck g;
  g.build(R"(
func.func @main_graph(%a: tensor<3x2xf32>, %b: tensor<4x3xf32>, %c: tensor<4xf32>) -> tensor<2x4xf32> {
  %0 = nn.gemm %a, %b, %c {alpha = 0.5 : f32, beta = 2.0 : f32, transA = true, transB = true} : tensor<3x2xf32>, tensor<4x3xf32>, tensor<4xf32> -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
})");
  g.check({random({3, 2}, 12), random({4, 3}, 13), random({4}, 14)});
}

TEST(Gradients, ReduceMaxStabilizedSoftmaxWithTies) {
  // Softmax as some exporters write it, exp(x − max x) / Σ, and a max
  // itself: its gradient goes to the maximum.
  GradientCheck g;
  g.build(R"(
func.func @main_graph(%x: tensor<?x4xf32>) -> (tensor<?x4xf32>, tensor<?xf32>) {
  %m = nn.reduce_max %x {axes = [1], keepdims = true} : tensor<?x4xf32> -> tensor<?x1xf32>
  %d = nn.sub %x, %m : tensor<?x4xf32>, tensor<?x1xf32> -> tensor<?x4xf32>
  %e = nn.exp %d : tensor<?x4xf32>
  %s = nn.reduce_sum %e {axes = [1], keepdims = true} : tensor<?x4xf32> -> tensor<?x1xf32>
  %p = nn.div %e, %s : tensor<?x4xf32>, tensor<?x1xf32> -> tensor<?x4xf32>
  %r = nn.reduce_max %x {axes = [1], keepdims = false} : tensor<?x4xf32> -> tensor<?xf32>
  return %p, %r : tensor<?x4xf32>, tensor<?xf32>
})");
  g.check({values({2, 4}, {0.3f, -1.2f, 0.9f, 0.1f, -0.4f, 0.7f, 0.2f, -0.9f})});
}

TEST(Gradients, ReduceMaxSplitsTiesEvenly) {
  // Where the maximum is tied (no finite difference there), the gradient
  // is shared evenly, as PyTorch's amax shares it.
  GradientCheck g;
  g.build(R"(
func.func @main_graph(%x: tensor<2x4xf32>) -> tensor<2xf32> {
  %r = nn.reduce_max %x {axes = [-1], keepdims = false} : tensor<2x4xf32> -> tensor<2xf32>
  return %r : tensor<2xf32>
})");
  std::vector<Array> in = {values({2, 4}, {1, 3, 3, 0, 2, 2, 2, -1}), values({2}, {1, 6})};
  auto grads = GradientCheck::run(g.gradient->model(), in);
  ASSERT_EQ(grads.size(), 1u);
  std::vector<float> want = {0, 0.5f, 0.5f, 0, 2, 2, 2, 0};
  EXPECT_EQ(grads[0].data, want);
}
