// sinter-binarize-linears: post-training BinaryMoS. Every decoder-block
// linear becomes bnn.mos_linear on its packed signs, with scales from the
// rank-1 SVD of |W|. The method: include/sinter/Compression/Passes.td and
// docs/compression.md.
#include "sinter/Compression/FFNBlocks.h"
#include "sinter/Compression/Linears.h"
#include "sinter/Compression/Passes.h"
#include "sinter/Dialect/BNN/BNNDialect.h"
#include "sinter/Support/ConstantData.h"

#include "mlir/IR/Matchers.h"

#include <cmath>

namespace sinter {
#define GEN_PASS_DEF_BINARIZELINEARS
#include "sinter/Compression/Passes.h.inc"
} // namespace sinter

using namespace mlir;

namespace sinter {
namespace {

/// |W| ≈ σ u vᵀ for a row-major [K, N] matrix: the leading singular triple
/// of |W| by power iteration. |W| is non-negative, so u and v are too, and
/// a positive start converges to them.
struct RankOne {
  std::vector<double> u, v; // unit vectors, K and N
  double sigma = 0;
};

RankOne rankOneOfAbs(const std::vector<float> &w, int64_t k, int64_t n) {
  RankOne r;
  r.u.assign(k, 0.0);
  r.v.assign(n, 1.0 / std::sqrt((double)n));
  for (int iter = 0; iter < 200; ++iter) {
    std::fill(r.u.begin(), r.u.end(), 0.0);
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < n; ++j)
        r.u[i] += std::fabs(w[i * n + j]) * r.v[j];
    double norm = 0;
    for (double x : r.u)
      norm += x * x;
    norm = std::sqrt(norm);
    if (norm == 0)
      break; // W = 0: no scale
    for (double &x : r.u)
      x /= norm;
    std::vector<double> v(n, 0.0);
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < n; ++j)
        v[j] += std::fabs(w[i * n + j]) * r.u[i];
    double sigma = 0;
    for (double x : v)
      sigma += x * x;
    sigma = std::sqrt(sigma);
    for (int64_t j = 0; j < n; ++j)
      r.v[j] = v[j] / sigma;
    bool converged = std::fabs(sigma - r.sigma) <= 1e-10 * sigma;
    r.sigma = sigma;
    if (converged)
      break;
  }
  return r;
}

