// sinter-linearize-ffn: TARDIS-style FFN folding with predicted-outlier
// correction (the method: include/sinter/Compression/Passes.td and
// docs/compression.md).
#include "sinter/Compression/Linearization.h"
#include "sinter/Compression/Passes.h"
#include "sinter/Compression/Profile.h"
#include "sinter/Compression/Selection.h"
#include "sinter/Support/ConstantData.h"

#include <algorithm>
#include <numeric>

namespace sinter {
#define GEN_PASS_DEF_LINEARIZEFFN
#include "sinter/Compression/Passes.h.inc"
} // namespace sinter

using namespace mlir;
using namespace sinter::nn;

namespace sinter {
namespace {

/// A block's weights as plain arrays, biases zero where absent.
struct FFNWeights {
  std::vector<float> wu, bu, wd, bd; // [d][h], [h], [h][dOut], [dOut]
};

std::optional<FFNWeights> readWeights(const FFNBlock &b) {
  FFNWeights w;
  auto wu = readF32(b.wu), wd = readF32(b.wd);
  if (!wu || !wd)
    return std::nullopt;
  w.wu = std::move(*wu);
  w.wd = std::move(*wd);
  auto bu = readF32OrZeros(b.bu, b.hidden), bd = readF32OrZeros(b.bd, b.dOut);
  if (!bu || !bd)
    return std::nullopt;
  w.bu = std::move(*bu);
  w.bd = std::move(*bd);
  return w;
}

/// The `fraction` of neurons with the largest positive importance, in
/// index order.
std::vector<int64_t> pickExact(const std::vector<double> &importance, double fraction) {
  std::vector<int64_t> top = topIndices(importance, std::llround(fraction * importance.size()));
  llvm::erase_if(top, [&](int64_t i) { return !(importance[i] > 0); });
  return top;
}

struct LinearizeFFNPass : impl::LinearizeFFNBase<LinearizeFFNPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (!(coverage > 0 && coverage <= 1))
      return fail(module, "coverage must be in (0, 1], got " + std::to_string(coverage));
    if (!(linearCoverage >= 0 && linearCoverage <= 1))
      return fail(module, "linear-coverage must be in [0, 1], got " + std::to_string(linearCoverage));
    if (!(exactFraction >= 0 && exactFraction <= 1))
      return fail(module, "exact must be in [0, 1], got " + std::to_string(exactFraction));
    if (predictorBits < 1 || predictorBits > 8)
      return fail(module, "predictor-bits must be 1..8, got " + std::to_string(predictorBits));
    if (profilePath.empty())
      return fail(module, "needs a calibration profile (profile=FILE; sinter-compile --calibration)");
    std::string error;
    auto profile = prepareFFNRewrite(module, profilePath, error);
    if (!profile)
      return fail(module, error);

    SmallVector<Attribute> report;
    for (auto func : llvm::make_early_inc_range(module.getOps<func::FuncOp>())) {
      for (FFNBlock &block : findFFNBlocks(func)) {
        if (block.gated()) {
          emitRemark(block.neurons.getLoc())
              << "linearize-ffn: gated FFN '" << block.name
              << "' left dense: a product of two projections does not fold into one matrix";
          continue;
        }
        const LayerProfile *layer = profile->find(block.name);
        if (!layer) {
          emitRemark(block.upMatmul->getLoc()) << "linearize-ffn: FFN '" << block.name
                                               << "' is not in the profile; left dense";
          continue;
        }
        if (layer->neurons != block.hidden || layer->activation != activationName(block.activation))
          return fail(block.upMatmul, "profile layer '" + block.name + "' does not match this FFN (" +
                                          std::to_string(layer->neurons) + " " + layer->activation + " neurons)");
        Attribute summary = rewrite(block, *layer, profile->levels);
        if (!summary)
          return fail(block.upMatmul, "cannot read the weights of FFN '" + block.name + "'");
        report.push_back(summary);
      }
    }
    appendCompressionReport(module, report);
  }

  void fail(Operation *op, const std::string &message) {
    op->emitError("linearize-ffn: ") << message;
    signalPassFailure();
  }

