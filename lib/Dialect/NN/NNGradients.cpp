// Reverse-mode rules of nn ops (GradientOpInterface). Each rule builds the
// vector–Jacobian product with nn ops, recomputing what it needs from the
// op's operands and result instead of saving intermediates: a layer norm
// recomputes its mean and variance, a softmax reuses its output.
#include "sinter/Dialect/NN/NNDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"

#include <cmath>
#include <numeric>

using namespace mlir;

namespace sinter::nn {
namespace {

RankedTensorType typeOf(Value v) { return cast<RankedTensorType>(v.getType()); }

/// Builds gradient expressions for one op at the builder's insertion point.
class GradBuilder {
public:
  GradBuilder(OpBuilder &b, Operation *op) : b(b), loc(op->getLoc()) {}

  template <typename OpTy, typename... Args>
  Value make(Args &&...args) {
    return nn::make<OpTy>(b, loc, std::forward<Args>(args)...);
  }
  Value add(Value x, Value y) { return make<AddOp>(x, y); }
  Value sub(Value x, Value y) { return make<SubOp>(x, y); }
  Value mul(Value x, Value y) { return make<MulOp>(x, y); }
  Value div(Value x, Value y) { return make<DivOp>(x, y); }
  Value neg(Value x) { return NegOp::create(b, loc, x).getResult(); }

  /// A 0-D constant of `like`'s element type.
  Value scalar(Value like, double v) {
    Type elem = typeOf(like).getElementType();
    auto type = RankedTensorType::get({}, elem);
    return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(type, b.getFloatAttr(elem, v).getValue()));
  }
  Value i64s(ArrayRef<int64_t> v) {
    auto type = RankedTensorType::get({(int64_t)v.size()}, b.getI64Type());
    return arith::ConstantOp::create(b, loc, DenseIntElementsAttr::get(type, v));
  }
  Value shapeOf(Value v) { return make<ShapeOp>(v, b.getI64IntegerAttr(0), IntegerAttr()); }

  Value zerosLike(Value v) { return nn::zerosLike(b, loc, v); }
  Value orZero(Value grad, Value like) { return grad ? grad : zerosLike(like); }

  /// `v` with exactly `type` (refining `?` dims the inferred types lost).
  Value castTo(Value v, Type type) {
    if (v.getType() == type)
      return v;
    return tensor::CastOp::create(b, loc, type, v).getResult();
  }

  Value sum(Value v, ArrayRef<int64_t> axes, bool keep) {
    return make<ReduceSumOp>(v, b.getI64ArrayAttr(axes), b.getBoolAttr(keep), b.getBoolAttr(false));
  }
  Value mean(Value v, ArrayRef<int64_t> axes, bool keep) {
    return make<ReduceMeanOp>(v, b.getI64ArrayAttr(axes), b.getBoolAttr(keep), b.getBoolAttr(false));
  }

  /// Sums a gradient of a broadcast result back to the shape of `operand`:
  /// over the leading dims the operand lacks, and over its unit dims that
  /// the result widened.
  Value unbroadcast(Value grad, Value operand) {
    auto gt = typeOf(grad), ot = typeOf(operand);
    int64_t lead = gt.getRank() - ot.getRank();
    SmallVector<int64_t> leading, units;
    for (int64_t i = 0; i < lead; ++i)
      leading.push_back(i);
    for (int64_t i = 0; i < ot.getRank(); ++i)
      if (ot.getDimSize(i) == 1 && gt.getDimSize(i + lead) != 1)
        units.push_back(i);
    if (!leading.empty())
      grad = sum(grad, leading, /*keep=*/false);
    if (!units.empty())
      grad = sum(grad, units, /*keep=*/true);
    return castTo(grad, ot);
  }

  /// Swaps the last two dims.
  Value transposeLast2(Value v) {
    int64_t rank = typeOf(v).getRank();
    SmallVector<int64_t> perm(rank);
    std::iota(perm.begin(), perm.end(), 0);
    std::swap(perm[rank - 1], perm[rank - 2]);
    return make<TransposeOp>(v, b.getDenseI64ArrayAttr(perm));
  }

