#!/usr/bin/env python3
"""Fills the table in docs/models.md from a real run: for every reference
model under examples/models/, bits per byte on kjv-heldout and fortunes
under PyTorch (model.pt), onnxruntime (model.onnx) and Sinter (model.onnx
compiled to a .so), with sinter.eval's protocol at the model's context.

    PYTHONPATH=python /usr/bin/python3 scripts/model_table.py [--models kjv-gpt,...]

Writes docs/models.json and replaces the text between the table markers in
docs/models.md. fortunes is cut to its first --fortunes-bytes (default
400,000; 0: all 2,576,674) to keep the run to about 4 minutes per model on
2 cores; onnxruntime goes through node, so it gets large batches."""
import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
from sinter import compile as sinter_compile, corpora, eval as sinter_eval  # noqa: E402
from sinter.docs import replace_section  # noqa: E402

TEXTS = ["kjv-heldout", "fortunes"]
BACKENDS = [("pytorch", "model.pt", 64), ("onnxruntime", "model.onnx", 1024), ("sinter", "model.so", 64)]


def evaluate(name, limits):
    d = os.path.join(ROOT, "examples", "models", name)
    train = json.load(open(os.path.join(d, "train.json")))["summary"]
    so = os.path.join(ROOT, "build", "models", name + ".so")
    os.makedirs(os.path.dirname(so), exist_ok=True)
    sinter_compile(os.path.join(d, "model.onnx"), so)
    row = {"model": name, "arch": train["arch"], "parameters": train["parameters"],
           "context": train["config"]["ctx"], "train_seconds": train["train_seconds"]}
    for backend, file, batch in BACKENDS:
        path = so if file == "model.so" else os.path.join(d, file)
        fn = sinter_eval._logits_fn(path, "sinter_model")
        for text in TEXTS:
            t0 = time.time()
            data = corpora.split(text)
            data = data[:limits[text]] if limits.get(text) else data
            bpb, n = sinter_eval.bits_per_byte(fn, data, row["context"], batch)
            row[f"{backend}:{text}"] = round(bpb, 6)
            row[f"bytes:{text}"] = n
            print(f"{name} {backend} {text}: {bpb:.6f} bits/byte over {n} bytes "
                  f"({time.time() - t0:.0f} s)", file=sys.stderr, flush=True)
    return row


def markdown(rows):
    head = ("| model | architecture | parameters | kjv-heldout PyTorch | onnxruntime | Sinter "
            "| fortunes PyTorch | onnxruntime | Sinter |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
    body = ""
    for r in rows:
        cells = [f"{r[f'{b}:{t}']:.4f}" for t in TEXTS for b, _, _ in BACKENDS]
        body += f"| {r['model']} | {r['arch']} | {r['parameters']:,} | " + " | ".join(cells) + " |\n"
    return head + body


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="kjv-gpt,kjv-opt,kjv-llama")
    ap.add_argument("--fortunes-bytes", type=int, default=400000)
    args = ap.parse_args()
    rows = [evaluate(m, {"fortunes": args.fortunes_bytes}) for m in args.models.split(",")]
    with open(os.path.join(ROOT, "docs", "models.json"), "w") as f:
        json.dump(rows, f, indent=1)
    replace_section("models.md", "model-table", markdown(rows))
    print(markdown(rows))


if __name__ == "__main__":
    main()
