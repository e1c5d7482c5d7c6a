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
  let summary = "Activation sparsity: compute only the important FFN neurons";
  let description = [{
    For every FFN with constant weights, gated (SwiGLU, GeGLU) or not,
    computes only a (1 − sparsity) share of the hidden neurons. `static`
    keeps the round((1 − sparsity)·h) neurons with the highest mean score
    in the `profile` and removes the others from the weights at compile
    time (columns of W_u, W_g and the biases, rows of W_d): a smaller dense
    FFN. `dynamic` chooses per token and writes `nn.sparse_ffn`, whose
    kernel reads only the chosen neurons' weights: with `score=attribution`
    the top round((1 − sparsity)·h) neurons by the profile's low-rank
    predictor (trained on per-token attribution labels); with
    `score=magnitude` the neurons whose |h_i| exceeds the layer's
    `sparsity`-quantile of |h| in calibration (TEAL-style). Scores:
    `attribution` — the corrected attribution of
    python/sinter/attribution.py; `magnitude` — the mean (static) or
    per-token (dynamic) |h_i|; `auto` takes attribution when the profile has
    it. From `dense-rows` rows on (0: the compiler's cost model, reported)
    the dynamic kernel computes all neurons by GEMM and masks. Each layer's
    report entry says which scores chose its neurons. Blocks the profile
    does not name are left alone, with a remark.
  }];
  let options = [
    Option<"profilePath", "profile", "std::string", "\"\"",
           "Calibration profile with magnitude statistics or attribution scores">,
    Option<"sparsity", "sparsity", "double", "0.5",
           "Fraction of each layer's neurons not computed, in [0, 1)">,
    Option<"mode", "mode", "std::string", "\"static\"",
           "Neuron selection: static (one mask per layer) or dynamic (per token)">,
    Option<"score", "score", "std::string", "\"auto\"",
           "Neuron importance: attribution, magnitude or auto">,
    Option<"denseRows", "dense-rows", "int64_t", "0",
           "Dynamic mode: rows from which the kernel computes densely and masks (0: cost model)">
  ];
  let dependentDialects = ["sinter::nn::NNDialect", "mlir::arith::ArithDialect"];
}

def BinarizeLinears : Pass<"sinter-binarize-linears", "mlir::ModuleOp"> {
  let summary = "Post-training BinaryMoS: 1-bit weights with token-adaptive scales";
  let description = [{
    Replaces every linear x·W (+ b) with constant W inside the decoder blocks
    by `bnn.mos_linear`: sign(W) packed to 1 bit per weight, `experts` scale
    experts S_in[e] (K) and S_out[e] (N), and a router [K, E] (METHODS.md
    §1). Each layer's experts start from the rank-1 SVD of |W|
    (|W| ≈ s_in s_outᵀ, √σ on each side, by power iteration), copied to
    every expert, and the router is zero: the layer then equals a
    single-scale OneBit-style binary linear whatever E is, and distillation
    (python3 -m sinter.distill) is what makes the experts differ. The
    model's last projection (the LM head, a linear whose result reaches a
    function result through no other linear) and embeddings (gathers) stay
    fp32. `activations=int8` quantizes x ⊙ s_in per row to int8 before
    the 1-bit product (`int8_activations` on every bnn.mos_linear,
    imported ones included). `scales=f16` (the default, as in the paper)
    stores the scale tables and the router in IEEE half, f32 with
    `scales=f32`; imported layers are converted to the same. Each layer's
    report entry gives its bytes before and after (bits, scales and router
    counted) and the reconstruction error of s_in s_outᵀ ⊙ sign(W) against W.
  }];
  let options = [
    Option<"experts", "experts", "int64_t", "4", "Scale experts per layer, 1..64">,
    Option<"activations", "activations", "std::string", "\"fp32\"",
           "x ⊙ s_in in fp32, or int8 per row (faster; also applied to imported bnn layers)">,
    Option<"scales", "scales", "std::string", "\"f16\"",
           "Scale tables and router in f16 or f32 (also applied to imported bnn layers)">
  ];
  let dependentDialects = ["sinter::bnn::BNNDialect", "mlir::arith::ArithDialect"];
}

