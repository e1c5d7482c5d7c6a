"""Attribution scores of FFN neurons, written as a calibration profile that
sinter-compile reads (--profile, --compress=sparsify-ffn:score=attribution).

    python3 -m sinter.attribution --model examples/models/kjv-llama/model.pt \\
        --text kjv-train --out llama-attribution.json

For every FFN neuron i (h: what the down projection reads) and token t, the
corrected attribution score of "Achieving Sparse Activation in Small
Language Models" (arXiv 2406.06562):

    s_ti = -GxO_ti + 1/2 |h_ti| * ||g_t||_2,   GxO_ti = g_ti * h_ti,

g_t = dL/dh_t, the norm over the layer's neurons, L the summed
cross-entropy of the model against its own most likely next byte (the dense
model's predictions, so the score measures how far removing a neuron moves
the model from itself). The profile holds the mean of s over tokens
(`score`), and what sinter-compile's own calibration records on the same
windows — per-neuron mean and quantiles of σ's input, mean |h|, the
layer-wide distribution of |h|, the first FFN input rows — so one file
serves magnitude and attribution selection alike. The windows are those of
sinter-compile --calibration: the first --tokens bytes, cut into windows of
--window bytes.

With --predictor-rank R it also trains, per layer, the low-rank predictor
that sparsify-ffn's dynamic mode runs per token (Deja Vu style):
logits = (x·A)·B + c with A [d, R], B [R, h], fitted by binary
cross-entropy to the oracle's labels — per token, the top (1 − p) neurons
by s_ti, p = --label-sparsity — on the first 90% of the tokens; its recall
of those labels on the last 10% goes into the profile."""
import argparse
import json
import sys

import numpy as np
import torch
import torch.nn.functional as F

from . import corpora, testmodels

LEVELS = 201
INPUT_ROWS = 256  # FFN input rows kept per layer, as calibration keeps them
MAGNITUDE_SAMPLES = 1 << 20  # |h| values kept per layer for its distribution
SCORE_METHOD = ("attribution: mean over tokens of -GxO + 1/2 |h| ||dL/dh||, "
                "L = cross-entropy against the model's own argmax next byte")


def windows(text, tokens, window):
    """Token ids [rows, window]: the first `tokens` bytes, whole windows."""
    rows = min(tokens, len(text)) // window
    if rows == 0:
        raise ValueError(f"the text holds fewer than {window} bytes")
    return np.frombuffer(text[:rows * window], dtype=np.uint8).astype(np.int64).reshape(rows, window)


