// sinter-gpu-tile-contractions (include/sinter/Conversion/Passes.td): f32
// contractions as GPU kernels that stage tiles of A and B in shared memory.
#include "sinter/Conversion/Contraction.h"
#include "sinter/Conversion/Passes.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"

namespace sinter {
#define GEN_PASS_DEF_TILECONTRACTIONSFORGPU
#include "sinter/Conversion/Passes.h.inc"
} // namespace sinter

using namespace mlir;

namespace {

constexpr int64_t kThreads = 16;           // a block is kThreads × kThreads
constexpr int64_t kPerThread = 4;          // outputs per thread along m and n
constexpr int64_t kTile = kThreads * kPerThread; // a block's tile of C
constexpr int64_t kStep = 16;              // k per staged tile
constexpr int64_t kAccumulators = kPerThread * kPerThread;

Value index(OpBuilder &b, Location loc, int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }

/// A thread's 16 accumulators: SSA values that the loops over k carry (on
/// the GPU: registers), or a row of a buffer (the CPU emulation, whose
/// phases run every thread in turn, so values must outlive a phase).
struct Accumulators {
  Value buffer;              // emulation: [threads][16]; null on the GPU
  SmallVector<Value> prefix; // emulation: the thread's row
  SmallVector<Value> values; // GPU: the current values

  Value get(OpBuilder &b, Location loc, int64_t q) {
    return buffer ? memref::LoadOp::create(b, loc, buffer, at(b, loc, q)).getResult() : values[q];
  }
  void set(OpBuilder &b, Location loc, int64_t q, Value v) {
    if (buffer)
      memref::StoreOp::create(b, loc, v, buffer, at(b, loc, q));
    else
      values[q] = v;
  }
  /// What a loop around updates carries: the values, or nothing.
  SmallVector<Value> carried() { return buffer ? SmallVector<Value>() : values; }
  /// Inside such a loop (its iteration arguments), and after it (its results).
  void rebind(ValueRange loopValues) {
    if (!buffer)
      values.assign(loopValues.begin(), loopValues.end());
  }

private:
  SmallVector<Value> at(OpBuilder &b, Location loc, int64_t q) {
    SmallVector<Value> idx(prefix);
    idx.push_back(index(b, loc, q));
    return idx;
  }
};

/// What a thread's code reads: the contraction, its sizes, the block's
/// place, the staged tiles and the thread's accumulators.
struct Kernel {
  linalg::GenericOp op;
  sinter::ContractionLoops loops;
  SmallVector<Value> sizes;    // per loop dim
  SmallVector<Value> batchIdx; // per batch loop, this block's
  Value m0, n0;                // this block's first row and column of C
  Value aTile, bTile;          // [kStep][kTile]: A transposed, B as is
  Accumulators acc;
};

/// A loop from 0 to `end` by `step` carrying the accumulators; the builder
/// is left in its body, which `finish` closes.
scf::ForOp accumulatingLoop(Kernel &k, OpBuilder &b, Location loc, Value end, int64_t step) {
  auto loop = scf::ForOp::create(b, loc, index(b, loc, 0), end, index(b, loc, step), k.acc.carried());
  b.setInsertionPointToStart(loop.getBody());
  k.acc.rebind(loop.getRegionIterArgs());
  return loop;
}
void finish(Kernel &k, scf::ForOp loop, OpBuilder &b, Location loc) {
  if (!k.acc.carried().empty())
    scf::YieldOp::create(b, loc, k.acc.carried());
  b.setInsertionPointAfter(loop);
  k.acc.rebind(loop.getResults());
}

/// Operand `i`'s element at the loop values `at` (m, n, k set by the caller).
Value operandIndexAt(Kernel &k, unsigned operand, ArrayRef<Value> at, OpBuilder &b, Location loc,
                     SmallVector<Value> &indices) {
  AffineMap map = k.op.getIndexingMapsArray()[operand];
  indices.clear();
  for (AffineExpr e : map.getResults())
    indices.push_back(isa<AffineDimExpr>(e) ? at[cast<AffineDimExpr>(e).getPosition()] : index(b, loc, 0));
  return k.op->getOperand(operand);
}

/// The loop values with the batch dims of this block and m, n, k given.
SmallVector<Value> loopValues(Kernel &k, Value m, Value n, Value kk) {
  SmallVector<Value> at(k.op.getNumLoops());
  for (auto [d, v] : llvm::zip(k.loops.batch, k.batchIdx))
    at[d] = v;
  at[k.loops.m] = m;
  at[k.loops.n] = n;
  at[k.loops.k] = kk;
  return at;
}

Value inBounds(OpBuilder &b, Location loc, Value i, Value size, Value j, Value size2) {
  Value a = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, i, size);
  Value c = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, j, size2);
  return arith::AndIOp::create(b, loc, a, c);
}

