// sinter-differentiate: a function's vector–Jacobian product as a new
// function (include/sinter/Training/Passes.td).
#include "sinter/Training/Gradients.h"
#include "sinter/Training/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/TypeUtilities.h"

namespace sinter {
#define GEN_PASS_DEF_DIFFERENTIATE
#include "sinter/Training/Passes.h.inc"
} // namespace sinter

using namespace mlir;

namespace sinter {
namespace {

struct DifferentiatePass : impl::DifferentiateBase<DifferentiatePass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto func = module.lookupSymbol<func::FuncOp>(function);
    if (!func || func.isExternal()) {
      module.emitError("sinter-differentiate: no function @") << function << " with a body";
      return signalPassFailure();
    }
    std::string gradName = name.empty() ? function + "_grad" : std::string(name);
    if (module.lookupSymbol(gradName)) {
      module.emitError("sinter-differentiate: @") << gradName << " already exists";
      return signalPassFailure();
    }
    // The clone takes one more argument per result: that result's gradient.
    OpBuilder b(func);
    b.setInsertionPointAfter(func);
    auto grad = cast<func::FuncOp>(b.clone(*func));
    grad.setSymName(gradName);
    Block &body = grad.getBody().front();
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    SmallVector<std::pair<Value, Value>> seeds;
    for (Value r : ret.getOperands())
      seeds.push_back({r, body.addArgument(r.getType(), ret.getLoc())});
    SmallVector<Value> wrt;
    for (BlockArgument arg : body.getArguments().take_front(func.getNumArguments()))
      if (isa<FloatType>(getElementTypeOrSelf(arg.getType())))
        wrt.push_back(arg);
    b.setInsertionPoint(ret);
    auto grads = buildGradients(b, seeds, wrt);
    if (failed(grads))
      return signalPassFailure();
    func::ReturnOp::create(b, ret.getLoc(), *grads);
    ret.erase();
    SmallVector<Type> results;
    for (Value g : *grads)
      results.push_back(g.getType());
    grad.setFunctionType(b.getFunctionType(body.getArgumentTypes(), results));
    grad.setAllResultAttrs(ArrayRef<DictionaryAttr>{});
    SmallVector<DictionaryAttr> argAttrs;
    for (unsigned i = 0; i < body.getNumArguments(); ++i)
      argAttrs.push_back(i < func.getNumArguments() && func.getArgAttrDict(i) ? func.getArgAttrDict(i)
                                                                              : b.getDictionaryAttr({}));
    grad.setAllArgAttrs(argAttrs);
  }
};

} // namespace
} // namespace sinter
