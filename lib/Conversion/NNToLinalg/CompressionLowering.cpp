// Lowering of the ops that compression passes add (to nn, and the bnn
// dialect's): each becomes a call to its runtime kernel on buffers
// (lib/Runtime), wrapped so that one-shot bufferization sees a read of the
// inputs and a fresh result buffer.
#include "KernelCalls.h"
#include "LoweringUtils.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "sinter/Dialect/BNN/BNNDialect.h"
#include "sinter/Dialect/GSE/GSEDialect.h"
#include "sinter/Dialect/GSE/Quantize.h"
#include "sinter/Dialect/NN/NNDialect.h"
#include "sinter/Support/ConstantData.h"

#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace sinter::nn;

namespace sinter::lowering {
namespace {

constexpr llvm::StringLiteral kFFNCorrection = "__sinter_ffn_correction";
constexpr llvm::StringLiteral kSparseFFN = "__sinter_sparse_ffn";
constexpr llvm::StringLiteral kMoSLinear = "__sinter_mos_linear";
constexpr llvm::StringLiteral kGSELinear = "__sinter_gse_linear";
constexpr llvm::StringLiteral kGSELinearTransposed = "__sinter_gse_linear_transposed";

/// σ as the runtime kernels number it (lib/Runtime/sinter_vec.h).
int64_t activationCode(StringRef name) { return name == "gelu" ? 1 : name == "silu" ? 2 : 0; }

struct FFNOutlierCorrectionLowering : OpRewritePattern<FFNOutlierCorrectionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(FFNOutlierCorrectionOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getType());
    auto [out, rows] = resultBuffer(rewriter, loc, type, op.getLinear());
    auto index = [&](int64_t v) -> Value { return arith::ConstantIndexOp::create(rewriter, loc, v); };
    int64_t d = cast<RankedTensorType>(op.getInput().getType()).getShape().back();
    int64_t dOut = type.getShape().back();
    int64_t kept = cast<RankedTensorType>(op.getUpWeight().getType()).getDimSize(0);
    SmallVector<Value> args = {addressOf(rewriter, loc, op.getInput()),
                               addressOf(rewriter, loc, op.getLinear()),
                               memref::ExtractAlignedPointerAsIndexOp::create(rewriter, loc, out),
                               rows, index(d), index(dOut), index(kept)};
    // Operands 2..10: the predictor and the per-neuron tables, in order.
    for (Value v : op->getOperands().drop_front(2))
      args.push_back(addressOf(rewriter, loc, v));
    args.push_back(index(op.getPredictorBits()));
    args.push_back(index(activationCode(op.getActivation())));
    callKernel(rewriter, op, kFFNCorrection, args, out);
    return success();
  }
};

struct SparseFFNLowering : OpRewritePattern<SparseFFNOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SparseFFNOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getType());
    auto [out, rows] = resultBuffer(rewriter, loc, type, op.getInput());
    auto index = [&](int64_t v) -> Value { return arith::ConstantIndexOp::create(rewriter, loc, v); };
    // An absent optional table is a null address.
    auto address = [&](Value v) { return v ? addressOf(rewriter, loc, v) : index(0); };
    auto upType = cast<RankedTensorType>(op.getUpWeight().getType());
    int64_t rank = op.getPredictorIn() ? cast<RankedTensorType>(op.getPredictorIn().getType()).getDimSize(1) : 0;
    float threshold = op.getThreshold().convertToFloat();
    SmallVector<Value> args = {address(op.getInput()),
                               memref::ExtractAlignedPointerAsIndexOp::create(rewriter, loc, out),
                               rows,
                               index(upType.getDimSize(1)),
                               index(upType.getDimSize(0)),
                               index(type.getShape().back()),
                               address(op.getUpWeight()),
                               address(op.getUpBias()),
                               address(op.getGateWeight()),
                               address(op.getGateBias()),
                               address(op.getDownWeight()),
                               address(op.getPredictorIn()),
                               address(op.getPredictorOut()),
                               address(op.getPredictorBias()),
                               index(rank),
                               index(op.getKept()),
                               index(llvm::bit_cast<uint32_t>(threshold)),
                               index(activationCode(op.getActivation())),
                               index(op.getDenseRows())};
    callKernel(rewriter, op, kSparseFFN, args, out);
    return success();
  }
};

/// The kernel's layouts of the sign bits (lib/Runtime/sinter_bnn.c).
enum class BitsLayout : int64_t { Rows = 0, Tiles = 1 };