/// A's or B's element at (m or k, k or n) if in bounds, else 0.
Value loadOrZero(Kernel &k, unsigned operand, Value m, Value n, Value kk, Value inb, OpBuilder &b, Location loc) {
  auto ifOp = scf::IfOp::create(b, loc, b.getF32Type(), inb, /*withElseRegion=*/true);
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    SmallVector<Value> idx;
    Value mem = operandIndexAt(k, operand, loopValues(k, m, n, kk), b, loc, idx);
    scf::YieldOp::create(b, loc, ValueRange{memref::LoadOp::create(b, loc, mem, idx)});
    b.setInsertionPointToStart(ifOp.elseBlock());
    scf::YieldOp::create(b, loc, ValueRange{arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0))});
  }
  return ifOp.getResult(0);
}

/// Phase 1: the thread's accumulators start at zero.
void zeroAccumulators(Kernel &k, OpBuilder &b, Location loc) {
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
  k.acc.values.assign(k.acc.buffer ? 0 : kAccumulators, zero);
  for (int64_t q = 0; k.acc.buffer && q < kAccumulators; ++q)
    k.acc.set(b, loc, q, zero);
}

/// Phase 2: the block's 256 threads stage A[m0.., k0..] (64×16, stored
/// transposed) and B[k0.., n0..] (16×64), four elements each.
void stageTiles(Kernel &k, Value tx, Value ty, Value k0, OpBuilder &b, Location loc) {
  Value tid = arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, ty, index(b, loc, kThreads)), tx);
  Value m = k.sizes[k.loops.m], n = k.sizes[k.loops.n], kSize = k.sizes[k.loops.k];
  for (int64_t r = 0; r < kTile * kStep / (kThreads * kThreads); ++r) {
    Value e = arith::AddIOp::create(b, loc, tid, index(b, loc, r * kThreads * kThreads));
    // A: consecutive threads walk k (a row of A is contiguous when A is).
    Value row = arith::DivUIOp::create(b, loc, e, index(b, loc, kStep));
    Value ka = arith::RemUIOp::create(b, loc, e, index(b, loc, kStep));
    Value gm = arith::AddIOp::create(b, loc, k.m0, row), gka = arith::AddIOp::create(b, loc, k0, ka);
    Value a = loadOrZero(k, 0, gm, k.n0, gka, inBounds(b, loc, gm, m, gka, kSize), b, loc);
    memref::StoreOp::create(b, loc, a, k.aTile, ValueRange{ka, row});
    // B: consecutive threads walk n.
    Value kb = arith::DivUIOp::create(b, loc, e, index(b, loc, kTile));
    Value col = arith::RemUIOp::create(b, loc, e, index(b, loc, kTile));
    Value gkb = arith::AddIOp::create(b, loc, k0, kb), gn = arith::AddIOp::create(b, loc, k.n0, col);
    Value v = loadOrZero(k, 1, k.m0, gn, gkb, inBounds(b, loc, gkb, kSize, gn, n), b, loc);
    memref::StoreOp::create(b, loc, v, k.bTile, ValueRange{kb, col});
  }
}

/// Phase 3: the thread's 4×4 outputs gain the staged tiles' products.
void multiplyTiles(Kernel &k, Value tx, Value ty, OpBuilder &b, Location loc) {
  scf::ForOp loop = accumulatingLoop(k, b, loc, index(b, loc, kStep), 1);
  Value kk = loop.getInductionVar();
  SmallVector<Value> a, bv;
  for (int64_t i = 0; i < kPerThread; ++i) {
    Value row = arith::AddIOp::create(b, loc, ty, index(b, loc, i * kThreads));
    a.push_back(memref::LoadOp::create(b, loc, k.aTile, ValueRange{kk, row}));
    Value col = arith::AddIOp::create(b, loc, tx, index(b, loc, i * kThreads));
    bv.push_back(memref::LoadOp::create(b, loc, k.bTile, ValueRange{kk, col}));
  }
  for (int64_t i = 0; i < kPerThread; ++i)
    for (int64_t j = 0; j < kPerThread; ++j) {
      int64_t q = i * kPerThread + j;
      // contract: one FMA per product (PTX keeps unflagged mul and add apart).
      auto fma = arith::FastMathFlags::contract;
      Value product = arith::MulFOp::create(b, loc, a[i], bv[j], fma);
      k.acc.set(b, loc, q, arith::AddFOp::create(b, loc, k.acc.get(b, loc, q), product, fma));
    }
  finish(k, loop, b, loc);
}