  /// Replaces one block; returns its report entry.
  Attribute rewrite(FFNBlock &block, const LayerProfile &layer, int64_t levels) {
    auto weights = readWeights(block);
    if (!weights)
      return {};
    const int64_t d = block.dIn, h = block.hidden, dOut = block.dOut;
    std::vector<NeuronFit> fits(h);
    std::vector<double> importance(h);
    for (int64_t i = 0; i < h; ++i) {
      fits[i] = fitNeuron(layer.neuronQuantiles(i, levels), levels, coverage, block.activation);
      double norm = 0;
      for (int64_t j = 0; j < dOut; ++j)
        norm += (double)weights->wd[i * dOut + j] * weights->wd[i * dOut + j];
      importance[i] = fits[i].outsideError * norm;
    }
    std::vector<int64_t> exact = pickExact(importance, exactFraction);
    // Neurons without an exact path are linear everywhere: their line may
    // be fitted on a wider range than the one the correction uses.
    if (linearCoverage > 0 && linearCoverage != coverage) {
      std::vector<bool> isExact(h);
      for (int64_t i : exact)
        isExact[i] = true;
      for (int64_t i = 0; i < h; ++i)
        if (!isExact[i])
          fits[i] = fitNeuron(layer.neuronQuantiles(i, levels), levels, linearCoverage, block.activation);
    }

    // W_f = W_u·diag(a)·W_d and b_f = (a ⊙ b_u + c)·W_d + b_d, in double.
    std::vector<double> wf(d * dOut, 0.0), bf(weights->bd.begin(), weights->bd.end());
    for (int64_t i = 0; i < h; ++i) {
      const float *down = &weights->wd[i * dOut];
      for (int64_t r = 0; r < d; ++r) {
        double f = (double)weights->wu[r * h + i] * fits[i].slope;
        for (int64_t j = 0; j < dOut; ++j)
          wf[r * dOut + j] += f * down[j];
      }
      double shift = (double)fits[i].slope * weights->bu[i] + fits[i].intercept;
      for (int64_t j = 0; j < dOut; ++j)
        bf[j] += shift * down[j];
    }

    OpBuilder b(block.output.getContext());
    b.setInsertionPointAfterValue(block.output);
    Location loc = block.upMatmul->getLoc();
    auto f32 = b.getF32Type();
    auto constant = [&](ArrayRef<int64_t> shape, ArrayRef<float> values, StringRef suffix) -> Value {
      auto type = RankedTensorType::get(shape, f32);
      return arith::ConstantOp::create(b, loc, makeF32Elements(type, values, (llvm::Twine(block.name) + suffix).str()));
    };
    std::vector<float> wf32(wf.begin(), wf.end()), bf32(bf.begin(), bf.end());
    auto outType = cast<RankedTensorType>(block.output.getType());
    Value linear = MatMulOp::create(b, loc, outType, block.input, constant({d, dOut}, wf32, ".folded_weight"));
    linear = AddOp::create(b, loc, outType, linear, constant({dOut}, bf32, ".folded_bias"));
    int64_t rowBytes = predictorRowBytes(d, predictorBits), kept = exact.size();
    PredictorStats stats;
    if (kept > 0)
      linear = buildCorrection(b, loc, block, *weights, fits, exact, linear, constant, layer, stats);
    Operation *deadRoot = block.output.getDefiningOp();
    block.output.replaceAllUsesWith(linear);
    eraseDeadChain(deadRoot);

    int64_t before = (d * h + h + h * dOut + dOut) * 4;
    int64_t after = (d * dOut + dOut) * 4 + kept * (rowBytes + 4 * d + 4 * dOut + 6 * 4);
    double exactShare = 0, total = 0;
    for (int64_t i = 0; i < h; ++i)
      total += importance[i];
    for (int64_t i : exact)
      exactShare += importance[i];
    std::vector<float> widths(h);
    for (int64_t i = 0; i < h; ++i)
      widths[i] = fits[i].upper - fits[i].lower;
    std::nth_element(widths.begin(), widths.begin() + h / 2, widths.end());
    return b.getDictionaryAttr({
        b.getNamedAttr("pass", b.getStringAttr("linearize-ffn")),
        b.getNamedAttr("layer", b.getStringAttr(block.name)),
        b.getNamedAttr("activation", b.getStringAttr(activationName(block.activation))),
        b.getNamedAttr("coverage", b.getF64FloatAttr(coverage)),
        b.getNamedAttr("neurons", b.getI64IntegerAttr(h)),
        b.getNamedAttr("exact_neurons", b.getI64IntegerAttr(kept)),
        b.getNamedAttr("predictor_bits", b.getI64IntegerAttr(predictorBits)),
        b.getNamedAttr("median_range_width", b.getF64FloatAttr(widths[h / 2])),
        b.getNamedAttr("expected_outlier_rate", b.getF64FloatAttr(1.0 - std::llround(coverage * (levels - 1)) /
                                                                          (double)(levels - 1))),
        b.getNamedAttr("exact_error_share", b.getF64FloatAttr(total > 0 ? exactShare / total : 1.0)),
        b.getNamedAttr("sample_rows", b.getI64IntegerAttr(stats.rows)),
        b.getNamedAttr("predicted_outlier_rate", b.getF64FloatAttr(stats.predicted)),
        b.getNamedAttr("exact_outlier_rate", b.getF64FloatAttr(stats.outside)),
        b.getNamedAttr("predictor_recall", b.getF64FloatAttr(stats.recall)),
        b.getNamedAttr("bytes_before", b.getI64IntegerAttr(before)),
        b.getNamedAttr("bytes_after", b.getI64IntegerAttr(after)),
    });
  }

