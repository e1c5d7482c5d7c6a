// sinter-add-lora-training: LoRA adapters on the model's linears and an
// Adam training step, as entry points of the emitted object
// (include/sinter/Training/Passes.td; the C side is sinter_lora in
// sinter.h).
#include "sinter/Compression/Linears.h"
#include "sinter/Compression/Passes.h"
#include "sinter/Dialect/GSE/GSEDialect.h"
#include "sinter/Frontend/ONNXImporter.h"
#include "sinter/Training/Gradients.h"
#include "sinter/Training/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/StringExtras.h"

#include <numeric>

namespace sinter {
#define GEN_PASS_DEF_ADDLORATRAINING
#include "sinter/Training/Passes.h.inc"
} // namespace sinter

using namespace mlir;
using namespace sinter::nn;

namespace sinter {
namespace {

RankedTensorType typeOf(Value v) { return cast<RankedTensorType>(v.getType()); }


Value f32Scalar(OpBuilder &b, Location loc, double v) {
  auto type = RankedTensorType::get({}, b.getF32Type());
  return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(type, b.getF32FloatAttr(v).getValue()));
}

DictionaryAttr nameAttr(OpBuilder &b, StringRef name, ArrayAttr dimNames = {}) {
  SmallVector<NamedAttribute> attrs{b.getNamedAttr(kTensorNameAttr, b.getStringAttr(name))};
  if (dimNames)
    attrs.push_back(b.getNamedAttr(kDimNamesAttr, dimNames));
  return b.getDictionaryAttr(attrs);
}

/// Appends an argument to `func` (type and attributes kept in step).
BlockArgument appendArgument(func::FuncOp func, Type type, DictionaryAttr attrs) {
  unsigned i = func.getNumArguments();
  if (failed(func.insertArgument(i, type, attrs, func.getLoc())))
    llvm::report_fatal_error("sinter: cannot add an argument");
  return func.getArgument(i);
}

struct AdapterInfo {
  std::string name;
  int64_t dIn, dOut;
};

/// A linear LoRA can adapt: x·W with W frozen, in f32 (nn.matmul) or
/// quantized (gse.matmul(gse.quantize(x), gse.constant W)).
struct FrozenLinear {
  std::string name;
  Operation *product; // computes x·W
  Value input;        // x
  int64_t dIn, dOut;
  bool head;          // the model's last projection (see Linear::head)
};

/// Whether `v` reaches a function result without passing another linear.
bool reachesResult(Value v) {
  SmallVector<Value> work{v};
  llvm::DenseSet<Value> seen{v};
  while (!work.empty())
    for (Operation *user : work.pop_back_val().getUsers()) {
      if (isa<func::ReturnOp>(user))
        return true;
      if (isa<MatMulOp, gse::QuantizeOp>(user))
        continue;
      for (Value r : user->getResults())
        if (seen.insert(r).second)
          work.push_back(r);
    }
  return false;
}

SmallVector<FrozenLinear> frozenLinears(func::FuncOp func) {
  SmallVector<FrozenLinear> linears;
  for (Linear &l : findLinears(func))
    linears.push_back({l.name, l.matmul, l.input, l.dIn, l.dOut, l.head});
  func.walk([&](gse::MatmulOp op) {
    auto quantize = op.getLhs().getDefiningOp<gse::QuantizeOp>();
    auto weight = op.getRhs().getDefiningOp<gse::ConstantOp>();
    if (!quantize || !weight)
      return;
    auto w = cast<gse::GSETensorType>(weight.getType());
    std::string name = onnxNodeName(op, "gse_linear" + std::to_string(linears.size()));
    linears.push_back({name, op, quantize.getInput(), w.lastDim(), w.getShape()[0], reachesResult(op.getResult())});
  });
  return linears;
}

struct AddLoRATrainingPass : impl::AddLoRATrainingBase<AddLoRATrainingPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto main = module.lookupSymbol<func::FuncOp>(kEntryName);
    if (!main)
      module.emitError("train-lora: the module has no @") << kEntryName;
    if (!main || failed(checkModel(main)))
      return signalPassFailure();
    if (rank < 1) {
      module.emitError("train-lora: rank must be at least 1, not ") << rank;
      return signalPassFailure();
    }
    if (moments != "f32" && moments != "bf16") {
      module.emitError("train-lora: moments must be f32 or bf16, not '") << moments << "'";
      return signalPassFailure();
    }
    OpBuilder b(module.getBodyRegion());
    b.setInsertionPointAfter(main);
    auto forward = cast<func::FuncOp>(b.clone(*main));
    forward.setSymName(kLoRAForwardName);
    forward->setAttr(kEntryAttr, b.getUnitAttr());
    std::vector<AdapterInfo> adapters = addAdapters(forward);
    if (adapters.empty()) {
      main.emitError("train-lora: no linear matches targets=") << targets;
      return signalPassFailure();
    }
    auto step = cast<func::FuncOp>(b.clone(*forward));
    step.setSymName(kLoRAStepName);
    if (failed(buildStep(step, adapters)))
      return signalPassFailure();
    recordAdapters(module, adapters);
  }

  /// The training step needs token ids in and next-token logits out.
  LogicalResult checkModel(func::FuncOp main) {
    auto fail = [&](const Twine &why) { return main.emitError("train-lora: ") << why; };
    if (main.getNumArguments() != 1 || main.getNumResults() != 1)
      return fail("the model must take token ids and return logits (one input, one output)");
    auto ids = typeOf(main.getArgument(0)), logits = cast<RankedTensorType>(main.getResultTypes()[0]);
    if (ids.getRank() != 2 || !ids.getElementType().isInteger(64))
      return fail("the input must be int64 token ids [batch, seq]");
    if (logits.getRank() != 3 || logits.isDynamicDim(2) || !logits.getElementType().isF32())
      return fail("the output must be f32 logits [batch, seq, vocab] with a static vocabulary");
    return success();
  }

  bool selected(const FrozenLinear &linear) {
    if (targets == "all")
      return !linear.head;
    SmallVector<StringRef> parts;
    StringRef(targets).split(parts, ',', -1, false);
    return llvm::any_of(parts, [&](StringRef p) { return StringRef(linear.name).contains(p.trim()); });
  }

  /// x·W becomes x·W + (x·A)·B·(alpha/rank), A and B new arguments.
  std::vector<AdapterInfo> addAdapters(func::FuncOp func) {
    std::vector<AdapterInfo> adapters;
    OpBuilder b(func.getContext());
    Value scale;
    for (FrozenLinear &linear : frozenLinears(func)) {
      if (!selected(linear) || typeOf(linear.input).getRank() < 2)
        continue;
      AdapterInfo info{linear.name, linear.dIn, linear.dOut};
      auto f32 = b.getF32Type();
      Value a = appendArgument(func, RankedTensorType::get({info.dIn, (int64_t)rank}, f32),
                               nameAttr(b, info.name + ".lora_A"));
      Value bm = appendArgument(func, RankedTensorType::get({(int64_t)rank, info.dOut}, f32),
                                nameAttr(b, info.name + ".lora_B"));
      Value product = linear.product->getResult(0);
      Location loc = linear.product->getLoc();
      if (!scale) {
        b.setInsertionPointToStart(&func.getBody().front());
        scale = f32Scalar(b, loc, alpha / (double)rank);
      }
      b.setInsertionPointAfter(linear.product);
      Value low = make<MatMulOp>(b, loc, make<MatMulOp>(b, loc, linear.input, a), bm);
      auto add = AddOp::create(b, loc, product, make<MulOp>(b, loc, low, scale));
      Value sum = add.getResult();
      if (sum.getType() != product.getType())
        sum = tensor::CastOp::create(b, loc, product.getType(), sum);
      product.replaceAllUsesExcept(sum, add);
      adapters.push_back(info);
    }
    return adapters;
  }

  /// Turns a copy of lora_forward into lora_train_step.
  LogicalResult buildStep(func::FuncOp step, const std::vector<AdapterInfo> &adapters) {
    OpBuilder b(step.getContext());
    Location loc = step.getLoc();
    DictionaryAttr idsAttrs = step.getArgAttrDict(0);
    auto dimNames = idsAttrs ? idsAttrs.getAs<ArrayAttr>(kDimNamesAttr) : ArrayAttr();
    Type idsType = step.getArgument(0).getType();
    if (failed(step.insertArgument(1, idsType, nameAttr(b, "targets", dimNames), loc)) ||
        failed(step.insertArgument(2, RankedTensorType::get({3}, b.getF32Type()), nameAttr(b, "adam_hyper"), loc)))
      return step.emitError("train-lora: cannot add the step's arguments");
    unsigned numParams = adapters.size() * 2;
    SmallVector<Value> params, moments1, moments2;
    for (unsigned i = 0; i < numParams; ++i)
      params.push_back(step.getArgument(3 + i));
    SmallVector<std::string> names;
    for (const AdapterInfo &a : adapters)
      for (const char *suffix : {".lora_A", ".lora_B"})
        names.push_back(a.name + suffix);
    auto momentType = [&](Value p) { return typeOf(p).clone(momentElementType(b)); };
    for (auto [p, n] : llvm::zip(params, names))
      moments1.push_back(appendArgument(step, momentType(p), nameAttr(b, n + ".adam_m")));
    for (auto [p, n] : llvm::zip(params, names))
      moments2.push_back(appendArgument(step, momentType(p), nameAttr(b, n + ".adam_v")));

    auto ret = cast<func::ReturnOp>(step.getBody().front().getTerminator());
    b.setInsertionPoint(ret);
    Value logits = ret.getOperand(0);
    Value dLogits, loss = crossEntropy(b, loc, logits, step.getArgument(1), dLogits);
    auto grads = buildGradients(b, {{logits, dLogits}}, params);
    if (failed(grads))
      return failure();

    // Adam as PyTorch computes it; the caller folds the first moment's bias
    // correction into lr and passes the second's: hyper = (lr / (1 − β1^t),
    // 1 / (1 − β2^t), ε).
    Value hyper = step.getArgument(2);
    auto index = [&](int64_t i) {
      auto type = RankedTensorType::get({}, b.getI64Type());
      Value idx = arith::ConstantOp::create(b, loc, DenseIntElementsAttr::get(type, {i}));
      return make<GatherOp>(b, loc, hyper, idx, b.getI64IntegerAttr(0));
    };
    Value lr = index(0), c2hat = index(1), eps = index(2);
    Value b1 = f32Scalar(b, loc, beta1), c1 = f32Scalar(b, loc, 1 - beta1);
    Value b2 = f32Scalar(b, loc, beta2), c2 = f32Scalar(b, loc, 1 - beta2);
    SmallVector<Value> newParams, newM, newV;
    // Stored moments in another type are widened for the update and
    // rounded back after it.
    auto widen = [&](Value x) { return convert(b, loc, x, b.getF32Type()); };
    auto store = [&](Value x) { return convert(b, loc, x, momentElementType(b)); };
    for (auto [p, g, stored1, stored2] : llvm::zip(params, *grads, moments1, moments2)) {
      Value m = widen(stored1), v = widen(stored2);
      Value m1 = make<AddOp>(b, loc, make<MulOp>(b, loc, m, b1), make<MulOp>(b, loc, g, c1));
      Value v1 = make<AddOp>(b, loc, make<MulOp>(b, loc, v, b2), make<MulOp>(b, loc, make<MulOp>(b, loc, g, g), c2));
      Value update = make<DivOp>(b, loc, m1, make<AddOp>(b, loc, make<SqrtOp>(b, loc, make<MulOp>(b, loc, v1, c2hat)), eps));
      newParams.push_back(make<SubOp>(b, loc, p, make<MulOp>(b, loc, update, lr)));
      newM.push_back(store(m1));
      newV.push_back(store(v1));
    }
    SmallVector<Value> results{loss};
    llvm::append_range(results, newParams);
    llvm::append_range(results, newM);
    llvm::append_range(results, newV);
    SmallVector<DictionaryAttr> resultAttrs{nameAttr(b, "loss")};
    for (unsigned i = 0; i < 3 * numParams; ++i)
      resultAttrs.push_back(step.getArgAttrDict(3 + i));
    func::ReturnOp::create(b, ret.getLoc(), results);
    ret.erase();
    SmallVector<Type> resultTypes;
    for (Value r : results)
      resultTypes.push_back(r.getType());
    step.setFunctionType(b.getFunctionType(step.getArgumentTypes(), resultTypes));
    step.setAllResultAttrs(resultAttrs);
    step->setAttr(kEntryAttr, b.getUnitAttr());
    return success();
  }

  Type momentElementType(OpBuilder &b) { return moments == "bf16" ? Type(b.getBF16Type()) : Type(b.getF32Type()); }

  /// `x` as `element`, or `x` itself when it is already.
  static Value convert(OpBuilder &b, Location loc, Value x, Type element) {
    auto type = typeOf(x);
    return type.getElementType() == element ? x : CastOp::create(b, loc, type.clone(element), x).getResult();
  }

  /// Mean next-token cross-entropy of `logits` [B, S, V] against `targets`
  /// [B, S]; sets `dLogits` to its gradient, (softmax − one-hot) / (B·S).
  Value crossEntropy(OpBuilder &b, Location loc, Value logits, Value targets, Value &dLogits) {
    int64_t vocab = typeOf(logits).getDimSize(2);
    Value logp = make<LogSoftmaxOp>(b, loc, logits, b.getI64IntegerAttr(-1));
    Value tgt = make<UnsqueezeOp>(b, loc, targets, b.getDenseI64ArrayAttr({2}));
    std::vector<int64_t> ids(vocab);
    std::iota(ids.begin(), ids.end(), 0);
    auto classesType = RankedTensorType::get({vocab}, b.getI64Type());
    Value classes = arith::ConstantOp::create(b, loc, DenseIntElementsAttr::get(classesType, ids));
    Value hit = make<EqualOp>(b, loc, tgt, classes);
    Value oneHot = CastOp::create(b, loc, typeOf(hit).clone(b.getF32Type()), hit);
    auto all = [&](Value v) {
      return make<ReduceSumOp>(b, loc, v, ArrayAttr(), b.getBoolAttr(false), b.getBoolAttr(false));
    };
    Value count = all(oneHot); // B·S: the targets are checked to be in range
    dLogits = make<DivOp>(b, loc, make<SubOp>(b, loc, make<ExpOp>(b, loc, logp), oneHot), count);
    if (dLogits.getType() != logits.getType())
      dLogits = tensor::CastOp::create(b, loc, logits.getType(), dLogits);
    return make<DivOp>(b, loc, make<NegOp>(b, loc, all(make<MulOp>(b, loc, oneHot, logp))), count);
  }

  int64_t momentBytes() { return moments == "bf16" ? 2 : 4; }

  /// What the object emitter needs to describe the workspace: rank, alpha,
  /// the adapters in argument order.
  void recordAdapters(ModuleOp module, const std::vector<AdapterInfo> &adapters) {
    Builder b(module.getContext());
    SmallVector<Attribute> names, report;
    std::vector<TensorABI> matrices;
    int64_t params = 0;
    for (const AdapterInfo &a : adapters) {
      names.push_back(b.getStringAttr(a.name));
      params += rank * (a.dIn + a.dOut);
      matrices.push_back({a.name + ".lora_A", 1, {a.dIn, (int64_t)rank}, {}});
      matrices.push_back({a.name + ".lora_B", 1, {(int64_t)rank, a.dOut}, {}});
      report.push_back(b.getDictionaryAttr({b.getNamedAttr("method", b.getStringAttr("train-lora")),
                                            b.getNamedAttr("layer", b.getStringAttr(a.name)),
                                            b.getNamedAttr("d_in", b.getI64IntegerAttr(a.dIn)),
                                            b.getNamedAttr("d_out", b.getI64IntegerAttr(a.dOut)),
                                            b.getNamedAttr("rank", b.getI64IntegerAttr(rank))}));
    }
    module->setAttr(kLoRAAttr, b.getDictionaryAttr({b.getNamedAttr("rank", b.getI64IntegerAttr(rank)),
                                                    b.getNamedAttr("alpha", b.getF64FloatAttr(alpha)),
                                                    b.getNamedAttr("beta1", b.getF64FloatAttr(beta1)),
                                                    b.getNamedAttr("beta2", b.getF64FloatAttr(beta2)),
                                                    b.getNamedAttr("epsilon", b.getF64FloatAttr(epsilon)),
                                                    b.getNamedAttr("parameters", b.getI64IntegerAttr(params)),
                                                    b.getNamedAttr("adapters", b.getArrayAttr(names))}));
    // What the object needs beside its weights to train: the workspace.
    report.push_back(b.getDictionaryAttr({b.getNamedAttr("method", b.getStringAttr("train-lora-model")),
                                          b.getNamedAttr("adapted_linears", b.getI64IntegerAttr(adapters.size())),
                                          b.getNamedAttr("trainable_parameters", b.getI64IntegerAttr(params)),
                                          b.getNamedAttr("workspace_bytes",
                                                         b.getI64IntegerAttr(loraWorkspaceBytes(matrices, momentBytes()))),
                                          b.getNamedAttr("moments", b.getStringAttr(moments)),
                                          b.getNamedAttr("rank", b.getI64IntegerAttr(rank)),
                                          b.getNamedAttr("alpha", b.getF64FloatAttr(alpha))}));
    appendCompressionReport(module, report);
  }
};

} // namespace
} // namespace sinter