/// Phase 4: C[row, col] += the accumulators, within C.
void addToOutput(Kernel &k, Value tx, Value ty, OpBuilder &b, Location loc) {
  Value m = k.sizes[k.loops.m], n = k.sizes[k.loops.n];
  for (int64_t i = 0; i < kPerThread; ++i)
    for (int64_t j = 0; j < kPerThread; ++j) {
      Value row = arith::AddIOp::create(b, loc, k.m0, arith::AddIOp::create(b, loc, ty, index(b, loc, i * kThreads)));
      Value col = arith::AddIOp::create(b, loc, k.n0, arith::AddIOp::create(b, loc, tx, index(b, loc, j * kThreads)));
      auto ifOp = scf::IfOp::create(b, loc, inBounds(b, loc, row, m, col, n), /*withElseRegion=*/false);
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      SmallVector<Value> idx;
      Value c = operandIndexAt(k, 2, loopValues(k, row, col, index(b, loc, 0)), b, loc, idx);
      Value sum = arith::AddFOp::create(b, loc, memref::LoadOp::create(b, loc, c, idx),
                                        k.acc.get(b, loc, i * kPerThread + j));
      memref::StoreOp::create(b, loc, sum, c, idx);
    }
}

/// The batch loops' indices from a linear one (the last loop fastest).
SmallVector<Value> delinearize(Kernel &k, Value linear, OpBuilder &b, Location loc) {
  SmallVector<Value> idx(k.loops.batch.size());
  for (int64_t i = (int64_t)k.loops.batch.size() - 1; i >= 0; --i) {
    Value size = k.sizes[k.loops.batch[i]];
    idx[i] = arith::RemUIOp::create(b, loc, linear, size);
    linear = arith::DivUIOp::create(b, loc, linear, size);
  }
  return idx;
}

/// The tile loop over k, with `phase` emitting a phase for every thread.
template <typename EachThread>
void overK(Kernel &k, OpBuilder &b, Location loc, EachThread eachThread, function_ref<void()> barrier) {
  scf::ForOp loop = accumulatingLoop(k, b, loc, k.sizes[k.loops.k], kStep);
  Value k0 = loop.getInductionVar();
  eachThread([&](Value tx, Value ty) { stageTiles(k, tx, ty, k0, b, loc); });
  barrier();
  eachThread([&](Value tx, Value ty) { multiplyTiles(k, tx, ty, b, loc); });
  barrier();
  finish(k, loop, b, loc);
}

struct TileContractionsForGPUPass : sinter::impl::TileContractionsForGPUBase<TileContractionsForGPUPass> {
  using TileContractionsForGPUBase::TileContractionsForGPUBase;

  void runOnOperation() override {
    SmallVector<std::pair<linalg::GenericOp, sinter::ContractionLoops>> contractions;
    getOperation().walk([&](linalg::GenericOp op) {
      if (auto loops = sinter::matchContraction(op))
        contractions.emplace_back(op, *loops);
    });
    for (auto &[op, loops] : contractions) {
      Kernel k{op, loops, {}, {}, {}, {}, {}, {}, {}};
      OpBuilder b(op);
      Location loc = op.getLoc();
      for (Range r : cast<linalg::LinalgOp>(op.getOperation()).createLoopRanges(b, loc))
        k.sizes.push_back(getValueOrCreateConstantIndexOp(b, loc, r.size));
      Value batch = index(b, loc, 1);
      for (unsigned d : k.loops.batch)
        batch = arith::MulIOp::create(b, loc, batch, k.sizes[d]);
      Value tilesN = arith::CeilDivUIOp::create(b, loc, k.sizes[k.loops.n], index(b, loc, kTile));
      Value tilesM = arith::CeilDivUIOp::create(b, loc, k.sizes[k.loops.m], index(b, loc, kTile));
      if (emulate)
        emitLoops(k, b, loc, tilesN, tilesM, batch);
      else
        emitLaunch(k, b, loc, tilesN, tilesM, batch);
      op.erase();
    }
  }

