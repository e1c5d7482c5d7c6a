#ifndef SINTER_NN_INTERFACES
#define SINTER_NN_INTERFACES

include "mlir/IR/OpBase.td"

def NN_GradientOpInterface : OpInterface<"GradientOpInterface"> {
  let cppNamespace = "::sinter::nn";
  let description = [{
    An op that reverse-mode differentiation (sinter/Training/Gradients.h)
    can propagate gradients through: given the gradient of the loss with
    respect to each result, it builds, with `nn` ops at the builder's
    insertion point, the gradient with respect to each operand that
    `wanted` asks for. Gradients have their value's type; a result nothing
    flows into has a null gradient, which the op treats as zero. Operands
    not wanted (constants, integer shapes) get a null gradient. An op whose
    gradient is not defined where it would be needed (an integer operand, a
    rank it does not handle) fails with an error naming what is missing.
  }];
  let methods = [
    InterfaceMethod<[{
        Appends one gradient per operand to `operandGrads` (null where not
        wanted); `resultGrads` holds one per result, null where none flows.
      }], "::mlir::LogicalResult", "buildGradients",
      (ins "::mlir::OpBuilder &":$builder, "::mlir::ValueRange":$resultGrads,
           "::llvm::ArrayRef<bool>":$wanted,
           "::llvm::SmallVectorImpl<::mlir::Value> &":$operandGrads)>
  ];
}

// The ops that carry the interface declare it with this trait and define
// buildGradients in lib/Dialect/NN/NNGradients.cpp.
def NN_Differentiable : DeclareOpInterfaceMethods<NN_GradientOpInterface>;

#endif
