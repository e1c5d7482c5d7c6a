// sinter-gse-quantize-linears: post-training GSE-INT linears. Every x·W
// with constant W becomes gse.matmul(gse.quantize(x), W quantized at
// compile time). The method: include/sinter/Compression/Passes.td and
// docs/compression.md.
#include "sinter/Compression/Linears.h"
#include "sinter/Compression/Passes.h"
#include "sinter/Dialect/GSE/Quantize.h"
#include "sinter/Support/ConstantData.h"

#include <cmath>

namespace sinter {
#define GEN_PASS_DEF_QUANTIZELINEARSGSE
#include "sinter/Compression/Passes.h.inc"
} // namespace sinter

using namespace mlir;

namespace sinter {
namespace {

struct QuantizeLinearsGSEPass : impl::QuantizeLinearsGSEBase<QuantizeLinearsGSEPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto diag = [&] { return module.emitError("gse: "); };
    auto format = [&](int64_t mantissa) {
      return gse::FormatAttr::getChecked(diag, &getContext(), (int64_t)group, mantissa, (int64_t)exponentBits);
    };
    gse::FormatAttr weights = format(weightBits), activations = format(activationBits);
    if (!weights || !activations)
      return signalPassFailure();
    SmallVector<Attribute> report;
    for (auto func : module.getOps<func::FuncOp>())
      for (Linear &linear : findLinears(func)) {
        auto inType = cast<RankedTensorType>(linear.input.getType());
        if (inType.getRank() < 2) {
          emitRemark(linear.matmul->getLoc()) << "gse: '" << linear.name << "' has a rank-1 input; kept fp32";
          continue;
        }
        Attribute entry = quantizeLinear(linear, weights, activations);
        if (!entry)
          return signalPassFailure();
        report.push_back(entry);
      }
    appendCompressionReport(module, report);
  }

  /// Replaces x·W of one linear; returns its report entry.
  Attribute quantizeLinear(Linear &linear, gse::FormatAttr weights, gse::FormatAttr activations) {
    auto w = readF32(linear.weight);
    if (!w) {
      linear.matmul->emitError("gse: cannot read the weights of '") << linear.name << "'";
      return {};
    }
    const int64_t k = linear.dIn, n = linear.dOut;
    std::vector<float> transposed(k * n);
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < n; ++j)
        transposed[j * k + i] = (*w)[i * n + j];
    gse::Quantized q = gse::quantize(weights, transposed, k);

    OpBuilder b(linear.matmul);
    Location loc = linear.matmul->getLoc();
    auto wType = gse::GSETensorType::get(&getContext(), {n, k}, weights);
    auto bytes = [](const std::vector<int8_t> &v) {
      return ArrayRef<char>(reinterpret_cast<const char *>(v.data()), v.size());
    };
    Value wq = gse::ConstantOp::create(
        b, loc, wType, makeElements(wType.mantissaType(), bytes(q.mantissas), linear.name + ".gse_mantissas"),
        makeElements(wType.exponentType(), bytes(q.exponents), linear.name + ".gse_exponents"));
    auto inType = cast<RankedTensorType>(linear.input.getType());
    auto xType = gse::GSETensorType::get(&getContext(), inType.getShape(), activations);
    Value xq = gse::QuantizeOp::create(b, loc, xType, linear.input);
    Value product = linear.matmul->getResult(0);
    Value y = gse::MatmulOp::create(b, loc, product.getType(), xq, wq);
    product.replaceAllUsesWith(y);
    linear.matmul->erase();
    return reportEntry(linear, transposed, q, weights, activations);
  }

  Attribute reportEntry(const Linear &linear, const std::vector<float> &transposed, const gse::Quantized &q,
                        gse::FormatAttr weights, gse::FormatAttr activations) {
    const int64_t k = linear.dIn, n = linear.dOut;
    std::vector<float> back = gse::dequantize(weights, q.mantissas, q.exponents, k);
    double err = 0, norm = 0;
    for (size_t i = 0; i < back.size(); ++i) {
      err += (back[i] - transposed[i]) * (double)(back[i] - transposed[i]);
      norm += transposed[i] * (double)transposed[i];
    }
    Builder b(&getContext());
    SmallVector<NamedAttribute> entry{
        b.getNamedAttr("pass", b.getStringAttr("gse")),
        b.getNamedAttr("layer", b.getStringAttr(linear.name)),
        b.getNamedAttr("in_features", b.getI64IntegerAttr(k)),
        b.getNamedAttr("out_features", b.getI64IntegerAttr(n)),
        b.getNamedAttr("weights", weights),
        b.getNamedAttr("activations", activations),
        b.getNamedAttr("relative_error", b.getF64FloatAttr(norm > 0 ? std::sqrt(err / norm) : 0.0)),
        b.getNamedAttr("weight_bytes_before", b.getI64IntegerAttr(4 * k * n)),
        // As the object holds them: a byte per exponent and per mantissa, or
        // half a byte per mantissa of at most 4 bits (padding not counted).
        b.getNamedAttr("weight_bytes_after",
                       b.getI64IntegerAttr((int64_t)(weights.getMantissa() <= 4 ? (q.mantissas.size() + 1) / 2
                                                                                   : q.mantissas.size()) +
                                           (int64_t)q.exponents.size())),
    };
    return b.getDictionaryAttr(entry);
  }
};

} // namespace
} // namespace sinter
