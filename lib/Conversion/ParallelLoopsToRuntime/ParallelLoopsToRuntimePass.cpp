// Top-level scf.parallel loops → outlined bodies that the runtime's thread
// pool runs in chunks (__sinter_parallel_for).
#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/RegionUtils.h"
#include "sinter/Conversion/Passes.h"

namespace sinter {
#define GEN_PASS_DEF_PARALLELLOOPSTORUNTIME
#include "sinter/Conversion/Passes.h.inc"
} // namespace sinter

using namespace mlir;

namespace sinter {
namespace {

constexpr llvm::StringLiteral kParallelFor = "__sinter_parallel_for";

/// Whether every op of the body may run on another thread, items in any
/// order: ops free of memory effects, loads and stores, and loops and ifs
/// of such ops. Calls (a kernel that uses the pool itself) and allocations
/// stay on the calling thread.
bool hasOutlinableBody(scf::ParallelOp loop) {
  if (loop.getNumResults() != 0)
    return false;
  return !loop.getBody()
              ->walk([](Operation *op) {
                if (isa<scf::ForOp, scf::IfOp, scf::ParallelOp, scf::YieldOp, scf::ReduceOp,
                        scf::ReduceReturnOp, memref::LoadOp, memref::StoreOp>(op) ||
                    isMemoryEffectFree(op))
                  return WalkResult::advance();
                return WalkResult::interrupt();
              })
              .wasInterrupted();
}

bool hasNestedLoop(scf::ParallelOp loop) {
  return loop.getBody()
      ->walk([](Operation *op) {
        return isa<LoopLikeOpInterface>(op) ? WalkResult::interrupt() : WalkResult::advance();
      })
      .wasInterrupted();
}

/// max(0, ceil((ub - lb) / step)) for a positive step.
Value tripCount(OpBuilder &b, Location loc, Value lb, Value ub, Value step) {
  Value span = arith::SubIOp::create(b, loc, ub, lb);
  Value count = arith::CeilDivSIOp::create(b, loc, span, step);
  return arith::MaxSIOp::create(b, loc, count, arith::ConstantIndexOp::create(b, loc, 0));
}

/// Iterations of the loops directly in the body whose bounds are known
/// before the loop runs (a row's reduction): the work one item does beyond
/// its own element. Loops with bounds computed inside count as one.
Value nestedWork(OpBuilder &b, Location loc, scf::ParallelOp loop) {
  Value work = arith::ConstantIndexOp::create(b, loc, 1);
  for (auto inner : loop.getBody()->getOps<scf::ForOp>()) {
    Value bounds[] = {inner.getLowerBound(), inner.getUpperBound(), inner.getStep()};
    if (llvm::any_of(bounds, [&](Value v) { return loop->isAncestor(v.getParentBlock()->getParentOp()); }))
      continue;
    work = arith::MulIOp::create(b, loc, work, tripCount(b, loc, bounds[0], bounds[1], bounds[2]));
  }
  return work;
}

/// Whether the body reads from outside only values a Context can carry.
bool hasCarriableCaptures(scf::ParallelOp loop) {
  llvm::SetVector<Value> captured;
  getUsedValuesDefinedAbove(loop.getRegion(), captured);
  return llvm::all_of(captured, [](Value v) {
    return isa<IndexType, MemRefType, IntegerType, FloatType>(v.getType());
  });
}

/// Carries values into the outlined function: an LLVM struct with one
/// field per value, memrefs as their descriptors. Values must be index,
/// memref, integer or float (hasCarriableCaptures).
struct Context {
  SmallVector<Value> values;
  LLVM::LLVMStructType type;

  Context(ArrayRef<Value> values, const LLVMTypeConverter &converter) : values(values) {
    SmallVector<Type> fields;
    for (Value v : values)
      fields.push_back(isa<IndexType>(v.getType()) ? converter.getIndexType() : converter.convertType(v.getType()));
    type = LLVM::LLVMStructType::getLiteral(&converter.getContext(), fields);
  }