  OpBuilder &b;
  Location loc;
};

/// Fails for an operand that is wanted but cannot carry a gradient.
LogicalResult requireFloat(Operation *op, ArrayRef<bool> wanted) {
  for (auto [i, v] : llvm::enumerate(op->getOperands()))
    if (wanted[i] && !isa<FloatType>(typeOf(v).getElementType()))
      return op->emitError("cannot differentiate with respect to operand ")
             << i << ": its element type " << typeOf(v).getElementType() << " is not a float";
  return success();
}

/// The common shape of elementwise rules: one gradient per operand, each
/// built only when wanted and unbroadcast to its operand.
template <typename Fn>
LogicalResult elementwise(Operation *op, OpBuilder &b, ValueRange resultGrads, ArrayRef<bool> wanted,
                          SmallVectorImpl<Value> &out, Fn &&rule) {
  if (failed(requireFloat(op, wanted)))
    return failure();
  GradBuilder g(b, op);
  Value dy = g.orZero(resultGrads[0], op->getResult(0));
  for (auto [i, v] : llvm::enumerate(op->getOperands()))
    out.push_back(wanted[i] ? g.unbroadcast(rule(g, dy, (unsigned)i), v) : Value());
  return success();
}

/// Normalized, non-negative reduction axes from `axis` to the last dim.
SmallVector<int64_t> trailingAxes(int64_t axis, int64_t rank) {
  SmallVector<int64_t> axes;
  for (int64_t i = axis < 0 ? axis + rank : axis; i < rank; ++i)
    axes.push_back(i);
  return axes;
}

} // namespace

Value zerosLike(OpBuilder &b, Location loc, Value v) {
  auto t = typeOf(v);
  Attribute zero = b.getFloatAttr(t.getElementType(), 0.0);
  if (t.hasStaticShape())
    return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(t, zero));
  Value shape = make<ShapeOp>(b, loc, v, b.getI64IntegerAttr(0), IntegerAttr());
  Value z = make<ConstantOfShapeOp>(b, loc, shape, cast<TypedAttr>(zero));
  return z.getType() == t ? z : tensor::CastOp::create(b, loc, t, z).getResult();
}

#define NN_GRADIENT(OP)                                                                            \
  LogicalResult OP::buildGradients(OpBuilder &b, ValueRange resultGrads, ArrayRef<bool> wanted,   \
                                   SmallVectorImpl<Value> &out)

// --- Elementwise ------------------------------------------------------------

NN_GRADIENT(AddOp) {
  return elementwise(*this, b, resultGrads, wanted, out, [](GradBuilder &, Value dy, unsigned) { return dy; });
}
NN_GRADIENT(SubOp) {
  return elementwise(*this, b, resultGrads, wanted, out,
                     [](GradBuilder &g, Value dy, unsigned i) { return i == 0 ? dy : g.neg(dy); });
}
NN_GRADIENT(MulOp) {
  return elementwise(*this, b, resultGrads, wanted, out, [&](GradBuilder &g, Value dy, unsigned i) {
    return g.mul(dy, i == 0 ? getRhs() : getLhs());
  });
}
NN_GRADIENT(DivOp) {
  // d(a/b)/da = 1/b; d(a/b)/db = -(a/b)/b.
  return elementwise(*this, b, resultGrads, wanted, out, [&](GradBuilder &g, Value dy, unsigned i) {
    Value q = g.div(dy, getRhs());
    return i == 0 ? q : g.neg(g.mul(q, getOutput()));
  });
}
NN_GRADIENT(PowOp) {
  // d(a^p)/da = p·a^(p-1); d(a^p)/dp = a^p·ln a.
  return elementwise(*this, b, resultGrads, wanted, out, [&](GradBuilder &g, Value dy, unsigned i) {
    if (i == 1)
      return g.mul(dy, g.mul(getOutput(), LogOp::create(g.b, g.loc, getLhs()).getResult()));
    // p − 1 as a constant when p is one, so that the power lowers to
    // multiplies (negative bases included).
    DenseFPElementsAttr p;
    Value pm1 = matchPattern(getRhs(), m_Constant(&p)) && p.isSplat()
                    ? g.scalar(getRhs(), p.getSplatValue<APFloat>().convertToDouble() - 1.0)
                    : g.sub(getRhs(), g.scalar(getRhs(), 1.0));
    return g.mul(dy, g.mul(getRhs(), g.make<PowOp>(getLhs(), pm1)));
  });
}
/// max/min: the gradient goes to the operand that was chosen (the first on
/// ties, as the lowering picks it).
template <typename CmpOp>
static LogicalResult chooseGradient(Operation *op, OpBuilder &b, ValueRange resultGrads, ArrayRef<bool> wanted,
                                    SmallVectorImpl<Value> &out) {
  Value lhs = op->getOperand(0), rhs = op->getOperand(1);
  return elementwise(op, b, resultGrads, wanted, out, [&](GradBuilder &g, Value dy, unsigned i) {
    Value firstWins = NotOp::create(g.b, g.loc, g.make<CmpOp>(rhs, lhs)).getResult();
    Value zero = g.scalar(dy, 0.0);
    return i == 0 ? g.make<WhereOp>(firstWins, dy, zero) : g.make<WhereOp>(firstWins, zero, dy);
  });
}
NN_GRADIENT(MaxOp) { return chooseGradient<GreaterOp>(*this, b, resultGrads, wanted, out); }
NN_GRADIENT(MinOp) { return chooseGradient<LessOp>(*this, b, resultGrads, wanted, out); }

