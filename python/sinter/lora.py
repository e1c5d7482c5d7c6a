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


def heldout_bpb(logits_fn, text, windows=64, seq=128):
    """Bits per byte on the first `windows` consecutive windows of `text`
    (sinter.eval's protocol; as examples/lora-finetune measures it)."""
    from .eval import bits_per_byte
    return bits_per_byte(logits_fn, text[:windows * seq + 1], seq, batch=windows)[0]


def memory(report, workspace_bytes, frozen_params, adapter_params):
    """Training memory (frozen weights + adapters + optimizer state) of the
    object, and of PyTorch LoRA in fp32 and in bf16 (weights, adapters,
    gradients and Adam's two moments all in that type)."""
    return {"sinter": report["weight_bytes_compiled"] + workspace_bytes,
            "pytorch_fp32": 4 * frozen_params + 4 * 4 * adapter_params,
            "pytorch_bf16": 2 * frozen_params + 2 * 4 * adapter_params}


def _batches(text, args):
    import numpy as np
    data = np.frombuffer(text, dtype=np.uint8).astype(np.int64)
    rng = np.random.default_rng(args.seed)
    for _ in range(args.steps):
        starts = rng.integers(0, len(data) - args.seq - 1, args.batch)
        w = np.stack([data[s:s + args.seq + 1] for s in starts])
        yield w[:, :-1], w[:, 1:]


def _train(step, logits, batches, heldout, args):
    """Runs the steps; the losses, time per step and held-out bits per byte
    before and after."""
    import time
    import numpy as np
    before = heldout_bpb(logits, heldout, args.eval_windows, args.seq)
    losses, t0 = [], time.perf_counter()
    for x, y in batches:
        losses.append(step(x, y))
    seconds = time.perf_counter() - t0
    return {"losses": losses, "ms_per_step": 1000 * seconds / max(1, len(losses)),
            "final_loss": float(np.mean(losses[-args.last:])), "heldout_bpb_before": before,
            "heldout_bpb_after": heldout_bpb(logits, heldout, args.eval_windows, args.seq)}


def compare(args):
    """Trains each compiled object and PyTorch fp32 LoRA from the same
    adapters on the same batches; returns the results per configuration."""
    import json
    import os
    import tempfile

    import numpy as np

    from . import corpora, runtime, testmodels
    from .eval import torch_logits
    torch.set_num_threads(args.threads)
    text = corpora.split(args.text)
    cut = len(text) - len(text) // 10
    train, heldout = text[:cut], text[cut:]
    results = {"model": args.model, "steps": args.steps, "batch": args.batch, "seq": args.seq, "lr": args.lr,
               "rank": args.rank, "alpha": args.alpha, "text": args.text, "configs": {}}
    start = None
    frozen = sum(p.numel() for p in testmodels.load(os.path.join(args.model, "model.pt")).parameters())
    with tempfile.TemporaryDirectory() as tmp:
        for i, config in enumerate(args.configs):
            # A name per build: dlopen returns an already loaded path's library.
            so, report_path = os.path.join(tmp, f"model{i}.so"), os.path.join(tmp, f"report{i}.json")
            # "SPEC+k=v,...": a --compress spec (or fp32), then more --train-lora options.
            compress, _, extra = config.partition("+")
            flags = {"train_lora": f"rank={args.rank},alpha={args.alpha}" + (f",{extra}" if extra else ""),
                     "report": report_path}
            if compress != "fp32":
                flags["compress"] = compress
            runtime.compile(os.path.join(args.model, "model.onnx"), so, **flags)
            report = json.load(open(report_path))
            m = runtime.load(so, threads=args.threads)
            lora = runtime.LoRA(m, seed=args.seed)
            if start is None:
                start = ([a.name for a in lora.adapters], [lora.get(i) for i in range(len(lora.adapters))])
            p = sum(int(np.prod(a.shape)) for a in lora.adapters)
            entry = _train(lambda x, y: lora.train_step(x, y, args.lr), lora, _batches(train, args), heldout, args)
            entry.update({"trainable_parameters": p, "memory_bytes": memory(report, lora.workspace_bytes, frozen, p),
                          "weight_bytes_compiled": report["weight_bytes_compiled"],
                          "workspace_bytes": lora.workspace_bytes})
            results["configs"][config] = entry
            print(f"{config}: final loss {entry['final_loss']:.4f}, held-out {entry['heldout_bpb_before']:.4f} -> "
                  f"{entry['heldout_bpb_after']:.4f} bits/byte, {entry['ms_per_step']:.0f} ms/step", flush=True)
            del lora, m

    model = testmodels.load(os.path.join(args.model, "model.pt"))
    params = add_lora(model, start[0], args.rank, args.alpha)
    with torch.no_grad():
        for p, a in zip(params, start[1]):
            p.copy_(torch.from_numpy(a))
    opt = torch.optim.Adam(params, lr=args.lr)

    entry = _train(lambda x, y: train_step(model, opt, torch.from_numpy(x), torch.from_numpy(y)), torch_logits(model),
                   _batches(train, args), heldout, args)
    results["configs"]["pytorch-fp32"] = entry
    print(f"pytorch-fp32: final loss {entry['final_loss']:.4f}, held-out {entry['heldout_bpb_before']:.4f} -> "
          f"{entry['heldout_bpb_after']:.4f} bits/byte, {entry['ms_per_step']:.0f} ms/step", flush=True)
    return results


