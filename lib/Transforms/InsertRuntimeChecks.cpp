// Run-time checks for what only the inputs decide: Gather indices in range,
// and agreement of symbolic dimensions that the lowering assumes equal
// (broadcasting operands, contraction sizes, concat and layer-norm dims).
// Without them a bad input would read out of bounds or give a wrong answer.
#include "sinter/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Matchers.h"
#include "sinter/Dialect/GSE/GSEDialect.h"
#include "sinter/Frontend/ONNXImporter.h"
#include "llvm/ADT/TypeSwitch.h"

namespace sinter {
#define GEN_PASS_DEF_INSERTRUNTIMECHECKS
#include "sinter/Transforms/Passes.h.inc"
} // namespace sinter

using namespace mlir;
using namespace sinter::nn;

namespace sinter {
namespace {

RankedTensorType rankedOf(Value v) { return cast<RankedTensorType>(v.getType()); }


std::string describeOp(Operation *op) {
  if (auto name = dyn_cast<NameLoc>(op->getLoc()))
    return name.getName().str();
  return "'" + op->getName().getStringRef().str() + "'";
}

/// Collects checks: each is a 0-D i32 tensor that is 1 when it fails.
class Checks {
public:
  explicit Checks(MLIRContext *ctx) : b(ctx) {}

  Value scalar(Location loc, Type elem, int64_t v) {
    auto type = RankedTensorType::get({}, elem);
    return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(type, b.getIntegerAttr(elem, v).getValue()));
  }
  /// `v` as a constant tensor<1xi64>.
  Value i64Vector(Location loc, int64_t v) {
    auto type = RankedTensorType::get({1}, b.getI64Type());
    return arith::ConstantOp::create(b, loc, DenseIntElementsAttr::get(type, {v}));
  }
  /// Dimension `i` of `v` as tensor<1xi64> (a constant when static).
  Value dim(Location loc, Value v, int64_t i) {
    auto t = rankedOf(v);
    if (!t.isDynamicDim(i))
      return i64Vector(loc, t.getDimSize(i));
    return make<ShapeOp>(b, loc, v, b.getI64IntegerAttr(i), b.getI64IntegerAttr(i + 1));
  }
  /// Adds "any element of `bad` (i1) is set" as a failing condition.
  void addAny(Location loc, Value bad, std::string message) {
    Type i32 = b.getI32Type();
    Value asInt = CastOp::create(b, loc, rankedOf(bad).clone(i32), bad);
    Value any = make<ReduceMaxOp>(b, loc, asInt, ArrayAttr(), b.getBoolAttr(false), b.getBoolAttr(false));
    any = make<MaxOp>(b, loc, any, scalar(loc, i32, 0)); // empty → INT_MIN
    codes.push_back(make<MulOp>(b, loc, any, scalar(loc, i32, codes.size() + 1)));
    messages.push_back(b.getStringAttr(message));
  }
  /// dim a[i] must equal dim c[j]; only emitted when one of them is symbolic.
  void addDimsEqual(Operation *op, Value a, int64_t i, Value c, int64_t j, StringRef what) {
    if (!rankedOf(a).isDynamicDim(i) && !rankedOf(c).isDynamicDim(j))
      return;
    Location loc = op->getLoc();
    Value ne = make<NotOp>(b, loc, make<EqualOp>(b, loc, dim(loc, a, i), dim(loc, c, j)));
    addAny(loc, ne, describeOp(op) + ": " + what.str() + " differ at run time");
  }
  /// ONNX broadcasting: the lowering takes each symbolic result dim from the
  /// first operand that has it symbolic and never broadcasts a symbolic dim.
  void addBroadcast(Operation *op, ValueRange operands, RankedTensorType result) {
    int64_t rank = result.getRank();
    for (int64_t i = 0; i < rank; ++i) {
      Value ref;
      int64_t refDim = 0;
      for (Value v : operands) {
        int64_t j = i - (rank - rankedOf(v).getRank());
        if (j < 0 || rankedOf(v).getDimSize(j) == 1)
          continue;
        if (!ref) {
          ref = v;
          refDim = j;
          continue;
        }
        addDimsEqual(op, ref, refDim, v, j, "broadcast dimensions");
      }
    }
  }

  void addGatherRange(GatherOp g) {
    int64_t axis = *normalizeAxis(g.getAxis(), rankedOf(g.getData()).getRank());
    addIndexRange(g, g.getIndices(), dim(g.getLoc(), g.getData(), axis));
  }

  /// Every index of `op` in [−n, n), `size` holding n as an i64 [1].
  void addIndexRange(Operation *op, Value idx, Value size) {
    Location loc = op->getLoc();
    Type elem = rankedOf(idx).getElementType();
    Value n = CastOp::create(b, loc, RankedTensorType::get({1}, elem), size);
    Value negN = make<NegOp>(b, loc, n);
    Value last = make<SubOp>(b, loc, n, scalar(loc, elem, 1));
    Value bad = make<OrOp>(b, loc, make<LessOp>(b, loc, idx, negN), make<GreaterOp>(b, loc, idx, last));
    addAny(loc, bad, describeOp(op) + ": index out of range");
  }

