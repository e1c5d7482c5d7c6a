"""Spiking conversion (FAS, METHODS.md §3) on the Python side: the QCFS
activation that stage 1 fine-tunes with, the integrate-and-fire neuron that
stage 2 replaces it by, and references of both for the tests.

QCFS with L levels and threshold θ (one per layer, learned):

    qcfs(x) = θ · floor(clamp(x/θ, 0, 1) · L + 1/2) / L

In eval mode (and so in ONNX exports) QCFS is written as the node chain
Div(x, θ) → Clip(0, 1) → Mul(L) → Add(0.5) → Floor → Mul(θ/L), which
onnxruntime runs as it is and Sinter's importer raises to one `nn.qcfs` op
(docs/compression.md, "Spiking conversion").

The IF neuron (no leak, soft reset, initial membrane v₀ = θ/2 by default):

    v += x_t;  s_t = [v ≥ θ];  out_t = s_t · θ;  v −= s_t · θ

For a constant input z its spike count after T steps is
clip(floor(T·z/θ + 1/2), 0, T), so its mean output over T steps equals QCFS
with L = T exactly (`if_neuron` and the tests check this)."""
import numpy as np
import torch
import torch.nn as nn


class QCFS(nn.Module):
    """Quantization-clip-floor-shift activation with a learnable threshold.
    Training passes the gradient straight through the floor."""

    def __init__(self, levels, theta=1.0):
        super().__init__()
        self.levels = int(levels)
        self.theta = nn.Parameter(torch.tensor(float(theta)))

    def forward(self, x):
        h = torch.clamp(x / self.theta, 0, 1) * self.levels + 0.5
        q = h + (torch.floor(h) - h).detach() if self.training else torch.floor(h)
        return q * (self.theta / self.levels)


def qcfs_reference(x, theta, levels):
    """numpy QCFS, for tests."""
    return theta * np.floor(np.clip(x / theta, 0, 1) * levels + 0.5) / levels


def blocks_with_activation(model):
    """The decoder blocks whose FFN activation is a module (`act`)."""
    return [blk for blk in model.blocks if hasattr(blk, "act")]


def use_qcfs(model, levels, thetas=None):
    """Replaces every block's FFN activation by QCFS (θ = 1, or `thetas`)."""
    for i, blk in enumerate(blocks_with_activation(model)):
        blk.act = QCFS(levels, 1.0 if thetas is None else thetas[i])
    return model


def activation_inputs(model, ids):
    """What each block's activation reads on `ids` (a list, one per block)."""
    seen = []
    hooks = [blk.act.register_forward_hook(lambda _m, inp, _o: seen.append(inp[0].detach()))
             for blk in blocks_with_activation(model)]
    with torch.no_grad():
        model(ids)
    for h in hooks:
        h.remove()
    return seen


def initial_thresholds(model, ids, percentile=99.9):
    """θ per block: the given percentile of the activation's positive inputs
    (the clip point that loses only the rarest large values)."""
    thetas = []
    for x in activation_inputs(model, ids):
        pos = x[x > 0]
        thetas.append(float(np.percentile(pos.numpy(), percentile)) if pos.numel() else 1.0)
    return thetas


def if_neuron(currents, theta, v0=None, signed=False, bound=None):
    """Integrate-and-fire over the leading (time) axis of `currents`.

    theta and v0 broadcast against one time step (default v0 = θ/2).
    Returns the spikes, int8 of the same shape: 0/1, or with `signed` the
    ST-BIF rule of SpikeZIP-TF: +1 where v ≥ θ and the count so far is below
    `bound` (default T), −1 where v < 0 and the count is above 0."""
    currents = np.asarray(currents, dtype=np.float32)
    theta = np.asarray(theta, dtype=np.float32)
    v = np.broadcast_to(theta / 2 if v0 is None else np.asarray(v0, np.float32), currents.shape[1:]).copy()
    count = np.zeros(currents.shape[1:], np.int32)
    limit = currents.shape[0] if bound is None else bound
    spikes = np.zeros(currents.shape, np.int8)
    for t in range(currents.shape[0]):
        v += currents[t]
        s = (v >= theta).astype(np.int8)
        if signed:
            s = np.where(count >= limit, 0, s)
            s = np.where((v < 0) & (count > 0), -1, s).astype(np.int8)
        count += s
        v -= s * theta
        spikes[t] = s
    return spikes


class IFNeuron(nn.Module):
    """The IF neuron as a stateful module: call reset() before each input
    sequence, then forward once per time step (returns s_t · θ)."""

    def __init__(self, theta, v0=None):
        super().__init__()
        self.theta = torch.as_tensor(theta, dtype=torch.float32)
        self.v0 = self.theta / 2 if v0 is None else torch.as_tensor(v0, dtype=torch.float32)
        self.v = None
        self.spikes = 0   # spikes since reset
        self.inputs = 0   # neuron-steps since reset

    def reset(self):
        self.v, self.spikes, self.inputs = None, 0, 0

    def forward(self, x):
        if self.v is None:
            self.v = torch.broadcast_to(self.v0, x.shape).clone()
        self.v = self.v + x
        s = (self.v >= self.theta).to(x.dtype)
        self.v = self.v - s * self.theta
        self.spikes += int(s.sum())
        self.inputs += s.numel()
        return s * self.theta


def spiking(model, thetas=None, v0s=None):
    """Replaces every QCFS activation by an IF neuron with the QCFS θ (or
    per-neuron `thetas`, `v0s`); returns the neurons."""
    neurons = []
    for i, blk in enumerate(blocks_with_activation(model)):
        theta = blk.act.theta.detach() if thetas is None else thetas[i]
        blk.act = IFNeuron(theta, None if v0s is None else v0s[i])
        neurons.append(blk.act)
    return neurons


def snn_logits(model, neurons, ids, steps):
    """FAS inference: the whole model runs `steps` times on the same input,
    the neurons keep their membranes between steps, logits are averaged."""
    for n in neurons:
        n.reset()
    total = 0
    with torch.no_grad():
        for _ in range(steps):
            total = total + model(ids)
    return total / steps
