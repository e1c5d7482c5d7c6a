#ifndef PRUNE2OF4_PASSES_TD
#define PRUNE2OF4_PASSES_TD

include "mlir/Pass/PassBase.td"

def Prune2of4 : Pass<"sinter-prune-2of4", "mlir::ModuleOp"> {
  let summary = "2:4 structured sparsity for the FFN projections, Wanda-scored";
  let description = [{
    Zeroes two of every four consecutive input weights of each output of
    every FFN projection (up, gate and down) that Sinter's FFN matcher finds,
    or with `targets=linears` of every linear its linear matcher places
    inside the decoder blocks (all but the head):
    the pattern that sparse tensor cores and 2:4 kernels exploit. Within a
    group the weights with the smallest |W_ij| · ‖x_i‖ go, where ‖x_i‖ is
    the calibration norm of the projection's input i: the FFN input rows
    the profile keeps for the up and gate projections, the mean |h_i| it
    records for the down projection (Wanda's score; linears outside the
    FFNs have no such statistics and go by |W_ij|); with
    `score=magnitude`, or where the profile lacks those statistics, by
    |W_ij| alone. An input width
    that is not a multiple of four leaves its last group dense. One report
    entry per layer says what was zeroed and how it was scored.
  }];
  let options = [
    Option<"profile", "profile", "std::string", "\"\"",
           "Calibration profile (sinter-compile --save-profile)">,
    Option<"targets", "targets", "std::string", "\"ffn\"",
           "ffn: the FFN projections; linears: every linear inside the decoder blocks (all but the head)">,
    Option<"score", "score", "std::string", "\"wanda\"",
           "wanda: |W|·‖x‖ where the profile has the norms; magnitude: |W|">,
  ];
  let dependentDialects = ["mlir::arith::ArithDialect"];
}

#endif