  void visit(Operation *op) {
    b.setInsertionPoint(op);
    llvm::TypeSwitch<Operation *>(op)
        .Case<AddOp, SubOp, MulOp, DivOp, PowOp, EqualOp, LessOp, GreaterOp, AndOp, OrOp, MaxOp,
              MinOp, WhereOp>([&](Operation *o) {
          addBroadcast(o, o->getOperands(), rankedOf(o->getResult(0)));
        })
        .Case<MatMulOp>([&](MatMulOp m) {
          auto lt = rankedOf(m.getLhs()), rt = rankedOf(m.getRhs());
          int64_t kl = lt.getRank() - 1, kr = rt.getRank() == 1 ? 0 : rt.getRank() - 2;
          addDimsEqual(m, m.getLhs(), kl, m.getRhs(), kr, "contraction dimensions");
          if (lt.getRank() > 2 || rt.getRank() > 2) {
            // Batch dims broadcast like elementwise operands.
            int64_t batch = m.getType().getRank() - 2;
            auto batchOnly = [&](Value v) { return rankedOf(v).getRank() >= 2 ? v : Value(); };
            for (int64_t i = 0; i < batch; ++i) {
              Value l = batchOnly(m.getLhs()), r = batchOnly(m.getRhs());
              int64_t jl = l ? i - (batch - (lt.getRank() - 2)) : -1;
              int64_t jr = r ? i - (batch - (rt.getRank() - 2)) : -1;
              if (jl >= 0 && jr >= 0 && lt.getDimSize(jl) != 1 && rt.getDimSize(jr) != 1)
                addDimsEqual(m, l, jl, r, jr, "batch dimensions");
            }
          }
        })
        .Case<GemmOp>([&](GemmOp g) {
          addDimsEqual(g, g.getA(), g.getTransA() ? 0 : 1, g.getB(), g.getTransB() ? 1 : 0,
                       "contraction dimensions");
        })
        .Case<ConcatOp>([&](ConcatOp c) {
          int64_t axis = *normalizeAxis(c.getAxis(), c.getType().getRank());
          for (Value v : llvm::drop_begin(c.getInputs()))
            for (int64_t i = 0; i < c.getType().getRank(); ++i)
              if (i != axis)
                addDimsEqual(c, c.getInputs()[0], i, v, i, "non-concatenated dimensions");
        })
        .Case<LayerNormOp>([&](LayerNormOp l) {
          for (Value p : {l.getScale(), l.getBias()}) {
            if (!p)
              continue;
            int64_t off = rankedOf(l.getInput()).getRank() - rankedOf(p).getRank();
            for (int64_t i = 0; i < rankedOf(p).getRank(); ++i)
              if (rankedOf(p).getDimSize(i) != 1)
                addDimsEqual(l, l.getInput(), i + off, p, i, "scale/bias dimensions");
          }
        })
        .Case<AttentionOp>([&](AttentionOp a) {
          addDimsEqual(a, a.getQuery(), 0, a.getKey(), 0, "query and key batch dimensions");
          addDimsEqual(a, a.getQuery(), 0, a.getValue(), 0, "query and value batch dimensions");
          addDimsEqual(a, a.getKey(), 1, a.getValue(), 1, "key and value sequence lengths");
        })
        .Case<GatherOp>([&](GatherOp g) {
          if (!matchPattern(g.getIndices(), m_Constant()))
            addGatherRange(g);
        })
        .Case<gse::GatherOp>([&](gse::GatherOp g) { // an embedding quantized by --compress=gse
          if (!matchPattern(g.getIndices(), m_Constant()))
            addIndexRange(g, g.getIndices(), i64Vector(g.getLoc(), cast<gse::GSETensorType>(g.getTable().getType()).getShape()[0]));
        });
  }

  OpBuilder b;
  SmallVector<Value> codes;
  SmallVector<Attribute> messages;
};

struct InsertRuntimeChecksPass : impl::InsertRuntimeChecksBase<InsertRuntimeChecksPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (isEntryFunction(func))
        addChecks(func);
  }

  void addChecks(func::FuncOp func) {
    if (llvm::any_of(llvm::seq<unsigned>(0, func.getNumResults()), [&](unsigned i) {
          return func.getResultAttr(i, kStatusAttr) != nullptr;
        }))
      return; // already checked
    Checks checks(&getContext());
    SmallVector<Operation *> ops;
    func.walk([&](Operation *op) {
      if (op->getDialect() && isa<NNDialect, gse::GSEDialect>(op->getDialect()))
        ops.push_back(op);
    });
    for (Operation *op : ops)
      checks.visit(op);
    if (checks.codes.empty())
      return;
    // The first failing check in program order is the root cause: status is
    // the smallest non-zero code (0 when none failed).
    auto ret = cast<func::ReturnOp>(func.getBody().back().getTerminator());
    OpBuilder &b = checks.b;
    b.setInsertionPoint(ret);
    Location loc = ret.getLoc();
    Type i32 = b.getI32Type();
    Value none = checks.scalar(loc, i32, INT32_MAX), zero = checks.scalar(loc, i32, 0);
    Value status = none;
    for (Value c : checks.codes) {
      Value failed = make<GreaterOp>(b, loc, c, zero);
      status = make<MinOp>(b, loc, status, make<WhereOp>(b, loc, failed, c, none));
    }
    status = make<WhereOp>(b, loc, make<EqualOp>(b, loc, status, none), zero, status);
    SmallVector<Value> results(ret.getOperands());
    results.push_back(status);
    ret->setOperands(results);
    SmallVector<Type> types(func.getResultTypes());
    types.push_back(status.getType());
    SmallVector<DictionaryAttr> attrs;
    for (unsigned i = 0; i < func.getNumResults(); ++i)
      attrs.push_back(func.getResultAttrDict(i) ? func.getResultAttrDict(i) : b.getDictionaryAttr({}));
    attrs.push_back(b.getDictionaryAttr({b.getNamedAttr(kStatusAttr, b.getUnitAttr())}));
    func.setFunctionType(b.getFunctionType(func.getArgumentTypes(), types));
    func.setAllResultAttrs(attrs);
    func->setAttr(kCheckNamesAttr, b.getArrayAttr(checks.messages));
  }
};

} // namespace
} // namespace sinter
