"""Stage 1 of spiking conversion (FAS, METHODS.md §3): fine-tunes a
reference model with QCFS activations in its FFNs.

    python3 -m sinter.qcfs --parent examples/models/kjv-opt --levels 8 \\
        --steps 300 --out examples/models/kjv-opt-qcfs

Every block's FFN activation (ReLU, or GELU, which QCFS cannot follow below
zero) becomes QCFS with L levels and a learnable per-layer θ, initialised to
the 99.9th percentile of the activation's positive inputs on one batch.
Loss: KL(parent ‖ student) on the next-byte distributions; the floor passes
gradients straight through. Fixed seeds, 2 threads, random kjv-train windows
as in sinter.train. Writes model.pt (loadable by sinter.testmodels.load),
model.onnx (QCFS as the node chain that onnxruntime runs and Sinter raises
to nn.qcfs; same I/O as the parent) and train.json with held-out bits per
byte of the parent, the QCFS ANN and the IF-neuron SNN at several T."""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from . import corpora, eval as sinter_eval, measure, spike, testmodels, train


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m sinter.qcfs")
    ap.add_argument("--parent", required=True, help="folder with the fp32 model.pt")
    ap.add_argument("--out", required=True)
    ap.add_argument("--levels", type=int, default=8)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--snn-steps", default="",
                    help="T values to also score the PyTorch SNN at, e.g. 2,4,8,16 (slow: T whole-model runs per "
                         "window; `make spike-table` scores the compiled SNN instead)")
    ap.add_argument("--resume", metavar="LOG",
                    help="skip training: evaluate the checkpoint already in --out, with LOG (the JSON lines this "
                         "command printed while training it) as its training log")
    ap.add_argument("--heldout-bytes", type=int, default=0, help="evaluate on the first N held-out bytes (0: all)")
    args = ap.parse_args(argv)
    if args.levels < 1 or args.steps < 1:
        ap.error("--levels and --steps must be >= 1")

    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    rng = np.random.default_rng(args.seed)
    pt = os.path.join(args.parent, "model.pt")
    ckpt = torch.load(pt, map_location="cpu")
    ctx = ckpt["config"]["ctx"]
    teacher = testmodels.load(pt)
    for p in teacher.parameters():
        p.requires_grad_(False)
    student = testmodels.load(pt)
    data = torch.from_numpy(np.frombuffer(corpora.split("kjv-train"), dtype=np.uint8).astype(np.int64))

    def batch():
        return train.random_windows(data, ctx, args.batch, rng)

    thetas = spike.initial_thresholds(student, batch())
    if args.resume:
        student = testmodels.load(os.path.join(args.out, "model.pt"))
        log = [json.loads(line) for line in open(args.resume) if line.startswith("{")]
        seconds = log[-1]["seconds"]
    else:
        seconds, log = fine_tune(student, teacher, thetas, batch, args)
        student.eval()
        os.makedirs(args.out, exist_ok=True)
        torch.save({"arch": ckpt["arch"], "config": ckpt["config"], "qcfs_levels": args.levels,
                    "state_dict": student.state_dict()}, os.path.join(args.out, "model.pt"))
        testmodels.export(student, os.path.join(args.out, "model.onnx"), ctx=ctx)
    evaluate(student, teacher, ckpt, thetas, seconds, log, args)
    return 0


def fine_tune(student, teacher, thetas, batch, args):
    """QCFS in place of every FFN activation, then distillation from the
    parent; returns (seconds, log)."""
    spike.use_qcfs(student, args.levels, thetas).train()
    opt = torch.optim.AdamW(student.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.0)
    warmup = max(1, args.steps // 20)
    start, log = time.time(), []
    for step in range(args.steps):
        lr = train.warmup_cosine(args.lr, step, args.steps, warmup)
        for group in opt.param_groups:
            group["lr"] = lr
        ids = batch()
        with torch.no_grad():
            t_logp = F.log_softmax(teacher(ids), -1).reshape(-1, 256)
        loss = F.kl_div(F.log_softmax(student(ids), -1).reshape(-1, 256), t_logp, log_target=True,
                        reduction="batchmean")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(student.parameters(), 1.0)
        opt.step()
        if step % 50 == 0 or step == args.steps - 1:
            entry = {"step": step, "seconds": round(time.time() - start, 1), "lr": lr,
                     "kl_bits": loss.item() / math.log(2),
                     "thetas": [round(float(b.act.theta), 4) for b in spike.blocks_with_activation(student)]}
            log.append(entry)
            print(json.dumps(entry), file=sys.stderr, flush=True)
    return time.time() - start, log


def evaluate(student, teacher, ckpt, thetas, seconds, log, args):
    """Held-out bits per byte of the parent, the QCFS ANN and (--snn-steps)
    the PyTorch SNN; writes train.json."""
    ctx = ckpt["config"]["ctx"]
    text = corpora.split("kjv-heldout")
    if args.heldout_bytes:
        text = text[:args.heldout_bytes]

    def ann(model):
        return sinter_eval.bits_per_byte(sinter_eval.torch_logits(model), text, ctx, 32)[0]

    scores = {"parent": round(ann(teacher), 4), "qcfs": round(ann(student), 4), "snn": {}}
    neurons = spike.spiking(student)
    for steps in (int(s) for s in args.snn_steps.split(",") if s):
        def run(ids, steps=steps):
            return spike.snn_logits(student, neurons, torch.from_numpy(ids), steps).numpy()
        scores["snn"][f"T={steps}"] = round(sinter_eval.bits_per_byte(run, text, ctx, 32)[0], 4)
        print(json.dumps({"snn_steps": steps, "bits_per_byte": scores["snn"][f"T={steps}"]}), file=sys.stderr)
    parent = os.path.relpath(os.path.abspath(args.parent), measure.ROOT)
    summary = {"parent": parent, "arch": ckpt["arch"], "config": ckpt["config"], "levels": args.levels,
               "steps": args.steps, "batch": args.batch, "lr": args.lr, "seed": args.seed,
               "initial_thetas": [round(t, 4) for t in thetas],
               "thetas": [round(float(b.theta), 4) for b in neurons],
               "train_seconds": round(seconds, 1), "heldout_bytes": len(text),
               "heldout_bits_per_byte": scores}
    train.write_summary(args.out, summary, log)


if __name__ == "__main__":
    sys.exit(main())
