// f32 contractions on buffers → calls to the runtime GEMM microkernel, with
// constant weights packed at compile time into the kernel's panel layout.
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "sinter/Conversion/Contraction.h"
#include "sinter/Conversion/Passes.h"
#include "sinter/Support/ConstantData.h"


namespace sinter {
#define GEN_PASS_DEF_LINALGTOUKERNEL
#include "sinter/Conversion/Passes.h.inc"
} // namespace sinter

using namespace mlir;

namespace sinter {
namespace {

constexpr llvm::StringLiteral kSgemm = "__sinter_sgemm";
constexpr llvm::StringLiteral kSgemmPacked = "__sinter_sgemm_packed";

/// An operand's address and its element stride along each loop (0 where
/// the operand does not depend on the loop).
struct OperandView {
  Value address;
  SmallVector<Value> loopStrides;
};

OperandView viewOperand(OpBuilder &b, Location loc, Value memref, AffineMap map, unsigned numLoops) {
  auto meta = memref::ExtractStridedMetadataOp::create(b, loc, memref);
  Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, memref);
  Value four = arith::ConstantIndexOp::create(b, loc, 4);
  Value byteOffset = arith::MulIOp::create(b, loc, meta.getOffset(), four);
  OperandView view{arith::AddIOp::create(b, loc, base, byteOffset), {}};
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  view.loopStrides.assign(numLoops, zero);
  for (auto [i, e] : llvm::enumerate(map.getResults()))
    if (auto d = dyn_cast<AffineDimExpr>(e))
      view.loopStrides[d.getPosition()] = meta.getStrides()[i];
  return view;
}

/// Packs constant right-hand sides into the kernel's column panels, one
/// packed global per (weight, orientation), shared by all its uses.
class WeightPacker {
public:
  WeightPacker(ModuleOp module, int64_t width) : module(module), symbols(module), width(width) {}

  /// The packed global for `b` if it is a whole constant weight, indexed
  /// (k, n) or, transposed, (n, k).
  memref::GlobalOp packed(Value b, AffineMap map, const ContractionLoops &loops) {
    auto get = b.getDefiningOp<memref::GetGlobalOp>();
    if (width <= 0 || !get || map.getNumResults() != 2)
      return nullptr;
    bool transposed = map.getResult(0) == getAffineDimExpr(loops.n, map.getContext());
    auto global = symbols.lookup<memref::GlobalOp>(get.getName());
    auto type = cast<MemRefType>(b.getType());
    if (!global || !global.getConstant() || !global.getInitialValue() || !type.hasStaticShape() ||
        !type.getLayout().isIdentity())
      return nullptr;
    std::string key = (global.getSymName() + (transposed ? ":t" : "")).str();
    if (auto it = cache.find(key); it != cache.end())
      return it->second;
    auto values = f32Values(*global.getInitialValue());
    if (!values)
      return nullptr;
    int64_t k = type.getDimSize(transposed ? 1 : 0), n = type.getDimSize(transposed ? 0 : 1);
    int64_t panels = (n + width - 1) / width;
    auto f32 = Float32Type::get(module.getContext());
    auto packedType = RankedTensorType::get({panels, k, width}, f32);
    std::string name = (global.getSymName() + "_packed" + std::to_string(width)).str();
    std::vector<float> packedValues(packedType.getNumElements());
    float *out = packedValues.data();
    for (int64_t p = 0; p < panels; ++p)
      for (int64_t r = 0; r < k; ++r)
        for (int64_t j = 0; j < width; ++j) {
          int64_t col = p * width + j;
          *out++ = col >= n ? 0.0f : (*values)(transposed ? col * k + r : r * n + col);
        }
    ElementsAttr attr = makeF32Elements(packedType, packedValues, name);
    OpBuilder builder = OpBuilder::atBlockBegin(module.getBody());
    auto packedGlobal = memref::GlobalOp::create(
        builder, global.getLoc(), name, builder.getStringAttr("private"),
        MemRefType::get({panels, k, width}, f32), attr, /*constant=*/true,
        builder.getI64IntegerAttr(64));
    symbols.insert(packedGlobal);
    originals.insert(global);
    return cache[key] = packedGlobal;
  }

  /// Erases the weights that were packed and are no longer read, and frees
  /// their bytes now: the compiler's peak memory holds each weight in as
  /// few copies as possible.
  void releaseUnpacked(RewriterBase &rewriter) {
    for (memref::GlobalOp global : originals.takeVector())
      releaseIfUnread(global, rewriter);
  }

  /// The same for the weight `name` alone, as soon as its last product is
  /// rewritten, so that no more than one weight is held twice at a time.
  void releaseIfUnread(StringRef name, RewriterBase &rewriter) {
    auto global = symbols.lookup<memref::GlobalOp>(name);
    if (global && originals.remove(global))
      releaseIfUnread(global, rewriter);
  }

private:
  void releaseIfUnread(memref::GlobalOp global, RewriterBase &rewriter) {
    if (!SymbolTable::symbolKnownUseEmpty(global, module)) {
      originals.insert(global); // read elsewhere: kept, looked at again at the end
      return;
    }
    auto blob = dyn_cast_or_null<DenseResourceElementsAttr>(global.getInitialValueAttr());
    symbols.remove(global);
    rewriter.eraseOp(global);
    // Another global may share the resource; free it only if none does.
    bool shared = blob && llvm::any_of(module.getOps<memref::GlobalOp>(), [&](memref::GlobalOp g) {
                    return g.getInitialValueAttr() == blob;
                  });
    if (blob && !shared)
      blob.getRawHandle().getResource()->setBlob(AsmResourceBlob());
  }