NN_GRADIENT(WhereOp) {
  // The condition is boolean: no gradient.
  SmallVector<bool> floats{false, wanted[1], wanted[2]};
  return elementwise(*this, b, resultGrads, floats, out, [&](GradBuilder &g, Value dy, unsigned i) {
    Value zero = g.scalar(dy, 0.0);
    return i == 1 ? g.make<WhereOp>(getCondition(), dy, zero) : g.make<WhereOp>(getCondition(), zero, dy);
  });
}

NN_GRADIENT(NegOp) {
  return elementwise(*this, b, resultGrads, wanted, out, [](GradBuilder &g, Value dy, unsigned) { return g.neg(dy); });
}
NN_GRADIENT(ExpOp) {
  return elementwise(*this, b, resultGrads, wanted, out,
                     [&](GradBuilder &g, Value dy, unsigned) { return g.mul(dy, getOutput()); });
}
NN_GRADIENT(LogOp) {
  return elementwise(*this, b, resultGrads, wanted, out,
                     [&](GradBuilder &g, Value dy, unsigned) { return g.div(dy, getInput()); });
}
NN_GRADIENT(SqrtOp) {
  return elementwise(*this, b, resultGrads, wanted, out, [&](GradBuilder &g, Value dy, unsigned) {
    return g.div(g.mul(dy, g.scalar(dy, 0.5)), getOutput());
  });
}
NN_GRADIENT(ReciprocalOp) {
  return elementwise(*this, b, resultGrads, wanted, out, [&](GradBuilder &g, Value dy, unsigned) {
    return g.neg(g.mul(dy, g.mul(getOutput(), getOutput())));
  });
}
NN_GRADIENT(TanhOp) {
  return elementwise(*this, b, resultGrads, wanted, out, [&](GradBuilder &g, Value dy, unsigned) {
    Value y = getOutput();
    return g.mul(dy, g.sub(g.scalar(y, 1.0), g.mul(y, y)));
  });
}
NN_GRADIENT(SigmoidOp) {
  return elementwise(*this, b, resultGrads, wanted, out, [&](GradBuilder &g, Value dy, unsigned) {
    Value y = getOutput();
    return g.mul(dy, g.mul(y, g.sub(g.scalar(y, 1.0), y)));
  });
}
NN_GRADIENT(ReluOp) {
  return elementwise(*this, b, resultGrads, wanted, out, [&](GradBuilder &g, Value dy, unsigned) {
    Value positive = g.make<GreaterOp>(getInput(), g.scalar(dy, 0.0));
    return g.make<WhereOp>(positive, dy, g.scalar(dy, 0.0));
  });
}
NN_GRADIENT(ErfOp) {
  // d erf(x)/dx = 2/√π · exp(-x²).
  return elementwise(*this, b, resultGrads, wanted, out, [&](GradBuilder &g, Value dy, unsigned) {
    Value x = getInput();
    Value e = g.make<ExpOp>(g.neg(g.mul(x, x)));
    return g.mul(dy, g.mul(e, g.scalar(x, 2.0 / std::sqrt(M_PI))));
  });
}
NN_GRADIENT(GeluOp) {
  bool tanhForm = getApproximate() == "tanh"; // else "none" (the verifier allows no other)
  return elementwise(*this, b, resultGrads, wanted, out, [&](GradBuilder &g, Value dy, unsigned) {
    Value x = getInput();
    if (tanhForm) {
      // y = x/2·(1 + t), t = tanh(u), u = √(2/π)·(x + c·x³):
      // dy/dx = (1 + t)/2 + x/2·(1 − t²)·√(2/π)·(1 + 3c·x²).
      const double c = 0.044715, k = std::sqrt(2.0 / M_PI);
      Value x2 = g.mul(x, x);
      Value t = g.make<TanhOp>(g.mul(g.scalar(x, k), g.add(x, g.mul(g.scalar(x, c), g.mul(x2, x)))));
      Value du = g.mul(g.scalar(x, k), g.add(g.scalar(x, 1.0), g.mul(g.scalar(x, 3 * c), x2)));
      Value half = g.scalar(x, 0.5);
      Value dt = g.mul(g.mul(half, x), g.mul(g.sub(g.scalar(x, 1.0), g.mul(t, t)), du));
      return g.mul(dy, g.add(g.mul(half, g.add(g.scalar(x, 1.0), t)), dt));
    }
    // d/dx x·Φ(x) = Φ(x) + x·φ(x).
    Value erf = g.make<ErfOp>(g.mul(x, g.scalar(x, M_SQRT1_2)));
    Value cdf = g.mul(g.add(erf, g.scalar(x, 1.0)), g.scalar(x, 0.5));
    Value pdf = g.mul(g.make<ExpOp>(g.mul(g.mul(x, x), g.scalar(x, -0.5))), g.scalar(x, 0.5 * M_2_SQRTPI * M_SQRT1_2));
    return g.mul(dy, g.add(cdf, g.mul(x, pdf)));
  });
}
NN_GRADIENT(AbsOp) {
  // dy·sign(x), sign(0) = 0.
  return elementwise(*this, b, resultGrads, wanted, out, [&](GradBuilder &g, Value dy, unsigned) {
    Value x = getInput(), zero = g.scalar(dy, 0.0);
    Value negative = g.make<WhereOp>(g.make<LessOp>(x, zero), g.neg(dy), zero);
    return g.make<WhereOp>(g.make<GreaterOp>(x, zero), dy, negative);
  });
}
NN_GRADIENT(LeakyReluOp) {
  return elementwise(*this, b, resultGrads, wanted, out, [&](GradBuilder &g, Value dy, unsigned) {
    Value positive = g.make<GreaterOp>(getInput(), g.scalar(dy, 0.0));
    return g.make<WhereOp>(positive, dy, g.mul(dy, g.scalar(dy, getAlpha().convertToDouble())));
  });
}
NN_GRADIENT(HardSigmoidOp) {
  // alpha·dy where 0 < alpha·x + beta < 1 (the unclipped part), else 0.
  return elementwise(*this, b, resultGrads, wanted, out, [&](GradBuilder &g, Value dy, unsigned) {
    double alpha = getAlpha().convertToDouble();
    Value z = g.add(g.mul(getInput(), g.scalar(dy, alpha)), g.scalar(dy, getBeta().convertToDouble()));
    Value inside = g.make<AndOp>(g.make<GreaterOp>(z, g.scalar(dy, 0.0)), g.make<LessOp>(z, g.scalar(dy, 1.0)));
    return g.make<WhereOp>(inside, g.mul(dy, g.scalar(dy, alpha)), g.scalar(dy, 0.0));
  });
}
NN_GRADIENT(FloorOp) {
  // Piecewise constant: zero almost everywhere (as PyTorch defines it).
  return elementwise(*this, b, resultGrads, wanted, out,
                     [&](GradBuilder &g, Value dy, unsigned) { return g.zerosLike(dy); });
}
NN_GRADIENT(ClipOp) {
  // dy where min ≤ x ≤ max (inclusive, as PyTorch's clamp); a bound given
  // as a tensor gets dy where it clipped.
  Value x = getInput(), lo = getMin(), hi = getMax();
  return elementwise(*this, b, resultGrads, wanted, out, [&](GradBuilder &g, Value dy, unsigned i) {
    Value zero = g.scalar(dy, 0.0);
    Value belowLo = lo ? g.make<LessOp>(x, lo) : Value(), aboveHi = hi ? g.make<GreaterOp>(x, hi) : Value();
    if (i == 0) {
      Value clipped = belowLo && aboveHi ? g.make<OrOp>(belowLo, aboveHi) : belowLo ? belowLo : aboveHi;
      return clipped ? g.make<WhereOp>(clipped, zero, dy) : dy;
    }
    bool isMin = lo && i == 1;
    return g.make<WhereOp>(isMin ? belowLo : aboveHi, dy, zero);
  });
}
NN_GRADIENT(CastOp) {
  // Between float types the gradient casts back; an integer result carries
  // none.
  if (failed(requireFloat(*this, wanted)))
    return failure();
  GradBuilder g(b, *this);
  if (!wanted[0]) {
    out.push_back(Value());
    return success();
  }
  Value dy = resultGrads[0];
  if (!dy || !isa<FloatType>(typeOf(getOutput()).getElementType())) {
    out.push_back(g.zerosLike(getInput()));
    return success();
  }
  out.push_back(CastOp::create(b, getLoc(), getInput().getType(), dy).getResult());
  return success();
}

