"""Trains a byte-level language model on the King James text (kjv-train)
and writes a checkpoint, the ONNX export and the training log.

    python3 -m sinter.train --arch opt --out examples/models/kjv-opt \
        --d 192 --layers 4 --heads 4 --context 128 --steps 1100

CPU only, fixed seeds (torch, numpy), 2 threads. Random windows of
`context` + 1 bytes from kjv-train; AdamW with linear warm-up and cosine
decay over --steps, so a run is the same on any machine up to floating-point
summation order. --minutes instead of --steps fits the cosine to the steps
a time budget allows (measured over the first 50 steps): faster, but the
weights then depend on the machine's speed."""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from . import corpora, eval as sinter_eval, testmodels


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m sinter.train")
    ap.add_argument("--arch", default="gpt2", choices=sorted(testmodels.ARCHS))
    ap.add_argument("--out", required=True)
    ap.add_argument("--d", type=int, default=192)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--context", type=int, default=128)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--steps", type=int, default=0, help="fixed schedule length")
    ap.add_argument("--minutes", type=float, default=0.0, help="time budget instead of --steps")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if (args.steps > 0) == (args.minutes > 0):
        ap.error("give exactly one of --steps and --minutes")

    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    rng = np.random.default_rng(args.seed)
    config = {"d": args.d, "heads": args.heads, "layers": args.layers, "ctx": args.context}
    if args.arch == "llama":
        config["ff"] = int(8 * args.d / 3) // 8 * 8
    model = testmodels.build(args.arch, seed=args.seed, **config)
    params = sum(p.numel() for p in model.parameters())
    data = torch.from_numpy(np.frombuffer(corpora.split("kjv-train"), dtype=np.uint8).astype(np.int64))
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.1)
    warmup = 200
    budget = args.minutes * 60 or math.inf
    start = time.time()
    log = []
    model.train()
    step = 0
    est_steps = args.steps or 100000
    while step < est_steps and time.time() - start < budget:
        if step == 50 and not args.steps:
            est_steps = int(budget / ((time.time() - start) / 50))
        lr = warmup_cosine(args.lr, step, est_steps, warmup)
        for g in opt.param_groups:
            g["lr"] = lr
        idx = torch.from_numpy(rng.integers(0, len(data) - args.context - 1, args.batch))
        batch = torch.stack([data[i:i + args.context + 1] for i in idx])
        logits = model(batch[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, 256), batch[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 100 == 0:
            entry = {"step": step, "seconds": round(time.time() - start, 1), "lr": lr,
                     "train_bits_per_byte": loss.item() / math.log(2)}
            log.append(entry)
            print(json.dumps(entry), file=sys.stderr, flush=True)
        step += 1
    seconds = time.time() - start
    model.eval()
    os.makedirs(args.out, exist_ok=True)
    torch.save({"arch": args.arch, "config": config, "state_dict": model.state_dict()},
               os.path.join(args.out, "model.pt"))
    testmodels.export(model, os.path.join(args.out, "model.onnx"), ctx=args.context)

    heldout, _ = sinter_eval.bits_per_byte(sinter_eval.torch_logits(model), corpora.split("kjv-heldout"),
                                           args.context, 32)
    summary = {"arch": args.arch, "config": config, "parameters": params, "steps": step,
               "schedule": "steps" if args.steps else "minutes",
               "train_seconds": round(seconds, 1), "batch": args.batch, "lr": args.lr,
               "seed": args.seed, "heldout_bits_per_byte": round(heldout, 4)}
    write_summary(args.out, summary, log)
    return 0


def warmup_cosine(base_lr, step, steps, warmup):
    """The learning rate of `step`: linear warm-up over `warmup` steps, then
    cosine decay to 0 at `steps` (every trainer here uses it)."""
    return base_lr * min(1.0, (step + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(1.0, step / max(steps, 1))))


def random_windows(data, length, count, rng):
    """`count` windows of `length` token ids at random offsets of `data`
    (a 1-D int64 tensor), stacked: the fine-tuners' batches."""
    idx = rng.integers(0, len(data) - length - 1, count)
    return torch.stack([data[i:i + length] for i in idx])


def write_summary(out, summary, log):
    """train.json in `out` ({"summary", "log"}); prints the summary."""
    with open(os.path.join(out, "train.json"), "w") as f:
        json.dump({"summary": summary, "log": log}, f, indent=1)
    print(json.dumps(summary))


if __name__ == "__main__":
    sys.exit(main())
