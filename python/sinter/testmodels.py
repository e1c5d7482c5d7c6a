"""Small transformer models exported with torch.onnx.export, used by the
end-to-end tests (random weights, fixed seeds) and trained by sinter.train
into the reference models under examples/models/: GPT2 (LayerNorm, learned
positions, GELU FFN), OPT (the same with separate q/k/v and a ReLU FFN) and
Llama (RMSNorm, RoPE, SwiGLU)."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def causal_attention(q, k, v, heads, mask):
    """softmax(q kᵀ / √(d/heads)) v per head under a boolean lower-triangular
    mask; q, k, v and the result are [batch, seq, d]."""
    b, t, d = q.shape
    q, k, v = (z.view(b, t, heads, d // heads).transpose(1, 2) for z in (q, k, v))
    att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d // heads))
    att = att.masked_fill(~mask[:t, :t], float("-inf"))
    return (F.softmax(att, dim=-1) @ v).transpose(1, 2).reshape(b, t, d)


class GPT2Block(nn.Module):
    def __init__(self, d, heads, ctx):
        super().__init__()
        self.ln1 = nn.LayerNorm(d)
        self.ln2 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.fc = nn.Linear(d, 4 * d)
        self.out = nn.Linear(4 * d, d)
        self.act = nn.GELU()  # a module, so that sinter.qcfs can swap it
        self.heads = heads
        self.register_buffer("mask", torch.tril(torch.ones(ctx, ctx)).bool())

    def forward(self, x):
        q, k, v = self.qkv(self.ln1(x)).split(x.shape[2], dim=2)
        x = x + self.proj(causal_attention(q, k, v, self.heads, self.mask))
        return x + self.out(self.act(self.fc(self.ln2(x))))


class GPT2(nn.Module):
    def __init__(self, vocab=256, d=64, heads=4, layers=2, ctx=64):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(ctx, d)
        self.blocks = nn.ModuleList([GPT2Block(d, heads, ctx) for _ in range(layers)])
        self.lnf = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)

    def forward(self, input_ids):
        t = input_ids.shape[1]
        pos = torch.arange(t, device=input_ids.device).unsqueeze(0)
        x = self.wte(input_ids) + self.wpe(pos)
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.lnf(x))


class OPTBlock(nn.Module):
    """OPT's decoder layer with pre-LayerNorm: separate q/k/v/out projections
    with biases and a ReLU FFN (fc1 -> ReLU -> fc2)."""

    def __init__(self, d, heads, ctx):
        super().__init__()
        self.attn_ln = nn.LayerNorm(d)
        self.ffn_ln = nn.LayerNorm(d)
        self.q = nn.Linear(d, d)
        self.k = nn.Linear(d, d)
        self.v = nn.Linear(d, d)
        self.o = nn.Linear(d, d)
        self.fc1 = nn.Linear(d, 4 * d)
        self.fc2 = nn.Linear(4 * d, d)
        self.act = nn.ReLU()
        self.heads = heads
        self.register_buffer("mask", torch.tril(torch.ones(ctx, ctx)).bool())

    def forward(self, x):
        y = self.attn_ln(x)
        x = x + self.o(causal_attention(self.q(y), self.k(y), self.v(y), self.heads, self.mask))
        return x + self.fc2(self.act(self.fc1(self.ffn_ln(x))))


class OPT(GPT2):
    """GPT2's embeddings, final norm and head around OPT blocks."""

    def __init__(self, vocab=256, d=64, heads=4, layers=2, ctx=64):
        super().__init__(vocab, d, heads, layers, ctx)
        self.blocks = nn.ModuleList([OPTBlock(d, heads, ctx) for _ in range(layers)])


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.w = nn.Parameter(torch.ones(d) + 0.1 * torch.randn(d))
        self.eps = eps

    def forward(self, x):
        return self.w * x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)


def rope(x, cos, sin):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2 :]
    return x * cos + torch.cat((-x2, x1), dim=-1) * sin