// --- Contractions and normalization -----------------------------------------

NN_GRADIENT(MatMulOp) {
  if (failed(requireFloat(*this, wanted)))
    return failure();
  Value a = getLhs(), w = getRhs();
  int64_t ra = typeOf(a).getRank(), rw = typeOf(w).getRank();
  if (ra < 2 || rw < 2)
    return emitError("cannot differentiate a matmul with a 1-D operand");
  GradBuilder g(b, *this);
  Value dy = g.orZero(resultGrads[0], getOutput());
  // dA = dY·Bᵀ, dB = Aᵀ·dY, each summed over the batch dims it broadcast.
  out.push_back(wanted[0] ? g.unbroadcast(g.make<MatMulOp>(dy, g.transposeLast2(w)), a) : Value());
  if (!wanted[1]) {
    out.push_back(Value());
    return success();
  }
  int64_t k = typeOf(a).getDimSize(ra - 1), n = typeOf(dy).getDimSize(ra - 1);
  if (rw == 2 && ra > 2 && !ShapedType::isDynamic(k) && !ShapedType::isDynamic(n)) {
    // A shared matrix: one GEMM over all rows instead of a batched product
    // summed afterwards.
    Value a2 = g.make<ReshapeOp>(a, g.i64s({-1, k}), b.getBoolAttr(false));
    Value dy2 = g.make<ReshapeOp>(dy, g.i64s({-1, n}), b.getBoolAttr(false));
    out.push_back(g.castTo(g.make<MatMulOp>(g.transposeLast2(a2), dy2), w.getType()));
    return success();
  }
  out.push_back(g.unbroadcast(g.make<MatMulOp>(g.transposeLast2(a), dy), w));
  return success();
}