  /// The kernel: one block per 64×64 tile of C and batch index.
  void emitLaunch(Kernel &k, OpBuilder &b, Location loc, Value tilesN, Value tilesM, Value batch) {
    MLIRContext *ctx = b.getContext();
    auto space = [&](gpu::AddressSpace s) { return gpu::AddressSpaceAttr::get(ctx, s); };
    auto tileType = MemRefType::get({kStep, kTile}, b.getF32Type(), AffineMap(), space(gpu::AddressSpace::Workgroup));
    Value threads = index(b, loc, kThreads), one = index(b, loc, 1);
    auto launch = gpu::LaunchOp::create(b, loc, tilesN, tilesM, batch, threads, threads, one, nullptr, nullptr, {},
                                        TypeRange{tileType, tileType});
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(&launch.getBody().front());
    k.aTile = launch.getWorkgroupAttributions()[0];
    k.bTile = launch.getWorkgroupAttributions()[1];
    gpu::KernelDim3 block = launch.getBlockIds(), thread = launch.getThreadIds();
    k.n0 = arith::MulIOp::create(b, loc, block.x, index(b, loc, kTile));
    k.m0 = arith::MulIOp::create(b, loc, block.y, index(b, loc, kTile));
    k.batchIdx = delinearize(k, block.z, b, loc);
    auto eachThread = [&](auto phase) { phase(thread.x, thread.y); };
    zeroAccumulators(k, b, loc);
    overK(k, b, loc, eachThread, [&] { gpu::BarrierOp::create(b, loc); });
    addToOutput(k, thread.x, thread.y, b, loc);
    gpu::TerminatorOp::create(b, loc);
  }

  /// The same per-thread code in loops on the CPU: blocks one after the
  /// other, each phase for all threads before the next (the barriers).
  void emitLoops(Kernel &k, OpBuilder &b, Location loc, Value tilesN, Value tilesM, Value batch) {
    auto f32 = b.getF32Type();
    Value aTile = memref::AllocOp::create(b, loc, MemRefType::get({kStep, kTile}, f32));
    Value bTile = memref::AllocOp::create(b, loc, MemRefType::get({kStep, kTile}, f32));
    Value acc = memref::AllocOp::create(b, loc, MemRefType::get({kThreads * kThreads, kAccumulators}, f32));
    Value zero = index(b, loc, 0), one = index(b, loc, 1), threads = index(b, loc, kThreads);
    scf::ForOp outer;
    SmallVector<Value> blockIds;
    for (Value count : {batch, tilesM, tilesN}) {
      auto loop = scf::ForOp::create(b, loc, zero, count, one);
      outer = outer ? outer : loop;
      b.setInsertionPointToStart(loop.getBody());
      blockIds.push_back(loop.getInductionVar());
    }
    k.aTile = aTile;
    k.bTile = bTile;
    k.acc.buffer = acc;
    k.batchIdx = delinearize(k, blockIds[0], b, loc);
    k.m0 = arith::MulIOp::create(b, loc, blockIds[1], index(b, loc, kTile));
    k.n0 = arith::MulIOp::create(b, loc, blockIds[2], index(b, loc, kTile));
    auto eachThread = [&](auto phase) {
      auto ys = scf::ForOp::create(b, loc, zero, threads, one);
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(ys.getBody());
      auto xs = scf::ForOp::create(b, loc, zero, threads, one);
      b.setInsertionPointToStart(xs.getBody());
      Value tx = xs.getInductionVar(), ty = ys.getInductionVar();
      k.acc.prefix = {arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, ty, threads), tx)};
      phase(tx, ty);
    };
    eachThread([&](Value, Value) { zeroAccumulators(k, b, loc); });
    overK(k, b, loc, eachThread, [] {});
    eachThread([&](Value tx, Value ty) { addToOutput(k, tx, ty, b, loc); });
    b.setInsertionPointAfter(outer);
    for (Value buffer : {aTile, bTile, acc})
      memref::DeallocOp::create(b, loc, buffer);
  }
};

} // namespace