class LlamaBlock(nn.Module):
    def __init__(self, d, heads, ff):
        super().__init__()
        self.n1 = RMSNorm(d)
        self.n2 = RMSNorm(d)
        self.q = nn.Linear(d, d, bias=False)
        self.k = nn.Linear(d, d, bias=False)
        self.v = nn.Linear(d, d, bias=False)
        self.o = nn.Linear(d, d, bias=False)
        self.gate = nn.Linear(d, ff, bias=False)
        self.up = nn.Linear(d, ff, bias=False)
        self.down = nn.Linear(ff, d, bias=False)
        self.heads = heads

    def forward(self, x, cos, sin, mask):
        b, t, d = x.shape
        h = self.heads
        y = self.n1(x)
        q = self.q(y).view(b, t, h, d // h).transpose(1, 2)
        k = self.k(y).view(b, t, h, d // h).transpose(1, 2)
        v = self.v(y).view(b, t, h, d // h).transpose(1, 2)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(d // h) + mask
        y = (F.softmax(att, dim=-1) @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.o(y)
        y = self.n2(x)
        return x + self.down(F.silu(self.gate(y)) * self.up(y))


class Llama(nn.Module):
    def __init__(self, vocab=256, d=64, heads=4, layers=2, ff=172, ctx=64):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.blocks = nn.ModuleList([LlamaBlock(d, heads, ff) for _ in range(layers)])
        self.norm = RMSNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)
        hd = d // heads
        inv = 1.0 / (10000 ** (torch.arange(0, hd, 2).float() / hd))
        f = torch.outer(torch.arange(ctx).float(), inv)
        f = torch.cat((f, f), dim=-1)
        self.register_buffer("cos", f.cos())
        self.register_buffer("sin", f.sin())

    def forward(self, input_ids):
        t = input_ids.shape[1]
        cos, sin = self.cos[:t], self.sin[:t]
        mask = torch.triu(torch.full((t, t), float("-inf")), diagonal=1)
        x = self.emb(input_ids)
        for blk in self.blocks:
            x = blk(x, cos, sin, mask)
        return self.head(self.norm(x))


class FFNOnly(nn.Module):
    """Embedding → one FFN → d outputs: GELU, or SwiGLU when gated. Rows are
    independent, so kernels and references can be compared row by row; the
    FFN's up-projection exports as node "/up/MatMul"."""

    def __init__(self, d, hidden, gated=False, vocab=256):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.up = nn.Linear(d, hidden)
        self.gate = nn.Linear(d, hidden) if gated else None
        self.down = nn.Linear(hidden, d)

    def forward(self, ids):
        x = self.emb(ids)
        if self.gate is None:
            return self.down(F.gelu(self.up(x)))
        return self.down(F.silu(self.gate(x)) * self.up(x))


def export(model, path, ctx=64, opset=17, custom_opsets=None):
    model.eval()
    ids = torch.randint(0, 256, (1, min(16, ctx)))
    torch.onnx.export(
        model, (ids,), path, input_names=["input_ids"], output_names=["logits"],
        dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}},
        opset_version=opset, do_constant_folding=True, custom_opsets=custom_opsets)


ARCHS = {"gpt2": GPT2, "opt": OPT, "llama": Llama}


def build(name, seed=0, **kw):
    torch.manual_seed(seed)
    return ARCHS[name](**kw)


def load(path):
    """The model of a checkpoint {"arch", "config", "state_dict"}, in eval mode."""
    ckpt = torch.load(path, map_location="cpu")
    model = build(ckpt["arch"], **ckpt.get("config", {}))
    if "binary_mos_experts" in ckpt:  # a distilled BinaryMoS student
        from . import binary_mos
        binary_mos.binarize(model, ckpt["binary_mos_experts"])
    if "qcfs_levels" in ckpt:  # a QCFS fine-tuned model (sinter.qcfs)
        from . import spike
        spike.use_qcfs(model, ckpt["qcfs_levels"])
    model.load_state_dict(ckpt["state_dict"])
    return model.eval()


class FFNLayer:
    """One FFN of a model: `name` is its up-projection's ONNX node, the
    layer name in calibration profiles; `pre` the module whose output σ
    reads (the gate when gated); `up` and `down` the projections."""

    def __init__(self, name, activation, gated, pre, up, down):
        self.name, self.activation, self.gated = name, activation, gated
        self.pre, self.up, self.down = pre, up, down


def ffn_layers(model):
    """The FFNs of a GPT2, OPT or Llama model, in order."""
    layers = []
    for i, blk in enumerate(model.blocks):
        if isinstance(blk, LlamaBlock):
            layers.append(FFNLayer(f"/blocks.{i}/up/MatMul", "silu", True, blk.gate, blk.up, blk.down))
        elif isinstance(blk, OPTBlock):
            layers.append(FFNLayer(f"/blocks.{i}/fc1/MatMul", "relu", False, blk.fc1, blk.fc1, blk.fc2))
        else:
            layers.append(FFNLayer(f"/blocks.{i}/fc/MatMul", "gelu", False, blk.fc, blk.fc, blk.out))
    return layers


if __name__ == "__main__":
    import sys
    export(build(sys.argv[1]), sys.argv[2])