NN_GRADIENT(GemmOp) {
  // Y = α·A'·B' + β·C with A' = Aᵀ if transA (B' likewise): dA' = α·dY·B'ᵀ,
  // dB' = α·A'ᵀ·dY, each transposed back when its operand was; dC = β·dY,
  // summed over what C broadcast.
  if (failed(requireFloat(*this, wanted)))
    return failure();
  GradBuilder g(b, *this);
  Value dy = g.orZero(resultGrads[0], getOutput());
  // A'ᵀ and B'ᵀ: the operand itself where it was transposed.
  Value at = getTransA() ? getA() : g.transposeLast2(getA());
  Value wt = getTransB() ? getB() : g.transposeLast2(getB());
  Value alpha = g.scalar(dy, getAlpha().convertToDouble());
  auto scaled = [&](Value v) { return getAlpha().convertToDouble() == 1.0 ? v : g.mul(v, alpha); };
  auto back = [&](Value grad, bool transposed, Value operand) {
    return g.castTo(transposed ? g.transposeLast2(grad) : grad, operand.getType());
  };
  out.push_back(wanted[0] ? back(scaled(g.make<MatMulOp>(dy, wt)), getTransA(), getA()) : Value());
  out.push_back(wanted[1] ? back(scaled(g.make<MatMulOp>(at, dy)), getTransB(), getB()) : Value());
  if (getC())
    out.push_back(wanted[2] ? g.unbroadcast(g.mul(dy, g.scalar(dy, getBeta().convertToDouble())), getC()) : Value());
  return success();
}