class _Layer:
    """Hooks on one FFN that keep σ's input, the FFN input and h."""

    def __init__(self, ffn, label_k=0):
        self.ffn, self.label_k = ffn, label_k
        self.x_rows, self.labels = [], []
        self.handles = [
            ffn.pre.register_forward_hook(lambda m, a, out: setattr(self, "z", out.detach())),
            ffn.up.register_forward_pre_hook(lambda m, a: setattr(self, "x", a[0].detach())),
            ffn.down.register_forward_pre_hook(self._keep_h),
        ]
        self.z_rows, self.inputs, self.magnitudes = [], [], []
        self.score_sum = self.magnitude_sum = None
        self.seen = 0

    def _keep_h(self, module, args):
        args[0].retain_grad()
        self.h = args[0]

    def take(self, total_values):
        """Adds this batch's statistics (after backward)."""
        n = self.h.shape[-1]
        h = self.h.detach().reshape(-1, n).double()
        g = self.h.grad.reshape(-1, n).double()
        s = -(g * h) + 0.5 * h.abs() * g.norm(dim=1, keepdim=True)
        if self.score_sum is None:
            self.score_sum, self.magnitude_sum = torch.zeros(n, dtype=torch.float64), torch.zeros(n, dtype=torch.float64)
        self.score_sum += s.sum(0)
        if self.label_k:
            self.x_rows.append(self.x.reshape(-1, self.x.shape[-1]).clone())
            mask = torch.zeros(s.shape, dtype=torch.bool)
            mask.scatter_(1, s.topk(self.label_k, dim=1).indices, True)
            self.labels.append(mask)
        self.magnitude_sum += h.abs().sum(0)
        self.z_rows.append(self.z.reshape(-1, n).numpy())
        have = sum(len(r) for r in self.inputs)
        if have < INPUT_ROWS:
            self.inputs.append(self.x.reshape(-1, self.x.shape[-1])[:INPUT_ROWS - have].numpy())
        # Every stride-th |h| in token-major order, as calibration keeps them.
        stride = max(1, total_values // MAGNITUDE_SAMPLES)
        flat = self.h.detach().abs().reshape(-1).numpy()
        first = (-self.seen) % stride
        self.magnitudes.append(flat[first::stride])
        self.seen += flat.size

    def train_predictor(self, rank, epochs, seed=0):
        """Fits the predictor to the labels; returns its profile entry."""
        x, y = torch.cat(self.x_rows), torch.cat(self.labels).float()
        cut = int(len(x) * 0.9)
        torch.manual_seed(seed)
        d, n = x.shape[1], y.shape[1]
        net = torch.nn.Sequential(torch.nn.Linear(d, rank, bias=False), torch.nn.Linear(rank, n))
        opt = torch.optim.Adam(net.parameters(), lr=1e-2)
        steps = epochs * ((cut + 1023) // 1024)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
        g = torch.Generator().manual_seed(seed)
        for _ in range(epochs):
            for idx in torch.randperm(cut, generator=g).split(1024):
                loss = F.binary_cross_entropy_with_logits(net(x[idx]), y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
        with torch.no_grad():
            held = net(x[cut:]).topk(self.label_k, dim=1).indices
            recall = y[cut:].gather(1, held).mean().item() if len(held) else -1.0
        a, b = net[0].weight.detach().T.contiguous(), net[1]
        return {"rank": rank, "input_width": d, "in": a.reshape(-1).tolist(),
                "out": b.weight.detach().T.contiguous().reshape(-1).tolist(), "bias": b.bias.detach().tolist(),
                "label_sparsity": 1 - self.label_k / n, "recall": recall}

    def summary(self, tokens):
        z = np.concatenate(self.z_rows)
        n = z.shape[1]
        q = np.quantile(z, np.linspace(0, 1, LEVELS), axis=0).T  # [n, levels]
        mags = np.concatenate(self.magnitudes)
        inputs = np.concatenate(self.inputs)
        return {
            "name": self.ffn.name, "activation": self.ffn.activation, "gated": self.ffn.gated,
            "neurons": n, "samples": tokens,
            "mean": z.mean(0, dtype=np.float64).tolist(), "quantiles": q.reshape(-1).tolist(),
            "magnitude": (self.magnitude_sum / tokens).tolist(),
            "magnitude_quantiles": np.quantile(mags, np.linspace(0, 1, LEVELS)).tolist(),
            "score": (self.score_sum / tokens).tolist(),
            "input_width": inputs.shape[1], "inputs": inputs.reshape(-1).tolist(),
        }

    def remove(self):
        for handle in self.handles:
            handle.remove()


def attribution_profile(model, ids, source, batch=8, predictor_rank=0, label_sparsity=0.8, epochs=20):
    """The profile (a dict in the sinter-profile format) of `model` on the
    windows `ids` [rows, window]; with `predictor_rank`, each layer also gets
    a predictor trained on the top (1 − label_sparsity) neurons per token."""
    def label_k(ffn):
        n = ffn.down.in_features
        return max(1, int(round((1 - label_sparsity) * n))) if predictor_rank else 0
    layers = [_Layer(f, label_k(f)) for f in testmodels.ffn_layers(model)]
    tokens = ids.size
    try:
        for first in range(0, len(ids), batch):
            chunk = torch.from_numpy(ids[first:first + batch])
            model.zero_grad(set_to_none=True)
            logits = model(chunk)
            labels = logits.detach().argmax(-1)
            F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), reduction="sum").backward()
            for layer in layers:
                layer.take(tokens * layer.h.shape[-1])
    finally:
        for layer in layers:
            layer.remove()
    summaries = []
    for layer in layers:
        summary = layer.summary(tokens)
        if predictor_rank:
            summary["predictor"] = layer.train_predictor(predictor_rank, epochs)
        summaries.append(summary)
    return {"format": "sinter-profile", "version": 1, "source": source, "tokens": tokens, "levels": LEVELS,
            "score_method": SCORE_METHOD, "layers": summaries}


def oracle_bits_per_byte(model, text, context, sparsity, kind, batch=16):
    """Bits per byte (sinter.eval's protocol) of `model` when each token
    keeps the top (1 − sparsity) neurons of every FFN by its own
    per-token score on the dense pass — `attribution` (s_ti, one backward
    per window) or `magnitude` (|h_ti|). An oracle: it needs the dense
    pass first, so it bounds what a predictor can reach; not compiled."""
    from . import eval as sinter_eval
    ffns = testmodels.ffn_layers(model)
    masks, keep_h = {}, {}

    def capture(ffn):
        def hook(m, args):
            args[0].retain_grad()
            keep_h[ffn.name] = args[0]
        return hook

    def apply_mask(ffn):
        return lambda m, args: (args[0] * masks[ffn.name],) if ffn.name in masks else None

    def logits_fn(ids):
        ids = torch.from_numpy(ids)
        masks.clear()
        handles = [f.down.register_forward_pre_hook(capture(f)) for f in ffns]
        try:
            logits = model(ids)
            if kind == "attribution":
                model.zero_grad(set_to_none=True)
                F.cross_entropy(logits.reshape(-1, logits.shape[-1]), logits.detach().argmax(-1).reshape(-1),
                                reduction="sum").backward()
        finally:
            for handle in handles:
                handle.remove()
        for f in ffns:
            h = keep_h[f.name].detach()
            if kind == "attribution":
                g = keep_h[f.name].grad
                score = -(g * h) + 0.5 * h.abs() * g.norm(dim=-1, keepdim=True)
            else:
                score = h.abs()
            k = max(1, int(round((1 - sparsity) * h.shape[-1])))
            masks[f.name] = torch.zeros_like(h).scatter_(-1, score.topk(k, dim=-1).indices, 1.0)
        handles = [f.down.register_forward_pre_hook(apply_mask(f)) for f in ffns]
        try:
            with torch.no_grad():
                return model(ids).numpy()
        finally:
            for handle in handles:
                handle.remove()

    return sinter_eval.bits_per_byte(logits_fn, text, context, batch)[0]


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m sinter.attribution", description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="PyTorch checkpoint (model.pt) of a sinter.testmodels architecture")
    ap.add_argument("--text", required=True, help="kjv-train, fortunes or a file (bytes are tokens)")
    ap.add_argument("--tokens", type=int, default=8192, help="tokens to run (default 8192)")
    ap.add_argument("--window", type=int, default=128, help="tokens per window (default 128)")
    ap.add_argument("--out", required=True, help="profile to write (JSON)")
    ap.add_argument("--predictor-rank", type=int, default=0,
                    help="train a rank-R neuron predictor per layer for dynamic sparsity (default: none)")
    ap.add_argument("--label-sparsity", type=float, default=0.8,
                    help="the predictor's labels: the top (1 - p) neurons per token (default 0.8)")
    ap.add_argument("--epochs", type=int, default=20, help="predictor training epochs (default 20)")
    args = ap.parse_args(argv)
    if args.tokens < 1 or args.window < 1:
        ap.error("--tokens and --window must be >= 1")
    if args.predictor_rank < 0 or not 0 <= args.label_sparsity < 1 or args.epochs < 1:
        ap.error("--predictor-rank must be >= 0, --label-sparsity in [0, 1), --epochs >= 1")
    torch.set_num_threads(2)
    try:
        model = testmodels.load(args.model)
        ids = windows(corpora.split(args.text), args.tokens, args.window)
    except (OSError, ValueError, KeyError, RuntimeError) as e:
        print(f"sinter.attribution: {e}", file=sys.stderr)
        return 1
    profile = attribution_profile(model, ids, args.text, predictor_rank=args.predictor_rank,
                                  label_sparsity=args.label_sparsity, epochs=args.epochs)
    with open(args.out, "w") as f:
        json.dump(profile, f)
    print(f"sinter.attribution: {len(profile['layers'])} layers, {profile['tokens']} tokens -> {args.out}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
