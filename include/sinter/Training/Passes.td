#ifndef SINTER_TRAINING_PASSES
#define SINTER_TRAINING_PASSES

include "mlir/Pass/PassBase.td"

def Differentiate : Pass<"sinter-differentiate", "mlir::ModuleOp"> {
  let summary = "Add a function's reverse-mode gradient as a function of its own";
  let description = [{
    For the function named by `function`, adds `name` (default:
    `<function>_grad`), which takes the function's arguments followed by one
    gradient per result and returns the gradient with respect to each float
    argument: the vector–Jacobian product. It is built from the nn ops' own
    rules (nn::GradientOpInterface), recomputing what a rule needs from the
    forward values; an op on the path from the arguments to the results
    that has no rule is an error naming it. This is the same sweep that
    `--train-lora` builds its backward pass with, exposed so that every rule
    can be checked on its own against finite differences.
  }];
  let options = [
    Option<"function", "function", "std::string", "\"main_graph\"", "The function to differentiate">,
    Option<"name", "name", "std::string", "\"\"", "The gradient function's name (default: <function>_grad)">
  ];
  let dependentDialects = ["sinter::nn::NNDialect", "mlir::arith::ArithDialect", "mlir::tensor::TensorDialect"];
}

def AddLoRATraining : Pass<"sinter-add-lora-training", "mlir::ModuleOp"> {
  let summary = "Add LoRA adapters and an Adam training step to the model as entry points";
  let description = [{
    Low-rank adapters (LoRA) on the model's linears, trained in the emitted
    object. Each targeted x·W gains x·A·B·(alpha/rank), A [d_in, rank] and
    B [rank, d_out] f32, W frozen. Two entry functions are added beside
    `main_graph`: `lora_forward` (the model's inputs, then every A and B)
    returns the adapted model's outputs, and `lora_train_step` (token ids,
    next-token targets, Adam's bias-corrected step size, second-moment
    correction and epsilon,
    then the adapters and their Adam moments) returns the mean next-token
    cross-entropy before the step and the updated adapters and moments. The
    backward pass comes from the nn ops' gradient rules and recomputes
    nothing beyond what they need; only the adapters get gradients. The
    emitted object exposes both through `sinter_lora` (sinter.h), whose
    workspace holds the adapters and the optimizer state. Targets are the
    linears whose ONNX node name contains one of `targets` (comma
    separated); the default `all` takes every linear but the LM head.
    `moments=bf16` stores Adam's two moments in bf16 (rounded to nearest
    even after each f32 update), halving their share of the workspace.
  }];
  let options = [
    Option<"rank", "rank", "int64_t", "8", "Rank of each adapter">,
    Option<"alpha", "alpha", "double", "16", "LoRA scale numerator: the update is scaled by alpha / rank">,
    Option<"targets", "targets", "std::string", "\"all\"",
           "Comma-separated substrings of the linears' node names to adapt; all: every linear but the LM head">,
    Option<"beta1", "beta1", "double", "0.9", "Adam's first-moment decay">,
    Option<"beta2", "beta2", "double", "0.999", "Adam's second-moment decay">,
    Option<"epsilon", "epsilon", "double", "1e-8", "Adam's epsilon">,
    Option<"moments", "moments", "std::string", "\"f32\"",
           "Element type of Adam's moments in the workspace: f32 or bf16 (computed in f32 either way)">
  ];
  let dependentDialects = ["sinter::nn::NNDialect", "mlir::arith::ArithDialect", "mlir::tensor::TensorDialect"];
}

#endif
