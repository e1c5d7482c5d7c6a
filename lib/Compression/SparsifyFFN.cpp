// sinter-sparsify-ffn: activation sparsity by neuron selection, static
// mode (the method: include/sinter/Compression/Passes.td and
// docs/compression.md).
#include "sinter/Compression/FFNBlocks.h"
#include "sinter/Compression/Passes.h"
#include "sinter/Compression/Profile.h"
#include "sinter/Compression/Selection.h"
#include "sinter/Transforms/Passes.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace sinter {
#define GEN_PASS_DEF_SPARSIFYFFN
#include "sinter/Compression/Passes.h.inc"
} // namespace sinter

using namespace mlir;

namespace sinter {
namespace {

/// The share of `values` (non-negative) that the indices `keep` hold.
double keptShare(llvm::ArrayRef<float> values, llvm::ArrayRef<int64_t> keep) {
  double all = 0, kept = 0;
  for (float v : values)
    all += v;
  for (int64_t i : keep)
    kept += values[i];
  return all > 0 ? kept / all : 1.0;
}

struct SparsifyFFNPass : impl::SparsifyFFNBase<SparsifyFFNPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (!(sparsity >= 0 && sparsity < 1))
      return fail(module, "sparsity must be in [0, 1), got " + std::to_string(sparsity));
    if (mode != "static")
      return fail(module, "mode '" + mode + "' is not available (static: one mask per layer; per-token "
                                            "dynamic selection is not built yet)");
    if (score != "auto" && score != "attribution" && score != "magnitude")
      return fail(module, "score must be attribution, magnitude or auto, got '" + score + "'");
    if (profilePath.empty())
      return fail(module, "needs a calibration profile (profile=FILE; sinter-compile --calibration or "
                          "python3 -m sinter.attribution)");
    std::string error;
    auto profile = readProfile(profilePath, error);
    if (!profile)
      return fail(module, error);

    RewritePatternSet patterns(&getContext());
    populateRaiseActivationsPatterns(patterns);
    (void)applyPatternsGreedily(module, std::move(patterns));

    SmallVector<Attribute> report;
    for (auto func : module.getOps<func::FuncOp>())
      for (FFNBlock &block : findFFNBlocks(func)) {
        const LayerProfile *layer = profile->find(block.name);
        if (!layer) {
          emitRemark(block.upMatmul->getLoc())
              << "sparsify-ffn: FFN '" << block.name << "' is not in the profile; left dense";
          continue;
        }
        if (layer->neurons != block.hidden || layer->gated != block.gated() ||
            layer->activation != activationName(block.activation))
          return fail(block.upMatmul, "profile layer '" + block.name + "' does not match this FFN (" +
                                          std::to_string(layer->neurons) + (layer->gated ? " gated " : " ") +
                                          layer->activation + " neurons)");
        Attribute entry = sparsify(block, *layer);
        if (!entry)
          return signalPassFailure();
        report.push_back(entry);
      }
    appendCompressionReport(module, report);
  }

  void fail(Operation *op, const std::string &message) {
    op->emitError("sparsify-ffn: ") << message;
    signalPassFailure();
  }

  /// Which scores rank this layer: the option, or for auto attribution
  /// when the profile has it. Empty (with an error) when they are missing.
  StringRef scoresFor(const FFNBlock &block, const LayerProfile &layer) {
    bool attribution = score == "attribution" || (score == "auto" && !layer.score.empty());
    if (attribution && layer.score.empty()) {
      fail(block.upMatmul, "score=attribution, but profile layer '" + block.name +
                               "' has no attribution scores (python3 -m sinter.attribution writes them)");
      return {};
    }
    if (!attribution && layer.magnitude.empty()) {
      fail(block.upMatmul, "profile layer '" + block.name +
                               "' has no magnitude statistics; calibrate again (--calibration) to record them");
      return {};
    }
    return attribution ? "attribution" : "magnitude";
  }

  /// Removes one block's unimportant neurons; returns its report entry.
  Attribute sparsify(FFNBlock &block, const LayerProfile &layer) {
    StringRef used = scoresFor(block, layer);
    if (used.empty())
      return {};
    const std::vector<float> &ranking = used == "attribution" ? layer.score : layer.magnitude;
    const int64_t h = block.hidden, d = block.dIn, dOut = block.dOut;
    std::vector<int64_t> keep =
        topIndices(std::vector<double>(ranking.begin(), ranking.end()), keptNeuronCount(h, sparsity));
    const int64_t k = keep.size();
    if (k < h && failed(keepNeurons(block, keep))) {
      fail(block.upMatmul, "FFN '" + block.name + "' cannot be narrowed: a value between its projections is "
                                                  "used elsewhere, or its weights cannot be read");
      return {};
    }
    int64_t projections = block.gated() ? 2 : 1;
    auto bytes = [&](int64_t n) {
      return 4 * (projections * (d * n + (block.bu ? n : 0)) + n * dOut + (block.bd ? dOut : 0));
    };
    Builder b(&getContext());
    SmallVector<NamedAttribute> entry{
        b.getNamedAttr("pass", b.getStringAttr("sparsify-ffn")),
        b.getNamedAttr("layer", b.getStringAttr(block.name)),
        b.getNamedAttr("activation", b.getStringAttr(activationName(block.activation))),
        b.getNamedAttr("gated", b.getBoolAttr(block.gated())),
        b.getNamedAttr("mode", b.getStringAttr(mode)),
        b.getNamedAttr("score", b.getStringAttr(used)),
        b.getNamedAttr("sparsity", b.getF64FloatAttr(sparsity)),
        b.getNamedAttr("neurons", b.getI64IntegerAttr(h)),
        b.getNamedAttr("kept_neurons", b.getI64IntegerAttr(k)),
        b.getNamedAttr("kernel", b.getStringAttr("dense FFN of the kept neurons, prefill and decode")),
        b.getNamedAttr("bytes_before", b.getI64IntegerAttr(bytes(h))),
        b.getNamedAttr("bytes_after", b.getI64IntegerAttr(bytes(k))),
    };
    if (!layer.magnitude.empty())
      entry.push_back(b.getNamedAttr("kept_magnitude_share", b.getF64FloatAttr(keptShare(layer.magnitude, keep))));
    return b.getDictionaryAttr(entry);
  }
};

} // namespace
} // namespace sinter