def QuantizeLinearsGSE : Pass<"sinter-gse-quantize-linears", "mlir::ModuleOp"> {
  let summary = "Group-shared-exponent integer linears (GSQ-Tuning's GSE-INT), post-training";
  let description = [{
    Replaces the product x·W of every linear with constant W (the LM head
    included) by `gse.matmul(gse.quantize(x), W')`: W is stored transposed
    ([N, K], grouped along K) as a `gse.constant` of `w`-bit mantissas with
    one exponent per `group` inputs, quantized at compile time (exponent
    from the group's largest magnitude, round to nearest even, saturate;
    docs/dialects/gse.md), and x is quantized per row at run time to
    `a`-bit mantissas in groups of the same size. `exponent` gives the
    exponents' bits (default 5; 8 is OCP MX's E8M0 scale). The bias add,
    LayerNorm, softmax and attention's products of computed values stay
    float. Each layer's report entry gives its formats, the weight bytes
    before and after (mantissas and exponents as the object stores them)
    and the relative error ‖W − Ŵ‖/‖W‖ of the quantized weights. Every
    `nn.gather` of rows of a constant f32 table that nothing else reads
    (token and position embeddings) becomes `gse.gather` of the table
    quantized with `embeddings`-bit mantissas (default 8, whatever `w`
    is: 4-bit tables cost a model more than 4-bit linears; 0 keeps them
    f32) in the weights' group and exponent, grouped along its rows; its
    report entry has `kind = "embedding"`.
  }];
  let options = [
    Option<"weightBits", "w", "int64_t", "8", "Mantissa bits of the weights, 2..8">,
    Option<"activationBits", "a", "int64_t", "8", "Mantissa bits of the activations, 2..8">,
    Option<"group", "group", "int64_t", "32", "Values per shared exponent (along K)">,
    Option<"exponentBits", "exponent", "int64_t", "5", "Exponent bits, 2..8 (8: OCP MX E8M0)">,
    Option<"embeddingBits", "embeddings", "int64_t", "8",
           "Mantissa bits of embedding tables (gathers of constant rows), 2..8; 0 keeps them f32">
  ];
  let dependentDialects = ["sinter::gse::GSEDialect", "mlir::arith::ArithDialect"];
}

def ConvertToSpiking : Pass<"sinter-convert-to-spiking", "mlir::ModuleOp"> {
  let summary = "Spiking FFN neurons from QCFS activations (FAS stage 2)";
  let description = [{
    Runs the model as a spiking network over `T` time steps: every model
    input is repeated T times along its leading (batch) dimension
    (`spike.encode`, time-major), every output is averaged over the steps
    (`spike.decode`), and every QCFS activation (`nn.qcfs`, raised from
    its exported chain) becomes integrate-and-fire neurons (`spike.if`)
    with its threshold θ times `threshold-scale` and initial membrane
    `membrane` · θ, whose spikes pass on s · θ (`spike.values`). Where a
    linear with constant weights reads them, θ folds into its weight rows
    and the product becomes accumulate-only (`spike.matmul`). Attention,
    softmax and LayerNorm stay float at every step, as in FAS's code. The
    batch dimension of inputs and outputs must be dynamic (time folds into
    it). With `calibration`, a coarse calibration (FAS's first stage)
    builds the ANN and the SNN for this machine, runs them on the
    calibration text and picks, layer by layer (two sweeps of coordinate
    search over 0.4 … 1.2), the threshold scale with the smallest
    KL(ANN ‖ SNN) of the next-token distributions; it also measures each
    layer's firing rate. The fine stage (`per-neuron`, on by default) then
    fits, layer by layer, each neuron's threshold (×0.8 … 1.25) and initial
    membrane (0.3 … 0.7 of it) to the ANN's activation on the currents the
    calibrated layers before it give (squared error of the mean output over
    the steps), keeping a layer's fit only when the KL drops. Each layer's
    report entry gives its steps,
    levels, neurons, threshold and the linear its spikes feed; calibrated,
    also its scale, firing rate, accumulates per row and their energy at
    0.9 pJ an accumulate against 4.6 pJ a MAC of the ANN.
  }];
  let options = [
    Option<"steps", "T", "int64_t", "8", "Time steps, >= 1">,
    Option<"thresholdScale", "threshold-scale", "double", "1.0",
           "Factor on every QCFS threshold (FAS's coarse calibration scales them)">,
    Option<"membrane", "membrane", "double", "0.5", "Initial membrane as a fraction of the threshold">,
    Option<"signedNeurons", "signed", "bool", "false",
           "Signed neurons (ST-BIF: -1 spikes undo excess +1 spikes, count bounded by T)">,
    Option<"calibration", "calibration", "std::string", "",
           "Calibration text (each byte a token): choose a threshold scale per layer on it">,
    Option<"calibrationTokens", "calibration-tokens", "int64_t", "1024",
           "Tokens of calibration text to run">,
    Option<"calibrationWindow", "calibration-window", "int64_t", "128",
           "Tokens per calibration sequence (at most the model's context)">,
    Option<"perNeuron", "per-neuron", "bool", "true",
           "After the per-layer scales, fit each neuron's threshold and membrane (the fine stage)">
  ];
  let dependentDialects = ["sinter::spike::SpikeDialect", "mlir::arith::ArithDialect"];
}

#endif