struct BinarizeLinearsPass : impl::BinarizeLinearsBase<BinarizeLinearsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (experts < 1 || experts > bnn::kMaxExperts) {
      module.emitError("binary-mos: experts must be in 1..") << bnn::kMaxExperts << ", got " << (int64_t)experts;
      return signalPassFailure();
    }
    if (activations != "fp32" && activations != "int8") {
      module.emitError("binary-mos: activations must be fp32 or int8, got '") << activations << "'";
      return signalPassFailure();
    }
    if (scales != "f32" && scales != "f16") {
      module.emitError("binary-mos: scales must be f16 or f32, got '") << scales << "'";
      return signalPassFailure();
    }
    SmallVector<Attribute> report;
    for (auto func : module.getOps<func::FuncOp>())
      for (Linear &linear : findLinears(func)) {
        if (linear.head) {
          emitRemark(linear.matmul->getLoc())
              << "binary-mos: '" << linear.name << "' is the model's output projection; kept fp32";
          continue;
        }
        Attribute entry = binarize(linear);
        if (!entry)
          return signalPassFailure();
        report.push_back(entry);
      }
    // Layers the model already had (imported sinter.bnn::MoSLinear) take
    // the activation and scale precisions too.
    if (activations == "int8")
      module.walk([](bnn::MoSLinearOp op) { op.setInt8Activations(true); });
    WalkResult converted = module.walk([&](bnn::MoSLinearOp op) {
      return succeeded(convertScales(op)) ? WalkResult::advance() : WalkResult::interrupt();
    });
    if (converted.wasInterrupted())
      return signalPassFailure();
    appendCompressionReport(module, report);
  }

  Type scaleType() { return scales == "f16" ? Type(Float16Type::get(&getContext())) : Float32Type::get(&getContext()); }

  /// Rewrites the constant scale tables and router of `op` in scaleType().
  LogicalResult convertScales(bnn::MoSLinearOp op) {
    Type want = scaleType();
    if (cast<ShapedType>(op.getScaleIn().getType()).getElementType() == want)
      return success();
    SmallVector<std::vector<float>> tables;
    for (Value v : {op.getScaleIn(), op.getScaleOut(), op.getRouter()}) {
      std::optional<std::vector<float>> values = readConstantF32(v);
      if (!values)
        return op.emitError("binary-mos: scales=") << scales << " needs constant scales and router";
      tables.push_back(std::move(*values));
    }
    std::string name = onnxNodeName(op, "mos_linear");
    const char *suffixes[] = {".scale_in", ".scale_out", ".router"};
    for (unsigned i = 0; i < 3; ++i) {
      OpOperand &use = op->getOpOperand(2 + i);
      auto shape = cast<ShapedType>(use.get().getType()).getShape();
      replaceConstantOperand(use, shape, tables[i], name + suffixes[i], want);
    }
    return success();
  }

  /// Replaces one linear by bnn.mos_linear; returns its report entry.
  Attribute binarize(Linear &linear) {
    auto w = readF32(linear.weight);
    if (!w) {
      linear.matmul->emitError("binary-mos: cannot read the weights of '") << linear.name << "'";
      return {};
    }
    const int64_t k = linear.dIn, n = linear.dOut, e = experts;
    RankOne r = rankOneOfAbs(*w, k, n);
    double root = std::sqrt(r.sigma);
    std::vector<float> sIn(e * k), sOut(e * n);
    for (int64_t q = 0; q < e; ++q) {
      for (int64_t i = 0; i < k; ++i)
        sIn[q * k + i] = (float)(root * r.u[i]);
      for (int64_t j = 0; j < n; ++j)
        sOut[q * n + j] = (float)(root * r.v[j]);
    }
    std::vector<int8_t> bits = bnn::packSigns(*w, k, n);

    OpBuilder b(linear.matmul);
    Location loc = linear.matmul->getLoc();
    auto constant = [&](ArrayRef<int64_t> shape, ArrayRef<float> values, StringRef suffix,
                        Type element) -> Value {
      auto type = RankedTensorType::get(shape, element);
      return arith::ConstantOp::create(b, loc, makeFloatElements(type, values, (Twine(linear.name) + suffix).str()));
    };
    auto bitsType = RankedTensorType::get({n, bnn::packedBytes(k)}, b.getI8Type());
    Value packed = arith::ConstantOp::create(
        b, loc,
        makeElements(bitsType, {reinterpret_cast<const char *>(bits.data()), bits.size()},
                     (Twine(linear.name) + ".sign_bits").str()));
    Value bias;
    if (linear.bias) {
      auto values = readF32(linear.bias);
      if (!values) {
        linear.matmul->emitError("binary-mos: cannot read the bias of '") << linear.name << "'";
        return {};
      }
      bias = constant({n}, *values, ".bias", b.getF32Type());
    }
    Value result = bnn::MoSLinearOp::create(
        b, loc, linear.output.getType(), linear.input, packed, constant({e, k}, sIn, ".scale_in", scaleType()),
        constant({e, n}, sOut, ".scale_out", scaleType()),
        constant({k, e}, std::vector<float>(k * e, 0.0f), ".router", scaleType()), bias,
        (uint64_t)k, bnn::Layout::RowsOfInputs, activations == "int8");
    linear.output.replaceAllUsesWith(result);
    eraseDeadChain(linear.output.getDefiningOp());
    return reportEntry(linear, *w, r);
  }

  Attribute reportEntry(const Linear &linear, const std::vector<float> &w, const RankOne &r) {
    const int64_t k = linear.dIn, n = linear.dOut, e = experts;
    // ‖W − σ u vᵀ ⊙ sign(W)‖ / ‖W‖: how much of W the initial scales keep.
    double err = 0, norm = 0;
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double x = w[i * n + j], approx = r.sigma * r.u[i] * r.v[j] * (x >= 0 ? 1 : -1);
        err += (x - approx) * (x - approx);
        norm += x * x;
      }
    int64_t biasBytes = linear.bias ? 4 * n : 0;
    int64_t after = n * bnn::packedBytes(k) + (scales == "f16" ? 2 : 4) * (e * k + e * n + k * e);
    Builder b(&getContext());
    SmallVector<NamedAttribute> entry{
        b.getNamedAttr("pass", b.getStringAttr("binary-mos")),
        b.getNamedAttr("layer", b.getStringAttr(linear.name)),
        b.getNamedAttr("in_features", b.getI64IntegerAttr(k)),
        b.getNamedAttr("out_features", b.getI64IntegerAttr(n)),
        b.getNamedAttr("experts", b.getI64IntegerAttr(e)),
        b.getNamedAttr("activations", b.getStringAttr(activations)),
        b.getNamedAttr("scales", b.getStringAttr(scales)),
        b.getNamedAttr("init", b.getStringAttr("rank-1 SVD of |W|, identical experts, zero router")),
        b.getNamedAttr("relative_error", b.getF64FloatAttr(norm > 0 ? std::sqrt(err / norm) : 0.0)),
        b.getNamedAttr("weight_bytes_before", b.getI64IntegerAttr(4 * k * n)),
        b.getNamedAttr("weight_bytes_after", b.getI64IntegerAttr(after)),
        b.getNamedAttr("bytes_before", b.getI64IntegerAttr(4 * k * n + biasBytes)),
        b.getNamedAttr("bytes_after", b.getI64IntegerAttr(after + biasBytes)),
    };
    return b.getDictionaryAttr(entry);
  }
};

} // namespace
} // namespace sinter