  /// The correction for the neurons in `exact`, applied to `linear`.
  template <typename ConstantFn>
  Value buildCorrection(OpBuilder &b, Location loc, const FFNBlock &block, const FFNWeights &w,
                        const std::vector<NeuronFit> &fits, const std::vector<int64_t> &exact, Value linear,
                        ConstantFn constant, const LayerProfile &layer, PredictorStats &stats) {
    const int64_t d = block.dIn, h = block.hidden, dOut = block.dOut, kept = exact.size();
    int64_t rowBytes = predictorRowBytes(d, predictorBits);
    std::vector<uint8_t> codes(kept * rowBytes);
    std::vector<float> scale(kept), lower(kept), upper(kept), slope(kept), intercept(kept), bu(kept);
    std::vector<float> up(kept * d), down(kept * dOut);
    for (int64_t k = 0; k < kept; ++k) {
      int64_t i = exact[k];
      scale[k] = quantizePredictorRow(&w.wu[i], d, h, predictorBits, &codes[k * rowBytes]);
      lower[k] = fits[i].lower, upper[k] = fits[i].upper;
      slope[k] = fits[i].slope, intercept[k] = fits[i].intercept;
      bu[k] = w.bu[i];
      for (int64_t r = 0; r < d; ++r)
        up[k * d + r] = w.wu[r * h + i];
      std::copy_n(&w.wd[i * dOut], dOut, &down[k * dOut]);
    }
    if (layer.inputWidth == d)
      stats = testPredictor(layer, codes, scale, lower, upper, up, bu);
    auto codeType = RankedTensorType::get({kept, rowBytes}, b.getI8Type());
    Value predictor = arith::ConstantOp::create(
        b, loc, makeElements(codeType, {reinterpret_cast<const char *>(codes.data()), codes.size()},
                             block.name + ".predictor"));
    return FFNOutlierCorrectionOp::create(
        b, loc, linear.getType(), block.input, linear, predictor, constant({kept}, scale, ".predictor_scale"),
        constant({kept}, lower, ".lower"), constant({kept}, upper, ".upper"),
        constant({kept, d}, up, ".exact_up"), constant({kept}, bu, ".exact_up_bias"),
        constant({kept}, slope, ".slope"), constant({kept}, intercept, ".intercept"),
        constant({kept, dOut}, down, ".exact_down"), b.getStringAttr(activationName(block.activation)),
        b.getI64IntegerAttr(predictorBits));
  }

  /// The predictor on the profile's sample rows of the FFN input, in double.
  PredictorStats testPredictor(const LayerProfile &layer, const std::vector<uint8_t> &codes,
                               const std::vector<float> &scale, const std::vector<float> &lower,
                               const std::vector<float> &upper, const std::vector<float> &up,
                               const std::vector<float> &bu) {
    const int64_t d = layer.inputWidth, kept = scale.size(), rows = layer.inputRows();
    const int64_t rowBytes = predictorRowBytes(d, predictorBits);
    // Each code decoded once, not once per sample row.
    std::vector<double> levels(kept * d);
    for (int64_t k = 0; k < kept; ++k)
      for (int64_t j = 0; j < d; ++j)
        levels[k * d + j] = predictorLevel(predictorCode(&codes[k * rowBytes], d, predictorBits, j), predictorBits);
    int64_t predicted = 0, outside = 0, caught = 0;
    for (int64_t r = 0; r < rows; ++r) {
      const float *x = &layer.inputs[r * d];
      for (int64_t k = 0; k < kept; ++k) {
        double estimate = 0, z = bu[k];
        for (int64_t j = 0; j < d; ++j) {
          estimate += levels[k * d + j] * x[j];
          z += (double)up[k * d + j] * x[j];
        }
        estimate = bu[k] + scale[k] * estimate;
        bool p = estimate < lower[k] || estimate > upper[k], o = z < lower[k] || z > upper[k];
        predicted += p, outside += o, caught += p && o;
      }
    }
    PredictorStats s;
    s.rows = rows;
    double pairs = std::max<double>(1, rows * kept);
    s.predicted = predicted / pairs;
    s.outside = outside / pairs;
    s.recall = outside ? (double)caught / outside : 1.0;
    return s;
  }
};

} // namespace
} // namespace sinter
