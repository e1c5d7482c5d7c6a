"""Distils a BinaryMoS student from a trained reference model (METHODS.md §1):

    python3 -m sinter.distill --teacher examples/models/kjv-gpt \\
        --experts 4 --steps 600 --out examples/models/kjv-gpt-mos

The student is the teacher with every decoder-block linear replaced by a
BinaryMoS layer (sign(W), E scale experts, a router), initialised from the
rank-1 SVD of |W|; embeddings, norms and the LM head stay fp32 and keep
training. Loss = KL(teacher ‖ student) on the next-byte distributions
+ 10 × the mean over blocks of the MSE between their output hidden states.
sign() passes gradients straight through where |W| < 1. Fixed seeds,
2 threads, random kjv-train windows as in sinter.train. Writes model.pt
(loadable by sinter.testmodels.load), model.onnx (block linears as
sinter.bnn::MoSLinear nodes) and train.json with held-out bits per byte."""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from . import binary_mos, corpora, eval as sinter_eval, measure, testmodels, train


def block_outputs(model):
    """A list that fills with each block's output on every forward pass."""
    outputs = []
    for blk in model.blocks:
        blk.register_forward_hook(lambda _m, _i, out: outputs.append(out))
    return outputs


def distillation_loss(teacher, student, t_hidden, s_hidden, ids, hidden_weight):
    t_hidden.clear()
    s_hidden.clear()
    with torch.no_grad():
        t_logits = teacher(ids)
    s_logits = student(ids)
    kl = F.kl_div(F.log_softmax(s_logits, -1).reshape(-1, 256), F.log_softmax(t_logits, -1).reshape(-1, 256),
                  log_target=True, reduction="batchmean")
    mse = sum(F.mse_loss(s, t) for s, t in zip(s_hidden, t_hidden)) / len(t_hidden)
    return kl + hidden_weight * mse, kl, mse


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m sinter.distill")
    ap.add_argument("--teacher", required=True, help="folder with the fp32 model.pt")
    ap.add_argument("--out", required=True)
    ap.add_argument("--experts", type=int, default=4)
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--hidden-weight", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scales", choices=("f16", "f32"), default="f16",
                    help="store the exported scale tables and routers as float16 (default, as the compiler does) or float32")
    ap.add_argument("--heldout-bytes", type=int, default=0, help="evaluate on the first N held-out bytes (0: all)")
    args = ap.parse_args(argv)
    if args.experts < 1 or args.steps < 1:
        ap.error("--experts and --steps must be >= 1")

    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    rng = np.random.default_rng(args.seed)
    ckpt = torch.load(os.path.join(args.teacher, "model.pt"), map_location="cpu")
    teacher = testmodels.load(os.path.join(args.teacher, "model.pt"))
    student = binary_mos.binarize(testmodels.load(os.path.join(args.teacher, "model.pt")), args.experts).train()
    for p in teacher.parameters():
        p.requires_grad_(False)
    t_hidden, s_hidden = block_outputs(teacher), block_outputs(student)
    ctx = ckpt["config"]["ctx"]
    data = torch.from_numpy(np.frombuffer(corpora.split("kjv-train"), dtype=np.uint8).astype(np.int64))
    opt = torch.optim.AdamW(student.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.0)
    warmup = max(1, args.steps // 20)
    start, log = time.time(), []
    for step in range(args.steps):
        lr = train.warmup_cosine(args.lr, step, args.steps, warmup)
        for group in opt.param_groups:
            group["lr"] = lr
        ids = train.random_windows(data, ctx, args.batch, rng)
        loss, kl, mse = distillation_loss(teacher, student, t_hidden, s_hidden, ids, args.hidden_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(student.parameters(), 1.0)
        opt.step()
        if step % 50 == 0 or step == args.steps - 1:
            entry = {"step": step, "seconds": round(time.time() - start, 1), "lr": lr,
                     "kl_bits": kl.item() / math.log(2), "hidden_mse": mse.item()}
            log.append(entry)
            print(json.dumps(entry), file=sys.stderr, flush=True)
    seconds = time.time() - start
    student.eval()
    os.makedirs(args.out, exist_ok=True)
    torch.save({"arch": ckpt["arch"], "config": ckpt["config"], "binary_mos_experts": args.experts,
                "state_dict": student.state_dict()}, os.path.join(args.out, "model.pt"))
    binary_mos.export(student, os.path.join(args.out, "model.onnx"), ctx, half_scales=args.scales == "f16")

    text = corpora.split("kjv-heldout")
    heldout, _ = sinter_eval.bits_per_byte(sinter_eval.torch_logits(student),
                                           text[:args.heldout_bytes] if args.heldout_bytes else text, ctx, 32)
    teacher = os.path.relpath(os.path.abspath(args.teacher), measure.ROOT)
    summary = {"teacher": teacher, "arch": ckpt["arch"], "config": ckpt["config"],
               "experts": args.experts, "steps": args.steps, "batch": args.batch, "lr": args.lr,
               "hidden_weight": args.hidden_weight, "seed": args.seed, "scales": args.scales,
               "train_seconds": round(seconds, 1), "heldout_bits_per_byte": round(heldout, 4)}
    train.write_summary(args.out, summary, log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
