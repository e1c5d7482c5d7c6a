#ifndef SINTER_SPIKE_DIALECT
#define SINTER_SPIKE_DIALECT

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def Spike_Dialect : Dialect {
  let name = "spike";
  let summary = "Spiking neurons over explicit time steps (FAS)";
  let description = [{
    A spiking network runs T time steps on one input. Stateless ops (nn's
    LayerNorm, attention, softmax, linears on float values) run on the T
    steps at once with time folded into the leading (batch) dimension,
    time-major: row t·B + b of a folded tensor is step t of item b.
    `spike.encode` makes that fold of a model input (the same value at
    every step), `spike.decode` averages the T steps of an output. Neurons
    keep state across steps, so they see time explicitly: `spike.if`
    integrates a folded current into spikes whose type,
    `!spike.train<T x ...>`, carries T as its leading dimension, and
    `spike.matmul` feeds spikes to a synaptic weight matrix with additions
    only (METHODS.md §3).
  }];
  let cppNamespace = "::sinter::spike";
  let useDefaultTypePrinterParser = 1;
}

def Spike_TrainType : TypeDef<Spike_Dialect, "Train"> {
  let mnemonic = "train";
  let summary = "Spikes of a tensor of neurons over T time steps";
  let description = [{
    One spike per neuron and time step: 0 or 1, or with `signed` −1, 0 or
    +1. The leading dimension is the time step T (static, ≥ 1); the others
    are those of one step of the neurons' input, the batch first. A value
    of this type stands for the spikes, not their storage: lowering keeps
    them inside the kernels that consume them.

    ```mlir
    !spike.train<8x?x?x768>
    !spike.train<8x?x?x768, signed>
    ```
  }];
  let parameters = (ins ArrayRefParameter<"int64_t">:$shape, "bool":$isSigned);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// T, the time steps.
    int64_t getSteps() const { return getShape().front(); }
    /// Neurons per step and row: the last dimension.
    int64_t getNeurons() const { return getShape().back(); }
  }];
}

#endif
