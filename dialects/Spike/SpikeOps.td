#ifndef SINTER_SPIKE_OPS
#define SINTER_SPIKE_OPS

include "SpikeDialect.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

class Spike_Op<string mnemonic, list<Trait> traits = []> : Op<Spike_Dialect, mnemonic, traits>;

def Spike_F32Tensor : RankedTensorOf<[F32]>;
def Spike_Train : Type<CPred<"::mlir::isa<::sinter::spike::TrainType>($_self)">, "spike train",
                       "::sinter::spike::TrainType">;

def Spike_EncodeOp : Spike_Op<"encode", [Pure]> {
  let summary = "The same input at every time step, folded into the batch";
  let description = [{
    Direct (constant-current) encoding: the result repeats `input` `steps`
    times along its leading dimension, time-major, so that row t·B + b is
    step t of item b. Any element type (token ids included).

    ```mlir
    %ids8 = spike.encode %ids steps 8 : tensor<?x?xi64> -> tensor<?x?xi64>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input, ConfinedAttr<I64Attr, [IntPositive]>:$steps);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = "$input `steps` $steps attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Spike_DecodeOp : Spike_Op<"decode", [Pure]> {
  let summary = "The mean over time steps of a time-folded tensor";
  let description = [{
    Row b of the result is the mean of rows t·B + b of `input` over the
    `steps` time steps (what FAS does with the logits). Of a
    `spike.encode` of a float tensor with the same steps it folds to that
    tensor.

    ```mlir
    %logits = spike.decode %logits8 steps 8 : tensor<?x?x256xf32> -> tensor<?x?x256xf32>
    ```
  }];
  let arguments = (ins Spike_F32Tensor:$input, ConfinedAttr<I64Attr, [IntPositive]>:$steps);
  let results = (outs Spike_F32Tensor:$output);
  let assemblyFormat = "$input `steps` $steps attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Spike_IFOp : Spike_Op<"if", [Pure, AllTypesMatch<["threshold", "membrane"]>]> {
  let summary = "Integrate-and-fire neurons over T time steps";
  let description = [{
    `current` is the neurons' input at every step, time folded into the
    leading dimension (T · B rows, time-major; T is the result's leading
    dimension). Each neuron starts at membrane `membrane` and at each step
    integrates its input, fires where the membrane reaches `threshold`
    and subtracts what it fired (soft reset, no leak):

        v += x_t;  s_t = [v ≥ θ];  v −= s_t · θ

    With a `signed` result the neurons follow SpikeZIP-TF's ST-BIF rule: +1
    where v ≥ θ while the spikes so far number fewer than `bound` (default
    T), −1 where v < 0 while they number more than zero, so that a
    neuron's count stays in [0, bound]. `threshold` and `membrane` are one
    value per layer (0-D) or one per neuron (the last dimension), of the
    same type.

    For a constant input z the count after T steps is
    clip(⌊T·z/θ + 1/2⌋, 0, T) with membrane θ/2: the mean of s·θ is QCFS
    with T levels.

    ```mlir
    %s = spike.if %x, threshold %theta, membrane %v0
        : tensor<?x?x768xf32>, tensor<768xf32> -> !spike.train<8x?x?x768>
    ```
  }];
  let arguments = (ins Spike_F32Tensor:$current, Spike_F32Tensor:$threshold, Spike_F32Tensor:$membrane,
                       OptionalAttr<ConfinedAttr<I64Attr, [IntPositive]>>:$bound);
  let results = (outs Spike_Train:$spikes);
  let assemblyFormat = [{
    $current `,` `threshold` $threshold `,` `membrane` $membrane attr-dict
    `:` type($current) `,` type($threshold) `->` qualified(type($spikes))
  }];
  let hasVerifier = 1;
}

def Spike_ValuesOp : Spike_Op<"values", [Pure]> {
  let summary = "What spikes stand for, s · θ, folded back into the batch";
  let description = [{
    Row t·B + b of the result is s_t · θ for item b: the value a spiking
    layer passes on at step t (its mean over the steps approximates the
    QCFS activation the neurons replace). `threshold` is the neurons'
    (0-D or one per neuron). A `spike.values` read by a matmul with
    constant weights becomes `spike.matmul` (the spiking conversion's
    pattern), which never forms these values.

    ```mlir
    %y = spike.values %s, threshold %theta : !spike.train<8x?x?x768>, tensor<768xf32> -> tensor<?x?x768xf32>
    ```
  }];
  let arguments = (ins Spike_Train:$spikes, Spike_F32Tensor:$threshold);
  let results = (outs Spike_F32Tensor:$output);
  let assemblyFormat = [{
    $spikes `,` `threshold` $threshold attr-dict `:` qualified(type($spikes)) `,` type($threshold)
    `->` type($output)
  }];
  let hasVerifier = 1;
}

def Spike_MatmulOp : Spike_Op<"matmul", [Pure]> {
  let summary = "Accumulate-only synaptic matmul: spikes × weights";
  let description = [{
    Row t·B + b of the result is Σ_k s_t[b, k] · W[k, :], for spikes of 0
    or 1 (or ±1 when signed): each spike adds (or subtracts) one row of
    `weight` [K, N], so the layer needs no multiplications. The neurons'
    threshold is folded into the weights (W = diag(θ) · W_ann), so the
    result equals the ANN's matmul of `spike.values`. `firing_rate`, when
    present, is the fraction of neuron-steps that fired on calibration
    text (the compile report's).

    ```mlir
    %y = spike.matmul %s, %w : !spike.train<8x?x?x768>, tensor<768x192xf32> -> tensor<?x?x192xf32>
    ```
  }];
  let arguments = (ins Spike_Train:$spikes, Spike_F32Tensor:$weight, OptionalAttr<F32Attr>:$firing_rate);
  let results = (outs Spike_F32Tensor:$output);
  let assemblyFormat = [{
    $spikes `,` $weight attr-dict `:` qualified(type($spikes)) `,` type($weight) `->` type($output)
  }];
  let hasVerifier = 1;
}

#endif