struct MoSLinearLowering : OpRewritePattern<bnn::MoSLinearOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(bnn::MoSLinearOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getType());
    auto [out, rows] = resultBuffer(rewriter, loc, type, op.getInput());
    auto index = [&](int64_t v) -> Value { return arith::ConstantIndexOp::create(rewriter, loc, v); };
    auto [bits, layout] = kernelBits(op, rewriter);
    auto scaleType = cast<ShapedType>(op.getScaleIn().getType()).getElementType();
    SmallVector<Value> args = {addressOf(rewriter, loc, op.getInput()),
                               memref::ExtractAlignedPointerAsIndexOp::create(rewriter, loc, out),
                               rows,
                               index(op.getInFeatures()),
                               index(op.getOutFeatures()),
                               index(op.getExperts()),
                               addressOf(rewriter, loc, bits),
                               addressOf(rewriter, loc, op.getScaleIn()),
                               addressOf(rewriter, loc, op.getScaleOut()),
                               addressOf(rewriter, loc, op.getRouter()),
                               op.getBias() ? addressOf(rewriter, loc, op.getBias()) : index(0),
                               index(op.getInt8Activations() ? 8 : 32),
                               index(static_cast<int64_t>(layout)),
                               index(scaleType.getIntOrFloatBitWidth())};
    callKernel(rewriter, op, kMoSLinear, args, out);
    return success();
  }

  /// The bits as the kernel reads them best: with fp32 activations it
  /// looks up 16 outputs at once, so constant bits are regrouped into tiles
  /// of 16 outputs (the rows_of_inputs constant is then dead); int8
  /// activations and bits computed at run time keep rows.
  static std::pair<Value, BitsLayout> kernelBits(bnn::MoSLinearOp op, PatternRewriter &rewriter) {
    Attribute init;
    std::optional<std::vector<char>> raw;
    if (op.getInt8Activations() || !matchPattern(op.getBits(), m_Constant(&init)) || !(raw = readBytes(init)))
      return {op.getBits(), BitsLayout::Rows};
    int64_t k = op.getInFeatures(), n = op.getOutFeatures();
    std::vector<int8_t> tiled =
        bnn::tileSignRows({reinterpret_cast<const int8_t *>(raw->data()), raw->size()}, k, n);
    auto tiledType = RankedTensorType::get({(int64_t)tiled.size()}, rewriter.getI8Type());
    auto elements = makeElements(tiledType, {reinterpret_cast<const char *>(tiled.data()), tiled.size()},
                                 "bnn_bits_tiles");
    return {arith::ConstantOp::create(rewriter, op.getLoc(), elements), BitsLayout::Tiles};
  }
};

/// gse.matmul(gse.quantize(x), gse.constant W) → __sinter_gse_linear(x,
/// y, rows, K, N, group, activation bits, exponent range, W's panels, W's
/// exponents, nibbles): the kernel quantizes x itself, and W is repacked
/// here into the VNNI layout (sinter/Dialect/GSE/Quantize.h), two
/// mantissas a byte when they have at most 4 bits. With gse.transpose(W)
/// as the weight (a gradient, x · W), __sinter_gse_linear_transposed
/// reads the same panels plus W's format and requantizes Wᵀ block by
/// block: W is stored once. The quantize, transpose and constant die with
/// it.
struct GSEMatmulLowering : OpRewritePattern<gse::MatmulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(gse::MatmulOp op, PatternRewriter &rewriter) const override {
    auto quantize = op.getLhs().getDefiningOp<gse::QuantizeOp>();
    auto transpose = op.getRhs().getDefiningOp<gse::TransposeOp>();
    auto weight = (transpose ? transpose.getInput() : op.getRhs()).getDefiningOp<gse::ConstantOp>();
    if (!quantize || !weight)
      return op.emitError("lowers only as gse.matmul(gse.quantize(x), W), W a gse.constant or gse.transpose of one: "
                          "activations quantized by the kernel, weights at compile time");
    auto packed = panels(rewriter, weight);
    if (!packed)
      return op.emitError("cannot read the weight's mantissas and exponents");
    Location loc = op.getLoc();
    auto wType = cast<gse::GSETensorType>(weight.getType());
    auto wFormat = wType.getFormat();
    auto aFormat = cast<gse::GSETensorType>(quantize.getType()).getFormat();
    int64_t n = wType.getShape()[0], k = wType.lastDim();
    Value w = arith::ConstantOp::create(rewriter, loc, packed->first);
    Value we = arith::ConstantOp::create(rewriter, loc, packed->second);
    auto type = cast<RankedTensorType>(op.getType());
    Value x = quantize.getInput();
    auto [out, rows] = resultBuffer(rewriter, loc, type, x);
    auto index = [&](int64_t v) -> Value { return arith::ConstantIndexOp::create(rewriter, loc, v); };
    // The forward contracts W's K to its N outputs; the transposed product
    // contracts N (W's rows) to K outputs.
    SmallVector<Value> args = {addressOf(rewriter, loc, x),
                               memref::ExtractAlignedPointerAsIndexOp::create(rewriter, loc, out),
                               rows,
                               index(transpose ? n : k),
                               index(transpose ? k : n),
                               index(wFormat.getGroup()),
                               index(aFormat.getMantissa()),
                               index(aFormat.minExponent()),
                               index(aFormat.maxExponent()),
                               addressOf(rewriter, loc, w),
                               addressOf(rewriter, loc, we),
                               index(nibbles(wFormat))};
    if (transpose)
      args.append({index(wFormat.getMantissa()), index(wFormat.minExponent()), index(wFormat.maxExponent())});
    callKernel(rewriter, op, transpose ? kGSELinearTransposed : kGSELinear, args, out);
    return success();
  }

