// sinter-prune-2of4 (Passes.td): 2:4 structured sparsity for the FFN
// projections, as a pass plugin built against the installed Sinter SDK.
// It uses the SDK's FFN matcher, calibration profile, weight helpers and
// compile report, and registers itself as a --compress method.
#include "sinter/Compression/FFNBlocks.h"
#include "sinter/Compression/Linears.h"
#include "sinter/Compression/Methods.h"
#include "sinter/Compression/Passes.h"
#include "sinter/Support/ConstantData.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Tools/Plugins/PassPlugin.h"
#include "llvm/Config/llvm-config.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace prune2of4 {
#define GEN_PASS_DECL_PRUNE2OF4
#define GEN_PASS_DEF_PRUNE2OF4
#define GEN_PASS_REGISTRATION
#include "Passes.h.inc"
} // namespace prune2of4

using namespace mlir;

namespace {

/// In each group of four consecutive rows of each column of w [rows][cols],
/// zeroes the two with the smallest |w|·norm[row] (norm empty: |w|); on a
/// tie the later row goes. Returns how many nonzero weights it zeroed.
int64_t pruneTwoOfFour(std::vector<float> &w, int64_t rows, int64_t cols, llvm::ArrayRef<float> norm) {
  int64_t zeroed = 0;
  auto score = [&](int64_t r, int64_t c) { return std::abs(w[r * cols + c]) * (norm.empty() ? 1.0f : norm[r]); };
  for (int64_t g = 0; g + 4 <= rows; g += 4)
    for (int64_t c = 0; c < cols; ++c) {
      std::array<int64_t, 4> order = {g, g + 1, g + 2, g + 3};
      std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
        return score(a, c) != score(b, c) ? score(a, c) < score(b, c) : a > b;
      });
      for (int k = 0; k < 2; ++k) {
        float &v = w[order[k] * cols + c];
        zeroed += v != 0.0f;
        v = 0.0f;
      }
    }
  return zeroed;
}

/// ‖x_i‖ over the FFN input rows the profile keeps, or nothing when it
/// keeps none for this layer.
std::vector<float> inputNorms(const sinter::LayerProfile *layer, int64_t width) {
  if (!layer || layer->inputWidth != width || layer->inputRows() == 0)
    return {};
  std::vector<float> norm(width, 0.0f);
  for (int64_t r = 0; r < layer->inputRows(); ++r)
    for (int64_t i = 0; i < width; ++i)
      norm[i] += layer->inputs[r * width + i] * layer->inputs[r * width + i];
  for (float &n : norm)
    n = std::sqrt(n);
  return norm;
}

