// sinter-gse-quantize-linears: post-training GSE-INT linears. Every x·W
// with constant W becomes gse.matmul(gse.quantize(x), W quantized at
// compile time), and every embedding lookup a gse.gather of the table
// quantized. The method: include/sinter/Compression/Passes.td and
// docs/compression.md.
#include "sinter/Compression/Linears.h"
#include "sinter/Compression/Passes.h"
#include "sinter/Dialect/GSE/Quantize.h"
#include "sinter/Support/ConstantData.h"

#include "mlir/IR/Matchers.h"
#include "llvm/ADT/MapVector.h"

#include <cmath>

namespace sinter {
#define GEN_PASS_DEF_QUANTIZELINEARSGSE
#include "sinter/Compression/Passes.h.inc"
} // namespace sinter

using namespace mlir;

namespace sinter {
namespace {

ArrayRef<char> bytesOf(const std::vector<int8_t> &v) {
  return ArrayRef<char>(reinterpret_cast<const char *>(v.data()), v.size());
}

struct QuantizeLinearsGSEPass : impl::QuantizeLinearsGSEBase<QuantizeLinearsGSEPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto diag = [&] { return module.emitError("gse: "); };
    auto format = [&](int64_t mantissa) {
      return gse::FormatAttr::getChecked(diag, &getContext(), (int64_t)group, mantissa, (int64_t)exponentBits);
    };
    gse::FormatAttr weights = format(weightBits), activations = format(activationBits);
    gse::FormatAttr tables = embeddingBits ? format(embeddingBits) : gse::FormatAttr();
    if (!weights || !activations || (embeddingBits && !tables))
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
    if (tables)
      for (auto func : module.getOps<func::FuncOp>())
        for (auto &[table, lookups] : embeddingTables(func)) {
          Attribute entry = quantizeEmbedding(table, lookups, tables);
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
    Value wq = gse::ConstantOp::create(
        b, loc, wType, makeElements(wType.mantissaType(), bytesOf(q.mantissas), linear.name + ".gse_mantissas"),
        makeElements(wType.exponentType(), bytesOf(q.exponents), linear.name + ".gse_exponents"));
    auto inType = cast<RankedTensorType>(linear.input.getType());
    auto xType = gse::GSETensorType::get(&getContext(), inType.getShape(), activations);
    Value xq = gse::QuantizeOp::create(b, loc, xType, linear.input);
    Value product = linear.matmul->getResult(0);
    Value y = gse::MatmulOp::create(b, loc, product.getType(), xq, wq);
    product.replaceAllUsesWith(y);
    linear.matmul->erase();
    return reportEntry(linear.name, "linear", linear.dIn, linear.dOut, transposed, q, weights, activations);
  }

  /// Tables read only by gathers of rows (axis 0) by computed indices:
  /// constant f32 [V, D] embeddings, each with its lookups. Quantizing
  /// then replaces the f32 table instead of adding a copy.
  static llvm::MapVector<Value, SmallVector<nn::GatherOp>> embeddingTables(func::FuncOp func) {
    llvm::MapVector<Value, SmallVector<nn::GatherOp>> out;
    func.walk([&](nn::GatherOp g) {
      Value table = g.getData();
      if (!constantOfRank(table, 2) || out.count(table))
        return;
      SmallVector<nn::GatherOp> lookups;
      for (Operation *user : table.getUsers()) {
        auto lookup = dyn_cast<nn::GatherOp>(user);
        auto axis = lookup ? nn::normalizeAxis(lookup.getAxis(), 2) : FailureOr<int64_t>(failure());
        if (!lookup || lookup.getData() != table || failed(axis) || *axis != 0 ||
            matchPattern(lookup.getIndices(), m_Constant()))
          return;
        lookups.push_back(lookup);
      }
      out[table] = lookups;
    });
    return out;
  }

  /// gather(T, ids) → gse.gather(T quantized along D, ids) for every lookup
  /// of T; its report entry.
  Attribute quantizeEmbedding(Value tableValue, SmallVector<nn::GatherOp> &lookups, gse::FormatAttr weights) {
    ElementsAttr table = constantOfRank(tableValue, 2);
    auto values = readF32(table);
    auto shape = cast<ShapedType>(table.getType()).getShape();
    std::string name = onnxNodeName(lookups.front(), "embedding");
    if (!values) {
      lookups.front().emitError("gse: cannot read the table of '") << name << "'";
      return {};
    }
    gse::Quantized q = gse::quantize(weights, *values, shape[1]);
    OpBuilder b(tableValue.getContext());
    b.setInsertionPointAfterValue(tableValue);
    auto type = gse::GSETensorType::get(&getContext(), shape, weights);
    Value tq = gse::ConstantOp::create(b, tableValue.getLoc(), type,
                                       makeElements(type.mantissaType(), bytesOf(q.mantissas), name + ".gse_mantissas"),
                                       makeElements(type.exponentType(), bytesOf(q.exponents), name + ".gse_exponents"));
    for (nn::GatherOp gather : lookups) {
      b.setInsertionPoint(gather);
      Value rows = gse::GatherOp::create(b, gather.getLoc(), gather.getType(), tq, gather.getIndices());
      gather.replaceAllUsesWith(rows);
      gather.erase();
    }
    return reportEntry(name, "embedding", shape[0], shape[1], *values, q, weights, gse::FormatAttr());
  }

  /// A report entry: `values` are the f32 weights as quantized (rows of
  /// `lastDim`); a linear's in/out features, an embedding's rows and width.
  Attribute reportEntry(StringRef layer, StringRef kind, int64_t first, int64_t second, ArrayRef<float> values,
                  const gse::Quantized &q, gse::FormatAttr weights, gse::FormatAttr activations) {
    bool linear = kind == "linear";
    std::vector<float> back = gse::dequantize(weights, q.mantissas, q.exponents, linear ? first : second);
    double err = 0, norm = 0;
    for (size_t i = 0; i < back.size(); ++i) {
      err += (back[i] - values[i]) * (double)(back[i] - values[i]);
      norm += values[i] * (double)values[i];
    }
    Builder b(&getContext());
    SmallVector<NamedAttribute> entry{
        b.getNamedAttr("pass", b.getStringAttr("gse")),
        b.getNamedAttr("layer", b.getStringAttr(layer)),
        b.getNamedAttr("kind", b.getStringAttr(kind)),
        b.getNamedAttr(linear ? "in_features" : "rows", b.getI64IntegerAttr(first)),
        b.getNamedAttr(linear ? "out_features" : "width", b.getI64IntegerAttr(second)),
        b.getNamedAttr("weights", weights),
        b.getNamedAttr("relative_error", b.getF64FloatAttr(norm > 0 ? std::sqrt(err / norm) : 0.0)),
        b.getNamedAttr("weight_bytes_before", b.getI64IntegerAttr(4 * (int64_t)values.size())),
        // As the object holds them: a byte per exponent and per mantissa, or
        // half a byte per mantissa of at most 4 bits (padding not counted).
        b.getNamedAttr("weight_bytes_after",
                       b.getI64IntegerAttr((int64_t)(weights.getMantissa() <= 4 ? (q.mantissas.size() + 1) / 2
                                                                                   : q.mantissas.size()) +
                                           (int64_t)q.exponents.size())),
    };
    if (activations)
      entry.push_back(b.getNamedAttr("activations", activations));
    return b.getDictionaryAttr(entry);
  }
};

} // namespace
} // namespace sinter