  ModuleOp module;
  SymbolTable symbols;
  int64_t width;
  llvm::StringMap<memref::GlobalOp> cache;
  llvm::SetVector<memref::GlobalOp> originals;
};

struct ContractionToUkernelCall : OpRewritePattern<linalg::GenericOp> {
  ContractionToUkernelCall(MLIRContext *ctx, WeightPacker &packer, bool release)
      : OpRewritePattern(ctx), packer(packer), release(release) {}
  WeightPacker &packer;
  bool release;

  LogicalResult matchAndRewrite(linalg::GenericOp op, PatternRewriter &rewriter) const override {
    auto loops = matchContraction(op);
    if (!loops)
      return rewriter.notifyMatchFailure(op, "not an f32 contraction on buffers");
    Location loc = op.getLoc();
    unsigned numLoops = op.getNumLoops();
    SmallVector<Range, 4> ranges = cast<linalg::LinalgOp>(op.getOperation()).createLoopRanges(rewriter, loc);
    auto size = [&](unsigned d) { return getValueOrCreateConstantIndexOp(rewriter, loc, ranges[d].size); };
    auto maps = op.getIndexingMapsArray();
    memref::GlobalOp packedB = packer.packed(op.getDpsInputs()[1], maps[1], *loops);
    SmallVector<OperandView> views;
    for (auto [i, operand] : llvm::enumerate(op->getOperands())) {
      if (i != 1 || !packedB) {
        views.push_back(viewOperand(rewriter, loc, operand, maps[i], numLoops));
        continue;
      }
      // A packed weight: its own global, the same for every batch index.
      Value get = memref::GetGlobalOp::create(rewriter, loc, packedB.getType(), packedB.getSymName());
      Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
      views.push_back({memref::ExtractAlignedPointerAsIndexOp::create(rewriter, loc, get),
                       SmallVector<Value>(numLoops, zero)});
    }

    // Outer batch dims become loops that advance the three addresses; the
    // innermost goes to the kernel.
    Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
    Value four = arith::ConstantIndexOp::create(rewriter, loc, 4);
    SmallVector<unsigned> outer(loops->batch);
    std::optional<unsigned> inner;
    if (!outer.empty())
      inner = outer.pop_back_val();
    SmallVector<Value> addresses = llvm::map_to_vector(views, [](const OperandView &v) { return v.address; });
    for (unsigned d : outer) {
      auto loop = scf::ForOp::create(rewriter, loc, zero, size(d), one);
      rewriter.setInsertionPointToStart(loop.getBody());
      for (auto [addr, view] : llvm::zip(addresses, views)) {
        Value step = arith::MulIOp::create(rewriter, loc, view.loopStrides[d], four);
        addr = arith::AddIOp::create(rewriter, loc, addr,
                                     arith::MulIOp::create(rewriter, loc, loop.getInductionVar(), step));
      }
    }
    SmallVector<Value> args{inner ? size(*inner) : one, size(loops->m), size(loops->n), size(loops->k)};
    // Per operand: address, then strides along batch, its row and its column
    // (a packed weight: its address only).
    std::array<std::pair<unsigned, unsigned>, 3> rowCol{
        std::pair(loops->m, loops->k), std::pair(loops->k, loops->n), std::pair(loops->m, loops->n)};
    for (auto [i, addr, view, rc] : llvm::enumerate(addresses, views, rowCol)) {
      if (i == 1 && packedB) {
        args.push_back(addr);
        continue;
      }
      args.push_back(addr);
      args.push_back(inner ? view.loopStrides[*inner] : zero);
      args.push_back(view.loopStrides[rc.first]);
      args.push_back(view.loopStrides[rc.second]);
    }
    func::CallOp::create(rewriter, loc, packedB ? kSgemmPacked : kSgemm, TypeRange{}, args);
    auto weight = op.getDpsInputs()[1].getDefiningOp<memref::GetGlobalOp>();
    rewriter.eraseOp(op);
    if (packedB && release && weight && weight->use_empty()) {
      std::string name = weight.getName().str();
      rewriter.eraseOp(weight);
      packer.releaseIfUnread(name, rewriter);
    }
    return success();
  }
};

struct LinalgToUkernelPass : impl::LinalgToUkernelBase<LinalgToUkernelPass> {
  using LinalgToUkernelBase::LinalgToUkernelBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    WeightPacker packer(module, panelWidth);
    RewritePatternSet patterns(&getContext());
    patterns.add<ContractionToUkernelCall>(&getContext(), packer, releasePacked);
    if (failed(applyPatternsGreedily(module, std::move(patterns))))
      return signalPassFailure();
    if (releasePacked) {
      IRRewriter rewriter(&getContext());
      packer.releaseUnpacked(rewriter);
    }
    declareIfCalled(module, kSgemm, 16);
    declareIfCalled(module, kSgemmPacked, 13);
  }

  /// `func.func private @name(index x arity)` if something calls it.
  static void declareIfCalled(ModuleOp module, StringRef name, unsigned arity) {
    bool called = false;
    module.walk([&](func::CallOp call) { called |= call.getCallee() == name; });
    if (!called || module.lookupSymbol(name))
      return;
    OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
    auto decl = func::FuncOp::create(b, module.getLoc(), name,
                                     b.getFunctionType(SmallVector<Type>(arity, b.getIndexType()), {}));
    decl.setPrivate();
  }
};

} // namespace
} // namespace sinter