struct Prune2of4Pass : prune2of4::impl::Prune2of4Base<Prune2of4Pass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (score != "wanda" && score != "magnitude") {
      module.emitError() << "sinter-prune-2of4: score must be wanda or magnitude, not '" << score << "'";
      return signalPassFailure();
    }
    if (targets != "ffn" && targets != "linears") {
      module.emitError() << "sinter-prune-2of4: targets must be ffn or linears, not '" << targets << "'";
      return signalPassFailure();
    }
    std::string error;
    auto calibration = sinter::prepareFFNRewrite(module, profile, error);
    if (!calibration) {
      module.emitError() << "sinter-prune-2of4: " << error;
      return signalPassFailure();
    }
    SmallVector<Attribute> report;
    for (auto func : module.getOps<func::FuncOp>()) {
      if (targets == "linears") {
        for (sinter::Linear &linear : sinter::findLinears(func))
          if (!linear.head)
            report.push_back(pruneLinear(linear, score == "wanda" ? calibration->find(linear.name) : nullptr));
        continue;
      }
      for (sinter::FFNBlock &block : sinter::findFFNBlocks(func)) {
        auto entry = pruneBlock(block, score == "wanda" ? calibration->find(block.name) : nullptr);
        if (!entry) {
          block.upMatmul->emitError() << "sinter-prune-2of4: cannot read the weights of FFN '" << block.name << "'";
          return signalPassFailure();
        }
        report.push_back(entry);
      }
    }
    if (llvm::is_contained(report, Attribute())) {
      module.emitError() << "sinter-prune-2of4: cannot read the weights of a linear";
      return signalPassFailure();
    }
    sinter::appendCompressionReport(module, report);
  }

  /// Prunes the block's projections, Wanda-scored from `layer`'s statistics
  /// where given; its report entry, or null if a weight could not be read
  /// (the block is then left as it was).
  DictionaryAttr pruneBlock(sinter::FFNBlock &block, const sinter::LayerProfile *layer) {
    std::vector<float> xNorm = inputNorms(layer, block.dIn), hNorm;
    if (layer && (int64_t)layer->magnitude.size() == block.hidden)
      hNorm = layer->magnitude;
    struct Projection {
      Operation *matmul;
      ElementsAttr weight;
      int64_t rows, cols;
      llvm::ArrayRef<float> norm;
      const char *suffix;
      std::vector<float> values;
    };
    SmallVector<Projection> projections = {{block.upMatmul, block.wu, block.dIn, block.hidden, xNorm, ".up_2of4", {}},
                                           {block.downMatmul, block.wd, block.hidden, block.dOut, hNorm, ".down_2of4", {}}};
    if (block.gated())
      projections.push_back({block.gateMatmul, block.wg, block.dIn, block.hidden, xNorm, ".gate_2of4", {}});
    for (Projection &p : projections) { // read all first: a failure changes nothing
      auto values = sinter::readF32(p.weight);
      if (!values)
        return {};
      p.values = std::move(*values);
    }
    int64_t weights = 0, zeroed = 0;
    for (Projection &p : projections) {
      zeroed += pruneTwoOfFour(p.values, p.rows, p.cols, p.norm);
      weights += p.rows * p.cols;
      sinter::replaceConstantOperand(p.matmul->getOpOperand(1), {p.rows, p.cols}, p.values, block.name + p.suffix);
    }
    return entry(block.name, xNorm.empty() ? "magnitude" : "wanda", weights, zeroed);
  }

  /// Prunes one linear, Wanda-scored when `layer` (the FFN whose up
  /// projection it is) keeps its input rows; its report entry, or null if
  /// the weight could not be read.
  DictionaryAttr pruneLinear(sinter::Linear &linear, const sinter::LayerProfile *layer) {
    auto values = sinter::readF32(linear.weight);
    if (!values)
      return {};
    std::vector<float> xNorm = inputNorms(layer, linear.dIn);
    int64_t zeroed = pruneTwoOfFour(*values, linear.dIn, linear.dOut, xNorm);
    sinter::replaceConstantOperand(linear.matmul->getOpOperand(1), {linear.dIn, linear.dOut}, *values,
                                   linear.name + ".2of4");
    return entry(linear.name, xNorm.empty() ? "magnitude" : "wanda", linear.dIn * linear.dOut, zeroed);
  }

  DictionaryAttr entry(llvm::StringRef layer, llvm::StringRef scoredBy, int64_t weights, int64_t zeroed) {
    Builder b(&getContext());
    return b.getDictionaryAttr({
        b.getNamedAttr("pass", b.getStringAttr("prune-2of4")),
        b.getNamedAttr("layer", b.getStringAttr(layer)),
        b.getNamedAttr("score", b.getStringAttr(scoredBy)),
        b.getNamedAttr("weights", b.getI64IntegerAttr(weights)),
        b.getNamedAttr("zeroed", b.getI64IntegerAttr(zeroed)),
    });
  }
};

} // namespace

/// What --load-pass-plugin looks for: registers the pass (sinter-opt
/// -sinter-prune-2of4) and the method (sinter-compile --compress=prune-2of4).
extern "C" LLVM_ATTRIBUTE_WEAK PassPluginLibraryInfo mlirGetPassPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "Prune2of4", LLVM_VERSION_STRING, [] {
            prune2of4::registerPrune2of4Passes();
            sinter::registerCompressionMethod(
                {"prune-2of4", "sinter-prune-2of4", /*readsProfile=*/true, "2:4 structured sparsity of FFN projections"});
          }};
}
