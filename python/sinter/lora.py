"""PyTorch LoRA with the same parameterization as sinter-compile
--train-lora, the reference the in-object training is compared with:
each adapted linear computes x·W + b + (x·A)·B·(alpha/rank), A [d_in,
rank], B [rank, d_out], trained by torch.optim.Adam on the mean next-token
cross-entropy with the base weights frozen."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class LoRALinear(nn.Module):
    def __init__(self, base, rank, alpha):
        super().__init__()
        self.base = base
        self.scale = alpha / rank
        self.A = nn.Parameter(torch.zeros(base.in_features, rank))
        self.B = nn.Parameter(torch.zeros(rank, base.out_features))

    def forward(self, x):
        return self.base(x) + (x @ self.A @ self.B) * self.scale


def module_name(adapter):
    """The PyTorch module of an adapter's ONNX node:
    '/blocks.0/qkv/MatMul.lora_A' → 'blocks.0.qkv'."""
    node = adapter.rsplit(".lora_", 1)[0]
    return ".".join(p for p in node.strip("/").split("/")[:-1])


def add_lora(model, adapter_names, rank, alpha):
    """Wraps the linears the compiled adapters name (A, B pairs, in order);
    returns the LoRA parameters in the same order, base weights frozen."""
    for p in model.parameters():
        p.requires_grad_(False)
    params = []
    for name in adapter_names[::2]:
        path = module_name(name)
        parent_path, _, leaf = path.rpartition(".")
        parent = model.get_submodule(parent_path) if parent_path else model
        lora = LoRALinear(getattr(parent, leaf), rank, alpha)
        setattr(parent, leaf, lora)
        params += [lora.A, lora.B]
    return params


def train_step(model, optimizer, input_ids, targets):
    """One Adam step; returns the loss before it."""
    logits = model(input_ids)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()
