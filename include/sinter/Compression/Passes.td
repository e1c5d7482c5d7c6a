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

#endif