  /// Packs the values into a struct on the caller's stack; returns its address.
  Value pack(OpBuilder &b, Location loc, Block &entry) const {
    Value packed = LLVM::UndefOp::create(b, loc, type);
    for (auto [i, v] : llvm::enumerate(values)) {
      Type field = type.getBody()[i];
      Value f = isa<IndexType>(v.getType())  ? arith::IndexCastOp::create(b, loc, field, v)
                : isa<MemRefType>(v.getType()) ? UnrealizedConversionCastOp::create(b, loc, field, v).getResult(0)
                                               : v;
      packed = LLVM::InsertValueOp::create(b, loc, packed, f, ArrayRef<int64_t>{int64_t(i)});
    }
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&entry);
    Value one = LLVM::ConstantOp::create(b, loc, b.getI64Type(), b.getI64IntegerAttr(1));
    Value slot = LLVM::AllocaOp::create(b, loc, LLVM::LLVMPointerType::get(b.getContext()), type, one);
    b.setInsertionPointAfterValue(packed);
    LLVM::StoreOp::create(b, loc, packed, slot);
    return slot;
  }

  /// Reads the values back from `ptr` and maps each original to its copy.
  void unpack(OpBuilder &b, Location loc, Value ptr, IRMapping &map) const {
    Value packed = LLVM::LoadOp::create(b, loc, type, ptr);
    for (auto [i, v] : llvm::enumerate(values)) {
      Value f = LLVM::ExtractValueOp::create(b, loc, packed, ArrayRef<int64_t>{int64_t(i)});
      Value copy = isa<IndexType>(v.getType()) ? arith::IndexCastOp::create(b, loc, v.getType(), f)
                   : isa<MemRefType>(v.getType())
                       ? UnrealizedConversionCastOp::create(b, loc, v.getType(), f).getResult(0)
                       : f;
      map.map(v, copy);
    }
  }
};

struct ParallelLoopsToRuntimePass : impl::ParallelLoopsToRuntimeBase<ParallelLoopsToRuntimePass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (minChunkWork < 1) {
      module.emitError() << "sinter-parallel-loops-to-runtime: min-chunk-work must be at least 1, got "
                         << static_cast<int64_t>(minChunkWork);
      return signalPassFailure();
    }
    LLVMTypeConverter converter(&getContext());
    SymbolTable symbols(module);
    SmallVector<scf::ParallelOp> loops;
    for (auto func : module.getOps<func::FuncOp>())
      if (!func.isExternal())
        for (auto loop : func.getBody().getOps<scf::ParallelOp>())
          if (hasOutlinableBody(loop) && hasCarriableCaptures(loop))
            loops.push_back(loop);
    for (auto [index, loop] : llvm::enumerate(loops))
      outline(loop, converter, symbols, index);
  }

  func::FuncOp parallelFor(SymbolTable &symbols, FunctionType bodyType) {
    if (auto f = symbols.lookup<func::FuncOp>(kParallelFor))
      return f;
    OpBuilder b(&getContext());
    Type i64 = b.getI64Type(), ptr = LLVM::LLVMPointerType::get(&getContext());
    auto f = func::FuncOp::create(b, getOperation().getLoc(), kParallelFor,
                                  b.getFunctionType({i64, i64, bodyType, ptr}, {}));
    f.setPrivate();
    symbols.insert(f);
    return f;
  }

  void outline(scf::ParallelOp loop, const LLVMTypeConverter &converter, SymbolTable &symbols, size_t index) {
    auto parent = loop->getParentOfType<func::FuncOp>();
    Location loc = loop.getLoc();
    unsigned rank = loop.getNumLoops();
    // An elementwise body keeps its last dim as a whole inner loop (it
    // vectorizes); a body with loops inside is split over every dim.
    bool keepLast = rank >= 2 && !hasNestedLoop(loop);
    unsigned outer = keepLast ? rank - 1 : rank;

    OpBuilder b(loop);
    SmallVector<Value> counts;
    Value items = arith::ConstantIndexOp::create(b, loc, 1);
    for (unsigned d = 0; d < outer; ++d) {
      counts.push_back(tripCount(b, loc, loop.getLowerBound()[d], loop.getUpperBound()[d], loop.getStep()[d]));
      items = arith::MulIOp::create(b, loc, items, counts.back());
    }
    Value work = nestedWork(b, loc, loop);
    if (keepLast)
      work = arith::MulIOp::create(
          b, loc, work,
          tripCount(b, loc, loop.getLowerBound()[rank - 1], loop.getUpperBound()[rank - 1], loop.getStep()[rank - 1]));
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    Value perChunk = arith::ConstantIndexOp::create(b, loc, minChunkWork);
    Value grain = arith::CeilDivSIOp::create(b, loc, perChunk, arith::MaxSIOp::create(b, loc, work, one));

    llvm::SetVector<Value> carried;
    getUsedValuesDefinedAbove(loop.getRegion(), carried);
    for (unsigned d = 0; d < rank; ++d) {
      carried.insert(loop.getLowerBound()[d]);
      carried.insert(loop.getStep()[d]);
    }
    if (keepLast)
      carried.insert(loop.getUpperBound()[rank - 1]);
    if (!counts.empty()) // the outermost count bounds `items` only
      carried.insert(counts.begin() + 1, counts.end());
    // Constants are rebuilt in the body rather than carried: a loop step
    // the vectorizer cannot see is a loop it does not vectorize.
    SmallVector<Operation *> constants;
    SmallVector<Value> passed;
    for (Value v : carried) {
      Operation *def = v.getDefiningOp();
      if (def && def->hasTrait<OpTrait::ConstantLike>())
        constants.push_back(def);
      else
        passed.push_back(v);
    }
    Context ctx(passed, converter);

    Type i64 = b.getI64Type(), ptr = LLVM::LLVMPointerType::get(&getContext());
    FunctionType bodyType = b.getFunctionType({ptr, i64, i64}, {});
    func::FuncOp body = buildBody(loop, ctx, constants, counts, keepLast,
                                  (parent.getSymName() + "_parallel" + Twine(index)).str(), bodyType);
    symbols.insert(body, Block::iterator(parent));

    Value slot = ctx.pack(b, loc, parent.getBody().front());
    Value fn = func::ConstantOp::create(b, loc, bodyType, SymbolRefAttr::get(body.getSymNameAttr()));
    Value n = arith::IndexCastOp::create(b, loc, i64, items);
    Value g = arith::IndexCastOp::create(b, loc, i64, grain);
    func::CallOp::create(b, loc, parallelFor(symbols, bodyType), ValueRange{n, g, fn, slot});
    loop.erase();
  }

  /// func @name(%ctx, %begin, %end): items begin..end of the loop, each
  /// delinearized over `counts` (outermost first).
  func::FuncOp buildBody(scf::ParallelOp loop, const Context &ctx, ArrayRef<Operation *> constants,
                         ArrayRef<Value> counts, bool keepLast,
                         StringRef name, FunctionType type) {
    Location loc = loop.getLoc();
    OpBuilder b(&getContext());
    auto func = func::FuncOp::create(b, loc, name, type);
    func.setPrivate();
    Block *entry = func.addEntryBlock();
    b.setInsertionPointToStart(entry);
    IRMapping map;
    ctx.unpack(b, loc, entry->getArgument(0), map);
    for (Operation *c : constants)
      b.clone(*c, map);
    Value begin = arith::IndexCastOp::create(b, loc, b.getIndexType(), entry->getArgument(1));
    Value end = arith::IndexCastOp::create(b, loc, b.getIndexType(), entry->getArgument(2));
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    auto items = scf::ForOp::create(b, loc, begin, end, one);
    func::ReturnOp::create(b, loc);

    b.setInsertionPoint(items.getBody()->getTerminator());
    Value rest = items.getInductionVar();
    SmallVector<Value> ivs(counts.size());
    for (int d = counts.size() - 1; d >= 0; --d) {
      Value idx = rest;
      if (d > 0) {
        Value n = map.lookup(counts[d]);
        idx = arith::RemUIOp::create(b, loc, rest, n);
        rest = arith::DivUIOp::create(b, loc, rest, n);
      }
      Value scaled = arith::MulIOp::create(b, loc, idx, map.lookup(loop.getStep()[d]));
      ivs[d] = arith::AddIOp::create(b, loc, map.lookup(loop.getLowerBound()[d]), scaled);
    }
    if (keepLast) {
      unsigned last = loop.getNumLoops() - 1;
      auto inner = scf::ForOp::create(b, loc, map.lookup(loop.getLowerBound()[last]),
                                      map.lookup(loop.getUpperBound()[last]), map.lookup(loop.getStep()[last]));
      ivs.push_back(inner.getInductionVar());
      b.setInsertionPoint(inner.getBody()->getTerminator());
    }
    for (auto [iv, value] : llvm::zip(loop.getInductionVars(), ivs))
      map.map(iv, value);
    for (Operation &op : loop.getBody()->without_terminator())
      b.clone(op, map);
    return func;
  }
};

} // namespace
} // namespace sinter