private:
  static bool nibbles(gse::FormatAttr format) { return format.getMantissa() <= 4; }

  /// W's panels and exponents in the kernel's layout. One weight read by
  /// several products or functions (--train-lora's entries, the gradient's
  /// transpose) is packed once: equal attributes become one global.
  std::optional<std::pair<ElementsAttr, ElementsAttr>> panels(PatternRewriter &rewriter, gse::ConstantOp weight) const {
    auto &packed = panelsOf[weight.getMantissas()];
    if (packed.first)
      return packed;
    auto mantissas = readBytes(weight.getMantissas()), exponents = readBytes(weight.getExponents());
    if (!mantissas || !exponents)
      return std::nullopt;
    auto wType = cast<gse::GSETensorType>(weight.getType());
    int64_t n = wType.getShape()[0], k = wType.lastDim();
    auto asInt8 = [](const std::vector<char> &v) {
      return ArrayRef<int8_t>(reinterpret_cast<const int8_t *>(v.data()), v.size());
    };
    std::vector<uint8_t> bytesOfPanels =
        gse::panelMantissas(asInt8(*mantissas), n, k, wType.getFormat().getGroup(), nibbles(wType.getFormat()));
    std::vector<int8_t> panelExps = gse::panelExponents(asInt8(*exponents), n, wType.groups());
    auto bytes = [&](ArrayRef<char> data, StringRef name) {
      return makeElements(RankedTensorType::get({(int64_t)data.size()}, rewriter.getI8Type()), data, name);
    };
    packed = {bytes({reinterpret_cast<const char *>(bytesOfPanels.data()), bytesOfPanels.size()}, "gse_panels"),
              bytes({reinterpret_cast<const char *>(panelExps.data()), panelExps.size()}, "gse_panel_exps")};
    return packed;
  }

  mutable llvm::DenseMap<Attribute, std::pair<ElementsAttr, ElementsAttr>> panelsOf;
};