NN_GRADIENT(SoftmaxOp) {
  if (failed(requireFloat(*this, wanted)))
    return failure();
  // dx = y ⊙ (dy − Σ dy⊙y).
  GradBuilder g(b, *this);
  Value y = getOutput(), dy = g.orZero(resultGrads[0], y);
  Value dot = g.sum(g.mul(dy, y), {(int64_t)getAxis()}, true);
  out.push_back(g.castTo(g.mul(y, g.sub(dy, dot)), getInput().getType()));
  return success();
}

NN_GRADIENT(LogSoftmaxOp) {
  if (failed(requireFloat(*this, wanted)))
    return failure();
  // dx = dy − softmax(x)·Σ dy.
  GradBuilder g(b, *this);
  Value y = getOutput(), dy = g.orZero(resultGrads[0], y);
  Value total = g.sum(dy, {(int64_t)getAxis()}, true);
  out.push_back(g.castTo(g.sub(dy, g.mul(g.make<ExpOp>(y), total)), getInput().getType()));
  return success();
}

NN_GRADIENT(LayerNormOp) {
  if (failed(requireFloat(*this, wanted)))
    return failure();
  GradBuilder g(b, *this);
  Value x = getInput(), dy = g.orZero(resultGrads[0], getOutput());
  SmallVector<int64_t> axes = trailingAxes((int64_t)getAxis(), typeOf(x).getRank());
  // Recompute x̂ = (x − μ)·rstd.
  Value xc = g.sub(x, g.mean(x, axes, true));
  Value var = g.mean(g.mul(xc, xc), axes, true);
  Value rstd = g.make<ReciprocalOp>(g.make<SqrtOp>(g.add(var, g.scalar(x, getEpsilon().convertToDouble()))));
  Value xhat = g.mul(xc, rstd);
  // dx = rstd·(d − mean(d) − x̂·mean(d⊙x̂)) with d = dy⊙γ.
  Value d = g.mul(dy, getScale());
  Value dx = g.mul(rstd, g.sub(g.sub(d, g.mean(d, axes, true)), g.mul(xhat, g.mean(g.mul(d, xhat), axes, true))));
  out.push_back(wanted[0] ? g.castTo(dx, x.getType()) : Value());
  out.push_back(wanted[1] ? g.unbroadcast(g.mul(dy, xhat), getScale()) : Value());
  if (getBias())
    out.push_back(wanted[2] ? g.unbroadcast(dy, getBias()) : Value());
  return success();
}

