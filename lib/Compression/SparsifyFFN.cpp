// sinter-sparsify-ffn: activation sparsity by neuron selection, static
// (pruned weights) or dynamic (nn.sparse_ffn, per token). The method:
// include/sinter/Compression/Passes.td and docs/compression.md.
#include "sinter/Compression/FFNBlocks.h"
#include "sinter/Compression/Passes.h"
#include "sinter/Compression/Profile.h"
#include "sinter/Compression/Selection.h"
#include "sinter/Support/ConstantData.h"

#include <cmath>

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
    if (mode != "static" && mode != "dynamic")
      return fail(module, "mode must be static or dynamic, got '" + mode + "'");
    if (denseRows < 0)
      return fail(module, "dense-rows must be >= 0, got " + std::to_string(denseRows));
    if (score != "auto" && score != "attribution" && score != "magnitude")
      return fail(module, "score must be attribution, magnitude or auto, got '" + score + "'");
    if (profilePath.empty())
      return fail(module, "needs a calibration profile (profile=FILE; sinter-compile --calibration or "
                          "python3 -m sinter.attribution)");
    std::string error;
    auto profile = prepareFFNRewrite(module, profilePath, error);
    if (!profile)
      return fail(module, error);

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
        Attribute entry = mode == "static" ? sparsify(block, *layer) : sparsifyDynamic(block, *layer);
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
    bool dynamic = mode == "dynamic";
    bool hasAttribution = dynamic ? layer.predictor.rank > 0 : !layer.score.empty();
    bool attribution = score == "attribution" || (score == "auto" && hasAttribution);
    if (attribution && !dynamic && layer.score.empty()) {
      fail(block.upMatmul, "score=attribution, but profile layer '" + block.name +
                               "' has no attribution scores (python3 -m sinter.attribution writes them)");
      return {};
    }
    if (attribution && dynamic &&
        (layer.predictor.rank == 0 || layer.predictor.inputWidth != block.dIn)) {
      fail(block.upMatmul, "mode=dynamic score=attribution needs a predictor of " + std::to_string(block.dIn) +
                               " inputs in profile layer '" + block.name +
                               "' (python3 -m sinter.attribution --predictor-rank R)");
      return {};
    }
    if (!attribution && (dynamic ? layer.magnitudeQuantiles.empty() : layer.magnitude.empty())) {
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
      return 4 * (projections * d * n + ((block.bu ? n : 0) + (block.bg ? n : 0)) + n * dOut + (block.bd ? dOut : 0));
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

  /// Replaces one block by nn.sparse_ffn; returns its report entry.
  Attribute sparsifyDynamic(FFNBlock &block, const LayerProfile &layer) {
    StringRef used = scoresFor(block, layer);
    if (used.empty())
      return {};
    auto weights = readDynamicWeights(block);
    if (!weights) {
      fail(block.upMatmul, "cannot read the weights of FFN '" + block.name + "'");
      return {};
    }
    const int64_t h = block.hidden, d = block.dIn, dOut = block.dOut, projections = block.gated() ? 2 : 1;
    bool predicted = used == "attribution";
    const LayerProfile::Predictor &pr = layer.predictor;
    int64_t kept = predicted ? keptNeuronCount(h, sparsity) : 0;
    float threshold = predicted ? 0.0f : quantileAt(layer.magnitudeQuantiles, sparsity);
    // Weight bytes one token reads on the gather path, against all of them.
    double all = 4.0 * (projections * d + dOut) * h;
    double predictorBytes = predicted ? 4.0 * (d * pr.rank + pr.rank * h + h) : 0.0;
    double perToken = predicted ? (1 - sparsity) * all + predictorBytes
                                : 4.0 * projections * d * h + (1 - sparsity) * 4.0 * dOut * h;
    int64_t rows = denseRows > 0 ? (int64_t)denseRows : std::max<int64_t>(2, (int64_t)std::ceil(all / perToken));

    OpBuilder b(block.downMatmul);
    Location loc = block.downMatmul->getLoc();
    auto constant = [&](ArrayRef<int64_t> shape, ArrayRef<float> values, StringRef suffix) -> Value {
      auto type = RankedTensorType::get(shape, b.getF32Type());
      return arith::ConstantOp::create(b, loc, makeF32Elements(type, values, (Twine(block.name) + suffix).str()));
    };
    Value gate, gateBias, pIn, pOut, pBias;
    if (block.gated()) {
      gate = constant({h, d}, weights->gate, ".sparse_gate");
      gateBias = constant({h}, weights->gateBias, ".sparse_gate_bias");
    }
    if (predicted) {
      pIn = constant({d, pr.rank}, pr.in, ".predictor_in");
      pOut = constant({pr.rank, h}, pr.out, ".predictor_out");
      pBias = constant({h}, pr.bias, ".predictor_bias");
    }
    Value result = nn::SparseFFNOp::create(
        b, loc, block.downMatmul->getResult(0).getType(), block.input, constant({h, d}, weights->up, ".sparse_up"),
        constant({h}, weights->upBias, ".sparse_up_bias"), gate, gateBias,
        constant({h, dOut}, weights->down, ".sparse_down"), pIn, pOut, pBias,
        b.getStringAttr(activationName(block.activation)), b.getI64IntegerAttr(kept), b.getF32FloatAttr(threshold),
        b.getI64IntegerAttr(rows));
    Operation *deadRoot = block.downMatmul;
    deadRoot->getResult(0).replaceAllUsesWith(result);
    eraseDeadChain(deadRoot);

    Builder a(&getContext());
    auto biasBytes = 4 * ((block.bu ? h : 0) + (block.bg ? h : 0) + (block.bd ? dOut : 0));
    SmallVector<NamedAttribute> entry{
        a.getNamedAttr("pass", a.getStringAttr("sparsify-ffn")),
        a.getNamedAttr("layer", a.getStringAttr(block.name)),
        a.getNamedAttr("activation", a.getStringAttr(activationName(block.activation))),
        a.getNamedAttr("gated", a.getBoolAttr(block.gated())),
        a.getNamedAttr("mode", a.getStringAttr("dynamic")),
        a.getNamedAttr("score", a.getStringAttr(used)),
        a.getNamedAttr("selection", a.getStringAttr(predicted ? "predictor" : "threshold")),
        a.getNamedAttr("sparsity", a.getF64FloatAttr(sparsity)),
        a.getNamedAttr("neurons", a.getI64IntegerAttr(h)),
        a.getNamedAttr("kept_neurons", a.getI64IntegerAttr(predicted ? kept : 0)),
        a.getNamedAttr("kernel", a.getStringAttr("per-token neuron gathers below dense_rows rows; all neurons by "
                                                 "GEMM with the same mask from dense_rows")),
        a.getNamedAttr("dense_rows", a.getI64IntegerAttr(rows)),
        a.getNamedAttr("decode_weight_bytes_per_token", a.getI64IntegerAttr((int64_t)perToken)),
        a.getNamedAttr("dense_weight_bytes_per_token", a.getI64IntegerAttr((int64_t)all)),
        a.getNamedAttr("bytes_before", a.getI64IntegerAttr((int64_t)all + biasBytes)),
        a.getNamedAttr("bytes_after", a.getI64IntegerAttr((int64_t)(all + predictorBytes) + biasBytes)),
    };
    if (predicted) {
      entry.push_back(a.getNamedAttr("predictor_rank", a.getI64IntegerAttr(pr.rank)));
      if (pr.recall >= 0)
        entry.push_back(a.getNamedAttr("predictor_recall", a.getF64FloatAttr(pr.recall)));
    } else {
      entry.push_back(a.getNamedAttr("threshold", a.getF64FloatAttr(threshold)));
    }
    return a.getDictionaryAttr(entry);
  }

  /// The weights in the kernel's per-neuron layout, biases zero where absent.
  struct NeuronMajor {
    std::vector<float> up, upBias, gate, gateBias, down; // [h][d], [h], [h][d], [h], [h][dOut]
  };

  static std::optional<NeuronMajor> readDynamicWeights(const FFNBlock &block) {
    const int64_t h = block.hidden, d = block.dIn;
    auto transposed = [&](ElementsAttr attr) -> std::optional<std::vector<float>> {
      auto w = readF32(attr);
      if (!w)
        return std::nullopt;
      std::vector<float> t(h * d);
      for (int64_t r = 0; r < d; ++r)
        for (int64_t i = 0; i < h; ++i)
          t[i * d + r] = (*w)[r * h + i];
      return t;
    };
    NeuronMajor w;
    auto up = transposed(block.wu), down = readF32(block.wd), upBias = readF32OrZeros(block.bu, h);
    if (!up || !down || !upBias)
      return std::nullopt;
    w.up = std::move(*up), w.down = std::move(*down), w.upBias = std::move(*upBias);
    if (block.gated()) {
      auto gate = transposed(block.wg), gateBias = readF32OrZeros(block.bg, h);
      if (!gate || !gateBias)
        return std::nullopt;
      w.gate = std::move(*gate), w.gateBias = std::move(*gateBias);
    }
    return w;
  }

  /// The value at level p of evenly spaced quantiles, interpolated.
  static float quantileAt(const std::vector<float> &quantiles, double p) {
    double pos = p * (quantiles.size() - 1);
    size_t lo = (size_t)pos, hi = std::min(lo + 1, quantiles.size() - 1);
    return (float)(quantiles[lo] + (pos - lo) * ((double)quantiles[hi] - quantiles[lo]));
  }
};

} // namespace
} // namespace sinter
