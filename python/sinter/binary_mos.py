"""BinaryMoS (METHODS.md §1) on the PyTorch side: the packed-sign layout
Sinter uses, a numpy reference of the layer, the trainable layer with its
straight-through estimator, and its export as the ONNX custom op
`sinter.bnn::MoSLinear` (docs/dialects/bnn.md documents the op).

Shapes follow ONNX MatMul: a linear is x·W with W [K, N] (K inputs,
N outputs); torch's nn.Linear stores Wᵀ [N, K]."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DOMAIN = "sinter.bnn"


def packed_bytes(k):
    return (k + 7) // 8


def pack_signs(w):
    """sign(W) of a [K, N] matrix as int8 [N, ⌈K/8⌉]: bit k%8 of byte k//8 of
    row n is 1 when W[k, n] >= 0 (layout rows_of_inputs)."""
    w = np.asarray(w)
    k, _ = w.shape
    bits = (w.T >= 0).astype(np.uint8)
    pad = packed_bytes(k) * 8 - k
    bits = np.pad(bits, ((0, 0), (0, pad)))
    return np.packbits(bits, axis=1, bitorder="little").view(np.int8)


def unpack_signs(bits, k):
    """The ±1 [K, N] float32 matrix of packed sign bits."""
    b = np.unpackbits(np.asarray(bits).view(np.uint8), axis=1, bitorder="little")[:, :k]
    return (2.0 * b.T - 1.0).astype(np.float32)


def mos_linear_reference(x, bits, scale_in, scale_out, router, bias, k):
    """y = ((x ⊙ s_in) · sign(W)) ⊙ s_out + b with s = softmax(x·router)·scale,
    in float64 numpy, rows independent."""
    x = np.asarray(x, dtype=np.float64)
    logits = x @ np.asarray(router, dtype=np.float64)
    g = np.exp(logits - logits.max(axis=-1, keepdims=True))
    g /= g.sum(axis=-1, keepdims=True)
    s_in = g @ np.asarray(scale_in, dtype=np.float64)
    s_out = g @ np.asarray(scale_out, dtype=np.float64)
    y = ((x * s_in) @ unpack_signs(bits, k).astype(np.float64)) * s_out
    return y + bias if bias is not None else y


def rank1_scales(w):
    """s_in [K], s_out [N] with |W| ≈ s_in s_outᵀ: the rank-1 SVD of |W|,
    √σ on each side (the paper's initialisation)."""
    u, s, vt = np.linalg.svd(np.abs(np.asarray(w, dtype=np.float64)), full_matrices=False)
    # |W| ≥ 0, so the leading singular vectors can be taken non-negative.
    sign = 1.0 if u[:, 0].sum() >= 0 else -1.0
    root = np.sqrt(s[0])
    return (sign * root * u[:, 0]).astype(np.float32), (sign * root * vt[0]).astype(np.float32)


class _SignSTE(torch.autograd.Function):
    """sign with 0 → +1; the gradient passes where |w| < 1."""

    @staticmethod
    def forward(ctx, w):
        ctx.save_for_backward(w)
        return (w >= 0).to(w.dtype) * 2 - 1

    @staticmethod
    def backward(ctx, grad):
        (w,) = ctx.saved_tensors
        return grad * (w.abs() < 1).to(grad.dtype)


class _MoSLinearOp(torch.autograd.Function):
    """The layer as one ONNX node; forward is the same formula on the packed
    bits, so tracing sees the right shapes and values."""

    @staticmethod
    def forward(ctx, x, bits, scale_in, scale_out, router, bias, k):
        signs = torch.from_numpy(unpack_signs(bits.numpy(), k))
        g = torch.softmax(x @ router, dim=-1)
        y = ((x * (g @ scale_in)) @ signs) * (g @ scale_out)
        return y + bias if bias is not None else y

    @staticmethod
    def symbolic(g, x, bits, scale_in, scale_out, router, bias, k):
        inputs = [x, bits, scale_in, scale_out, router] + ([bias] if bias is not None else [])
        y = g.op(f"{DOMAIN}::MoSLinear", *inputs, in_features_i=k, layout_s="rows_of_inputs")
        return y


class MoSLinear(nn.Module):
    """A binarized nn.Linear with E scale experts and a router. The latent
    weight keeps full precision for training; the forward pass sees sign(W)."""

    def __init__(self, linear, experts):
        super().__init__()
        w = linear.weight.detach()  # [N, K]
        self.k, self.n, self.experts = w.shape[1], w.shape[0], experts
        self.weight = nn.Parameter(w.clone())
        self.bias = nn.Parameter(linear.bias.detach().clone()) if linear.bias is not None else None
        s_in, s_out = rank1_scales(w.T.numpy())
        self.scale_in = nn.Parameter(torch.from_numpy(s_in).repeat(experts, 1))
        self.scale_out = nn.Parameter(torch.from_numpy(s_out).repeat(experts, 1))
        # Small random routing breaks the symmetry of identical experts; a
        # zero router would keep their gradients equal forever.
        self.router = nn.Parameter(0.02 * torch.randn(self.k, experts))
        self.export_mode = False

    def packed(self):
        return torch.from_numpy(pack_signs(self.weight.detach().T.numpy()))

    def forward(self, x):
        if self.export_mode:
            return _MoSLinearOp.apply(x, self.bits, self.scale_in, self.scale_out, self.router, self.bias, self.k)
        g = torch.softmax(x @ self.router, dim=-1)
        y = F.linear(x * (g @ self.scale_in), _SignSTE.apply(self.weight)) * (g @ self.scale_out)
        return y + self.bias if self.bias is not None else y


def block_linears(model):
    """(parent module, attribute name) of every nn.Linear inside the decoder
    blocks: the layers BinaryMoS binarizes (embeddings and head stay)."""
    found = []
    for blk in model.blocks:
        for module in blk.modules():
            for name, child in module.named_children():
                if isinstance(child, (nn.Linear, MoSLinear)):
                    found.append((module, name))
    return found


def binarize(model, experts):
    """Replaces the block linears of `model` with MoSLinear layers (in place)."""
    for parent, name in block_linears(model):
        setattr(parent, name, MoSLinear(getattr(parent, name), experts))
    return model


def set_export_mode(model, on):
    """On: each layer's packed signs become a buffer `bits`, which the
    exporter writes as a named initializer (LAYER.bits); off: removed."""
    for module in model.modules():
        if isinstance(module, MoSLinear):
            module.export_mode = on
            if on:
                module.register_buffer("bits", module.packed())
            elif "bits" in module._buffers:
                del module._buffers["bits"]


def export(model, path, ctx, half_scales=False):
    """ONNX with every MoSLinear as a sinter.bnn::MoSLinear node; with
    half_scales, its scale tables and router are stored as float16."""
    from . import testmodels
    set_export_mode(model, True)
    try:
        testmodels.export(model, path, ctx=ctx, custom_opsets={DOMAIN: 1})
    finally:
        set_export_mode(model, False)
    if half_scales:
        halve_scales(path)


def halve_scales(path):
    """Rewrites, in place, the scale_in, scale_out and router initializers
    of every MoSLinear node of an ONNX file as float16."""
    import onnx
    from onnx import numpy_helper
    model = onnx.load(path)
    inits = {t.name: t for t in model.graph.initializer}
    for node in model.graph.node:
        if node.domain == DOMAIN and node.op_type == "MoSLinear":
            for name in node.input[2:5]:
                t = inits[name]
                t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float16), name))
    onnx.save(model, path)