/// gse.gather(gse.constant T, ids) → a linalg.generic over [ids..., D]
/// reading the table's mantissas and exponents from constants: row t =
/// ids[...] (as nn.gather normalizes it), value q · 2^e. Mantissas of at
/// most 4 bits are stored two to a byte (q + 8; the even column in the low
/// nibble), as the object counts them.
struct GSEGatherLowering : OpRewritePattern<gse::GatherOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(gse::GatherOp op, PatternRewriter &rewriter) const override {
    auto table = op.getTable().getDefiningOp<gse::ConstantOp>();
    if (!table)
      return op.emitError("lowers only with a gse.constant table (an embedding quantized at compile time)");
    auto mantissas = readBytes(table.getMantissas());
    if (!mantissas)
      return op.emitError("cannot read the table's mantissas");
    Location loc = op.getLoc();
    auto type = cast<gse::GSETensorType>(table.getType());
    int64_t rows = type.getShape()[0], width = type.lastDim(), group = type.getFormat().getGroup();
    bool nibbles = type.getFormat().getMantissa() <= 4;
    // A table read by several lookups or functions (--train-lora's
    // entries) is packed once: equal attributes become one global.
    ElementsAttr &packed = nibblesOf[table.getMantissas()];
    if (nibbles && !packed)
      packed = packNibbles(rewriter, *mantissas, rows, width);
    Value m = arith::ConstantOp::create(rewriter, loc, nibbles ? packed : table.getMantissas());
    Value e = arith::ConstantOp::create(rewriter, loc, table.getExponents());
    Value indices = op.getIndices();
    auto it = cast<RankedTensorType>(indices.getType());
    auto result = cast<RankedTensorType>(op.getType());
    SmallVector<Value> dims;
    for (int64_t i = 0; i < it.getRank(); ++i)
      dims.push_back(dimValue(rewriter, loc, indices, i));
    dims.push_back(arith::ConstantIndexOp::create(rewriter, loc, width));
    SmallVector<AffineExpr> idx;
    for (int64_t i = 0; i < it.getRank(); ++i)
      idx.push_back(rewriter.getAffineDimExpr(i));
    AffineMap idxMap = AffineMap::get(result.getRank(), 0, idx, rewriter.getContext());
    Value out = buildIndexed(rewriter, loc, result, dims, indices, idxMap,
                             [&](OpBuilder &b, Location l, ValueRange iv, ValueRange args) {
                               auto c = [&](int64_t v) { return arith::ConstantIndexOp::create(b, l, v); };
                               auto i32 = b.getI32Type();
                               Value t = gatherIndex(b, l, args[0], c(rows)), j = iv.back();
                               Value q;
                               if (nibbles) {
                                 Value byte = tensor::ExtractOp::create(b, l, m, ValueRange{t, arith::DivUIOp::create(b, l, j, c(2))});
                                 Value shift = arith::IndexCastOp::create(
                                     b, l, i32, arith::MulIOp::create(b, l, arith::RemUIOp::create(b, l, j, c(2)), c(4)));
                                 Value bits = arith::ShRUIOp::create(b, l, arith::ExtUIOp::create(b, l, i32, byte), shift);
                                 q = arith::SubIOp::create(b, l, arith::AndIOp::create(b, l, bits, i32Const(b, l, 15)),
                                                           i32Const(b, l, 8));
                               } else {
                                 q = arith::ExtSIOp::create(b, l, i32, tensor::ExtractOp::create(b, l, m, ValueRange{t, j}));
                               }
                               Value g = arith::DivUIOp::create(b, l, j, c(group));
                               Value ex = arith::ExtSIOp::create(b, l, i32, tensor::ExtractOp::create(b, l, e, ValueRange{t, g}));
                               // 2^e as two normal powers of two (e/2 and the rest), so
                               // that MX's 2^±127 stays exact.
                               Value half = arith::DivSIOp::create(b, l, ex, i32Const(b, l, 2));
                               Value rest = arith::SubIOp::create(b, l, ex, half);
                               Value v = arith::SIToFPOp::create(b, l, b.getF32Type(), q);
                               v = arith::MulFOp::create(b, l, v, powerOfTwo(b, l, half));
                               return (Value)arith::MulFOp::create(b, l, v, powerOfTwo(b, l, rest));
                             });
    rewriter.replaceOp(op, out);
    return success();
  }

private:
  static Value i32Const(OpBuilder &b, Location l, int32_t v) { return arith::ConstantIntOp::create(b, l, v, 32); }

  /// 2^x for an i32 x in [−126, 127], built from its exponent bits.
  static Value powerOfTwo(OpBuilder &b, Location l, Value x) {
    Value biased = arith::AddIOp::create(b, l, x, i32Const(b, l, 127));
    return arith::BitcastOp::create(b, l, b.getF32Type(), arith::ShLIOp::create(b, l, biased, i32Const(b, l, 23)));
  }

  /// [rows, width] mantissas as [rows, ⌈width/2⌉] bytes of two nibbles.
  static ElementsAttr packNibbles(PatternRewriter &rewriter, const std::vector<char> &q, int64_t rows, int64_t width) {
    int64_t half = (width + 1) / 2;
    std::vector<char> packed(rows * half, 0);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < width; ++j)
        packed[r * half + j / 2] |= (char)(((q[r * width + j] + 8) & 15) << (4 * (j % 2)));
    return makeElements(RankedTensorType::get({rows, half}, rewriter.getI8Type()), packed, "gse_table_nibbles");
  }

  mutable llvm::DenseMap<Attribute, ElementsAttr> nibblesOf;
};

/// Weights are constants, so bnn.pack_signs folds before lowering; one that
/// is left packs a computed matrix, which no kernel does.
struct PackSignsLowering : OpRewritePattern<bnn::PackSignsOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(bnn::PackSignsOp op, PatternRewriter &) const override {
    return op.emitError("packs signs of a value computed at run time; only constant weights can be binarized");
  }
};

} // namespace

void populateCompressionPatterns(RewritePatternSet &patterns) {
  patterns.add<FFNOutlierCorrectionLowering, SparseFFNLowering, MoSLinearLowering, GSEMatmulLowering, GSEGatherLowering,
               PackSignsLowering>(
      patterns.getContext());
}

} // namespace sinter::lowering