/// Reductions: the gradient spreads back over the reduced dims, divided
/// by their count for a mean; for a max it goes to the elements equal to
/// the maximum, shared evenly between ties (as PyTorch's amax).
enum class Reduction { Sum, Mean, Max };
template <typename ReduceOp>
static LogicalResult reduceGradient(ReduceOp op, OpBuilder &b, ValueRange resultGrads, ArrayRef<bool> wanted,
                                    SmallVectorImpl<Value> &out, Reduction kind) {
  if (failed(requireFloat(op, wanted)))
    return failure();
  Value x = op.getInput(), y = op.getOutput();
  auto xt = typeOf(x);
  auto mask = reductionMask(xt.getRank(), op.getAxes(), op.getNoopWithEmptyAxes());
  if (failed(mask))
    return op.emitError("invalid reduction axes");
  GradBuilder g(b, op);
  Value dy = g.orZero(resultGrads[0], y);
  SmallVector<int64_t> reduced;
  int64_t count = 1;
  for (auto [i, r] : llvm::enumerate(*mask))
    if (r) {
      reduced.push_back(i);
      if (xt.isDynamicDim(i))
        return op.emitError("cannot differentiate a reduction over a symbolic dimension");
      count *= xt.getDimSize(i);
    }
  if (!op.getKeepdims()) {
    dy = g.make<UnsqueezeOp>(dy, b.getDenseI64ArrayAttr(reduced));
    y = g.make<UnsqueezeOp>(y, b.getDenseI64ArrayAttr(reduced));
  }
  if (kind == Reduction::Mean)
    dy = g.mul(dy, g.scalar(x, 1.0 / (double)count));
  Value dx = g.make<ExpandOp>(dy, g.shapeOf(x));
  if (kind == Reduction::Max) {
    Value hit = g.make<EqualOp>(x, y);
    Value share = CastOp::create(b, op.getLoc(), typeOf(hit).clone(xt.getElementType()), hit).getResult();
    dx = g.div(g.mul(dx, share), g.sum(share, reduced, /*keep=*/true));
  }
  out.push_back(g.castTo(dx, x.getType()));
  return success();
}
NN_GRADIENT(ReduceSumOp) { return reduceGradient(*this, b, resultGrads, wanted, out, Reduction::Sum); }
NN_GRADIENT(ReduceMeanOp) { return reduceGradient(*this, b, resultGrads, wanted, out, Reduction::Mean); }
NN_GRADIENT(ReduceMaxOp) { return reduceGradient(*this, b, resultGrads, wanted, out, Reduction::Max); }

// --- Data movement ----------------------------------------------------------

NN_GRADIENT(TransposeOp) {
  GradBuilder g(b, *this);
  ArrayRef<int64_t> perm = getPerm();
  SmallVector<int64_t> inverse(perm.size());
  for (auto [i, p] : llvm::enumerate(perm))
    inverse[p] = i;
  Value dy = g.orZero(resultGrads[0], getOutput());
  out.push_back(g.castTo(g.make<TransposeOp>(dy, b.getDenseI64ArrayAttr(inverse)), getData().getType()));
  return success();
}

/// Ops that only reshape: the gradient takes the input's shape back.
static LogicalResult reshapeBack(Operation *op, Value input, OpBuilder &b, ValueRange resultGrads,
                                 SmallVectorImpl<Value> &out, unsigned numOperands) {
  GradBuilder g(b, op);
  Value dy = g.orZero(resultGrads[0], op->getResult(0));
  Value back = g.make<ReshapeOp>(dy, g.shapeOf(input), b.getBoolAttr(true));
  out.push_back(g.castTo(back, input.getType()));
  out.append(numOperands - 1, Value()); // the shape operand, if any
  return success();
}
NN_GRADIENT(ReshapeOp) { return reshapeBack(*this, getData(), b, resultGrads, out, 2); }
NN_GRADIENT(SqueezeOp) { return reshapeBack(*this, getData(), b, resultGrads, out, 1); }
NN_GRADIENT(UnsqueezeOp) { return reshapeBack(*this, getData(), b, resultGrads, out, 1); }

NN_GRADIENT(ExpandOp) {
  GradBuilder g(b, *this);
  Value dy = g.orZero(resultGrads[0], getOutput());
  out.push_back(wanted[0] ? g.unbroadcast(dy, getInput()) : Value());
  out.push_back(Value());
  return success();
}

