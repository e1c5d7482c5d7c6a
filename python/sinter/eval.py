"""Bits per byte of a byte-level language model on a text.

    python3 -m sinter.eval --model M --text kjv-heldout|fortunes|FILE [--context 128]

M is a compiled Sinter library (.so), an ONNX model run by onnxruntime
(.onnx), or a PyTorch checkpoint (.pt: {"arch", "config", "state_dict"} for
an architecture in sinter.testmodels). Every model maps input_ids
int64[batch, seq] to logits float32[batch, seq, 256].

Protocol: the text is cut into non-overlapping windows of `context` + 1
bytes that share their boundary byte (window k covers bytes kC .. kC + C);
each window's first C bytes are the input and every byte after the first
of the text is predicted exactly once, with the context available since its
window's start. bits per byte = Σ −log2 p(byte) / bytes predicted;
perplexity = 2 ** bits per byte (per byte)."""
import argparse
import math
import sys

import numpy as np

from . import corpora


def windows(text, context):
    """(inputs, targets) pairs; the last window may be shorter."""
    data = np.frombuffer(text, dtype=np.uint8).astype(np.int64)
    for start in range(0, len(data) - 1, context):
        chunk = data[start:start + context + 1]
        yield chunk[:-1], chunk[1:]


def torch_logits(model):
    """A logits function (int64 ids → float logits, numpy) of a PyTorch model."""
    import torch

    def run(ids):
        with torch.no_grad():
            return model(torch.from_numpy(ids)).numpy()
    return run


def _logits_fn(path, name):
    if path.endswith(".so"):
        from .runtime import load
        model = load(path, name)
        return lambda ids: model(ids)
    if path.endswith(".onnx"):
        from . import ort
        return lambda ids: ort.run(path, {"input_ids": ids})[0]["logits"]
    if path.endswith(".pt"):
        from . import testmodels
        return torch_logits(testmodels.load(path))
    raise ValueError(f"--model: '{path}' is not a .so, .onnx or .pt file")


def bits_per_byte(logits_fn, text, context, batch=16, progress=False):
    """Returns (bits per byte, bytes predicted)."""
    total_bits, count = 0.0, 0
    pending = list(windows(text, context))
    # Full windows go in batches; a shorter last window runs alone.
    while pending:
        size = len(pending[0][0])
        group = [w for w in pending[:batch] if len(w[0]) == size]
        pending = pending[len(group):]
        ids = np.stack([w[0] for w in group])
        targets = np.stack([w[1] for w in group])
        logits = np.asarray(logits_fn(ids), dtype=np.float64)
        m = logits.max(axis=-1, keepdims=True)
        logp = logits - m - np.log(np.exp(logits - m).sum(axis=-1, keepdims=True))
        picked = np.take_along_axis(logp, targets[..., None], axis=-1)
        total_bits -= picked.sum() / math.log(2)
        count += targets.size
        if progress:
            print(f"\r  {count} bytes, {total_bits / count:.4f} bits/byte", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    return total_bits / max(count, 1), count


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m sinter.eval", description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help=".so, .onnx or .pt")
    ap.add_argument("--text", required=True, help="kjv-heldout, kjv-train, fortunes or a file")
    ap.add_argument("--context", type=int, default=128, help="window length in bytes (default 128)")
    ap.add_argument("--batch", type=int, default=16, help="windows per call (default 16)")
    ap.add_argument("--limit-bytes", type=int, default=0, help="evaluate only the first N bytes")
    ap.add_argument("--name", default="sinter_model", help="getter name in a .so")
    args = ap.parse_args(argv)
    if args.context < 1 or args.batch < 1:
        ap.error("--context and --batch must be >= 1")
    text = corpora.split(args.text)
    if args.limit_bytes:
        text = text[:args.limit_bytes]
    # Progress on a terminal, or on long texts (the whole of a corpus).
    progress = sys.stderr.isatty() or len(text) > 1 << 20
    bpb, n = bits_per_byte(_logits_fn(args.model, args.name), text, args.context, args.batch, progress)
    print(f"model {args.model}\ntext {args.text} ({n} bytes predicted, context {args.context})")
    print(f"bits_per_byte {bpb:.6f}\nperplexity {2 ** bpb:.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