def table(results):
    """The Markdown table of a comparison (docs/compression.md)."""
    ref = results["configs"]["pytorch-fp32"]
    rows = ["| | final loss (nats) | vs PyTorch | held-out bits/byte before → after | ms/step | "
            "training memory | vs PyTorch fp32 / bf16 |", "|---|---|---|---|---|---|---|"]
    for name, c in results["configs"].items():
        rel = 100 * (c["final_loss"] / ref["final_loss"] - 1)
        mem = c.get("memory_bytes")
        mem_text = (f"{mem['sinter'] / 2**20:.2f} MiB | {mem['pytorch_fp32'] / mem['sinter']:.2f}× / "
                    f"{mem['pytorch_bf16'] / mem['sinter']:.2f}×") if mem else " | "
        if not mem:
            some = next(v["memory_bytes"] for v in results["configs"].values() if "memory_bytes" in v)
            mem_text = f"{some['pytorch_fp32'] / 2**20:.2f} MiB (bf16: {some['pytorch_bf16'] / 2**20:.2f} MiB) | 1×"
        label = "PyTorch fp32 LoRA" if name == "pytorch-fp32" else "Sinter " + name.replace("+", ", ")
        rows.append(f"| {label} | {c['final_loss']:.4f} | {rel:+.2f}% | {c['heldout_bpb_before']:.4f} → "
                    f"{c['heldout_bpb_after']:.4f} | {c['ms_per_step']:.0f} | {mem_text} |")
    return "\n".join(rows) + "\n"


def main(argv=None):
    import argparse
    import json
    ap = argparse.ArgumentParser(description="Trains --train-lora objects and PyTorch LoRA on the same batches")
    ap.add_argument("--model", default="examples/models/kjv-gpt", help="folder with model.onnx and model.pt")
    ap.add_argument("--configs", default="fp32;gse:w=8,a=8;gse:w=4,a=8;gse:w=8,a=8+moments=bf16;gse:w=4,a=8+moments=bf16",
                    help="';'-separated object builds: fp32 or a --compress spec, each optionally followed by "
                         "'+' and more --train-lora options")
    ap.add_argument("--text", default="fortunes")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--rank", type=int, default=8)
    ap.add_argument("--alpha", type=float, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--eval-windows", type=int, default=64)
    ap.add_argument("--last", type=int, default=20, help="steps averaged into the final loss")
    ap.add_argument("--out", default="bench/results/lora.json")
    ap.add_argument("--docs", action="store_true", help="put the table into docs/compression.md")
    args = ap.parse_args(argv)
    args.configs = [c for c in args.configs.split(";") if c]
    results = compare(args)
    import os
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=1)
    text = table(results)
    print(text)
    if args.docs:
        from .docs import replace_section
        replace_section("compression.md", "lora-table", text)


if __name__ == "__main__":
    main()
