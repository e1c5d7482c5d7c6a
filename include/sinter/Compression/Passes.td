#ifndef SINTER_COMPRESSION_PASSES
#define SINTER_COMPRESSION_PASSES

include "mlir/Pass/PassBase.td"

def LinearizeFFN : Pass<"sinter-linearize-ffn", "mlir::ModuleOp"> {
  let summary = "Fold each FFN into one matrix plus a predicted-outlier correction (TARDIS)";
  let description = [{
    For every Linear → GELU/ReLU → Linear block with constant weights, each
    hidden neuron's activation is replaced by the line a_i·z + c_i fitted
    (least squares) on the narrowest range [l_i, u_i] that holds `coverage`
    of its calibration pre-activations (from the `profile`). The block then
    folds at compile time into W_f = W_u·diag(a)·W_d and
    b_f = (a ⊙ b_u + c)·W_d + b_d: one d×d_out matmul instead of two
    d×4d ones. The `exact` fraction of neurons whose excursions outside
    their range cost the most (expected squared error times ‖W_d row‖²)
    keep their weights: a `predictor-bits` copy of their up-projection
    predicts per token whether they leave the range, and only those are
    computed exactly and corrected (`nn.ffn_outlier_correction`). Gated
    FFNs (SwiGLU) are refused with a remark: their product of two
    projections does not fold into one matrix. Blocks that the profile does
    not name are left alone, with a remark.
  }];
  let options = [
    Option<"profilePath", "profile", "std::string", "\"\"",
           "Calibration profile (sinter-compile --save-profile) naming the FFN layers">,
    Option<"coverage", "coverage", "double", "0.9",
           "Fraction of calibration pre-activations inside each neuron's linear range, in (0, 1]">,
    Option<"linearCoverage", "linear-coverage", "double", "0",
           "Coverage of the line fitted to neurons without an exact path (0: the same as coverage)">,
    Option<"exactFraction", "exact", "double", "0.1",
           "Fraction of each layer's neurons kept exactly for outlier correction, in [0, 1]">,
    Option<"predictorBits", "predictor-bits", "int64_t", "2",
           "Bits per weight of the outlier predictor, 1..8">
  ];
  let dependentDialects = ["sinter::nn::NNDialect", "mlir::arith::ArithDialect"];
}

def SparsifyFFN : Pass<"sinter-sparsify-ffn", "mlir::ModuleOp"> {
  let summary = "Remove the least important FFN neurons (activation sparsity, static mode)";
  let description = [{
    For every FFN with constant weights, gated (SwiGLU, GeGLU) or not, keeps
    the round((1 − sparsity)·h) hidden neurons with the highest score in the
    `profile` and removes the others from the weights at compile time: the
    columns of W_u (and W_g) and the biases, the rows of W_d. What remains
    is a smaller dense FFN, so every kernel, prefill and decode, runs
    (1 − sparsity) of the work. Scores: `attribution` — the mean corrected
    attribution s_i = −GxO_i + ½·|h_i|·‖∇_h L‖₂ that python/sinter/attribution.py
    writes into the profile; `magnitude` — the mean |h_i| that calibration
    records; `auto` takes attribution when the profile has it. Each layer's
    report entry says which scores chose its neurons. Blocks the profile
    does not name are left alone, with a remark.
  }];
  let options = [
    Option<"profilePath", "profile", "std::string", "\"\"",
           "Calibration profile with magnitude statistics or attribution scores">,
    Option<"sparsity", "sparsity", "double", "0.5",
           "Fraction of each layer's neurons removed, in [0, 1)">,
    Option<"mode", "mode", "std::string", "\"static\"",
           "Neuron selection: static (one mask per layer, fixed at compile time)">,
    Option<"score", "score", "std::string", "\"auto\"",
           "Neuron importance: attribution, magnitude or auto">
  ];
  let dependentDialects = ["sinter::nn::NNDialect", "mlir::arith::ArithDialect"];
}

#endif
