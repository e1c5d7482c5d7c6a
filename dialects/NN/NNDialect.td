#ifndef SINTER_NN_DIALECT
#define SINTER_NN_DIALECT

include "mlir/IR/OpBase.td"

def NN_Dialect : Dialect {
  let name = "nn";
  let summary = "Tensor operations with ONNX semantics";
  let description = [{
    The `nn` dialect is where the ONNX importer lands. Each op mirrors one
    ONNX operator (broadcasting, axis conventions, optional inputs) on
    builtin tensors, so that import is a one-to-one mapping and every later
    pass can rely on ONNX's documented meaning. Result types are inferred:
    static where the operands make them static, `?` elsewhere (symbolic
    dimensions such as the sequence length).
  }];
  let cppNamespace = "::sinter::nn";
  let hasConstantMaterializer = 1;
}

class NN_Op<string mnemonic, list<Trait> traits = []>
    : Op<NN_Dialect, mnemonic, traits>;

#endif