NN_GRADIENT(SplitOp) {
  // The parts' gradients, side by side again.
  GradBuilder g(b, *this);
  SmallVector<Value> parts;
  for (auto [dy, r] : llvm::zip(resultGrads, getResults()))
    parts.push_back(g.orZero(dy, r));
  Value whole = ConcatOp::create(b, getLoc(), parts, getAxisAttr()).getResult();
  out.push_back(g.castTo(whole, getInput().getType()));
  return success();
}

NN_GRADIENT(ConcatOp) {
  auto rank = typeOf(getOutput()).getRank();
  auto axis = normalizeAxis((int64_t)getAxis(), rank);
  if (failed(axis))
    return emitError("invalid concat axis");
  GradBuilder g(b, *this);
  Value dy = g.orZero(resultGrads[0], getOutput());
  SmallVector<int64_t> sizes;
  for (Value v : getInputs())
    sizes.push_back(typeOf(v).getDimSize(*axis));
  if (llvm::none_of(sizes, ShapedType::isDynamic)) {
    SmallVector<Type> types(getInputs().getTypes());
    auto split = SplitOp::create(b, getLoc(), types, dy, b.getI64IntegerAttr(*axis), b.getDenseI64ArrayAttr(sizes));
    for (auto [i, part] : llvm::enumerate(split.getResults()))
      out.push_back(wanted[i] ? part : Value());
    return success();
  }
  // Sizes known only at run time: slice dY at offsets summed from the
  // inputs' shapes.
  Value offset = g.i64s({0}), axes = g.i64s({*axis});
  for (auto [i, v] : llvm::enumerate(getInputs())) {
    Value size = g.make<ShapeOp>(v, b.getI64IntegerAttr(*axis), b.getI64IntegerAttr(*axis + 1));
    Value end = g.add(offset, size);
    out.push_back(wanted[i] ? g.castTo(g.make<SliceOp>(dy, offset, end, axes, Value()), v.getType()) : Value());
    offset = end;
  }
  return success();
}

NN_GRADIENT(SliceOp) {
  // dX is dY between zeros: the parts of a zero tensor that the same starts
  // and ends cut off, so ONNX's clamping and negative indices apply alike.
  auto steps = getSteps() ? getConstantInts(getSteps()) : std::optional<SmallVector<int64_t>>(SmallVector<int64_t>{1});
  auto axes = getAxes() ? getConstantInts(getAxes()) : std::optional<SmallVector<int64_t>>(SmallVector<int64_t>{0});
  if (typeOf(getStarts()).getNumElements() != 1 || !steps || !axes || (*steps)[0] != 1)
    return emitError("cannot differentiate a slice other than one with step 1 along one axis");
  auto axis = normalizeAxis((*axes)[0], typeOf(getData()).getRank());
  if (failed(axis))
    return emitError("invalid slice axis");
  out.append(getNumOperands(), Value());
  if (!wanted[0])
    return success();
  GradBuilder g(b, *this);
  Value dy = g.orZero(resultGrads[0], getOutput());
  Value zeros = g.zerosLike(getData());
  // A bound of the index type of `like` (i32 or i64): 0, or "to the end".
  auto bound = [&](Value like, bool end) {
    auto type = RankedTensorType::get({1}, typeOf(like).getElementType());
    int64_t v = end ? (type.getElementType().isInteger(32) ? INT32_MAX : INT64_MAX) : 0;
    return arith::ConstantOp::create(b, getLoc(), DenseIntElementsAttr::get(type, ArrayRef<int64_t>{v})).getResult();
  };
  Value axisIdx = g.i64s({*axis});
  Value before = g.make<SliceOp>(zeros, bound(getStarts(), false), getStarts(), axisIdx, Value());
  Value after = g.make<SliceOp>(zeros, getEnds(), bound(getEnds(), true), axisIdx, Value());
  Value whole = ConcatOp::create(b, getLoc(), ValueRange{before, dy, after}, b.getI64IntegerAttr(*axis)).getResult();
  out[0] = g.castTo(whole, getData().getType());
  return success();
}

#undef NN_GRADIENT

} // namespace sinter::nn
