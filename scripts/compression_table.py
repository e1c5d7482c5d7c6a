#!/usr/bin/env python3
"""Measures FFN linearization (sinter-linearize-ffn) on the reference models
from a real run: one calibration per model on kjv-train, then for each
coverage and exact fraction a compile, its FFN bytes (compile report) and
bits per byte on the start of kjv-heldout, next to the dense compile on the
same text. At the operating point it also measures, per layer, how often the
predictor sends a neuron to the exact path on held-out text (the numpy
reference on the FFN inputs that PyTorch's model computes).

    PYTHONPATH=python /usr/bin/python3 scripts/compression_table.py [--models kjv-gpt,kjv-opt]

Writes docs/compression.json, docs/compression_kjv.png and the table between
the markers in docs/compression.md."""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
from sinter import corpora, linearize, testmodels  # noqa: E402
from sinter.docs import publish, save_panels  # noqa: E402
from sinter.measure import bits, compile_so, reference_model  # noqa: E402

FFN = {"gpt2": ("fc", "out", "gelu"), "opt": ("fc1", "fc2", "relu")}


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="kjv-gpt,kjv-opt")
    ap.add_argument("--coverages", default="0.5,0.8,0.9,0.95,0.99")
    ap.add_argument("--exacts", default="0,0.1,0.25")
    ap.add_argument("--operating-point", default="coverage=0.9,exact=0.1")
    ap.add_argument("--heldout-bytes", type=int, default=100_000)
    ap.add_argument("--calibration-bytes", type=int, default=65_536)
    ap.add_argument("--work", default=os.path.join(ROOT, "build", "compression"))
    ap.add_argument("--no-docs", action="store_true", help="only print (and write the JSON to --work)")
    return ap.parse_args()


def fallback_rates(model_dir, profile, spec, text, context):
    """Per layer at `spec`: (predicted, truly outside, recall, all neurons outside)."""
    ckpt = torch.load(os.path.join(model_dir, "model.pt"), map_location="cpu")
    model = testmodels.load(os.path.join(model_dir, "model.pt"))
    up_name, down_name, kind = FFN[ckpt["arch"]]
    inputs = {i: [] for i in range(len(model.blocks))}
    hooks = [getattr(blk, up_name).register_forward_hook(lambda m, a, o, i=i: inputs[i].append(a[0].reshape(-1, a[0].shape[-1]).numpy()))
             for i, blk in enumerate(model.blocks)]
    ids = np.frombuffer(text[:(len(text) // context) * context], dtype=np.uint8).astype(np.int64).reshape(-1, context)
    with torch.no_grad():
        for chunk in np.array_split(ids, max(1, len(ids) // 16)):
            model(torch.from_numpy(chunk))
    for h in hooks:
        h.remove()
    levels, layers = linearize.load_profile(profile)
    opts = {k: float(v) for k, v in (kv.split("=") for kv in spec.split(","))}
    rows = []
    for i, blk in enumerate(model.blocks):
        up, down = getattr(blk, up_name), getattr(blk, down_name)
        ref = linearize.LinearizedFFN(up.weight.detach().numpy().T, up.bias.detach().numpy(),
                                      down.weight.detach().numpy().T, down.bias.detach().numpy(),
                                      layers[f"/blocks.{i}/{up_name}/MatMul"], levels, kind, opts["coverage"],
                                      opts["exact"], int(opts.get("predictor-bits", 2)))
        p, t, r, a = ref.outlier_rates(np.concatenate(inputs[i]))
        rows.append({"layer": i, "predicted": p, "outside_exact": t, "recall": r, "outside_all": a})
    return rows


def measure(name, args):
    d, onnx_path, context = reference_model(name)
    work = os.path.join(args.work, name)
    os.makedirs(work, exist_ok=True)
    calib, profile = os.path.join(work, "calibration.txt"), os.path.join(work, "profile.json")
    with open(calib, "wb") as f:
        f.write(corpora.split("kjv-train")[:args.calibration_bytes])
    heldout = corpora.split("kjv-heldout")[:args.heldout_bytes]
    dense = os.path.join(work, "dense.so")
    t0 = time.time()
    compile_so(onnx_path, dense, f"--calibration={calib}", f"--calibration-tokens={args.calibration_bytes}",
               f"--save-profile={profile}")
    result = {"model": name, "context": context, "heldout_bytes": len(heldout),
              "calibration_bytes": args.calibration_bytes, "calibration_seconds": time.time() - t0,
              "dense_bits_per_byte": bits(dense, heldout, context), "points": []}
    for cov in map(float, args.coverages.split(",")):
        for exact in map(float, args.exacts.split(",")):
            # One file per point: a path already loaded would be dlopen'ed again as is.
            spec = f"coverage={cov},exact={exact}"
            so, report = os.path.join(work, f"lin_{cov}_{exact}.so"), os.path.join(work, "report.json")
            compile_so(onnx_path, so, f"--profile={profile}", f"--compress=linearize-ffn:{spec}", f"--report={report}")
            layers = json.load(open(report))["compression"]
            before, after = sum(x["bytes_before"] for x in layers), sum(x["bytes_after"] for x in layers)
            point = {"coverage": cov, "exact": exact, "ffn_bytes_before": before, "ffn_bytes_after": after,
                     "ffn_bytes_cut": 1 - after / before, "bits_per_byte": bits(so, heldout, context)}
            result["points"].append(point)
            print(f"{name} {spec}: cut {point['ffn_bytes_cut']:.1%}, {point['bits_per_byte']:.4f} bits/byte "
                  f"(dense {result['dense_bits_per_byte']:.4f})", flush=True)
    result["operating_point"] = args.operating_point
    result["fallback"] = fallback_rates(d, profile, args.operating_point, heldout, context)
    return result


def chart(results, path):
    def draw(ax, r):
        for exact in sorted({p["exact"] for p in r["points"]}):
            pts = [p for p in r["points"] if p["exact"] == exact]
            cut = pts[0]["ffn_bytes_cut"]
            ax.plot([p["coverage"] for p in pts], [p["bits_per_byte"] for p in pts], "o-",
                    label=f"exact {exact:g} (FFN bytes -{cut:.0%})")
        ax.axhline(r["dense_bits_per_byte"], color="k", ls="--", label="dense fp32")
        ax.set_title(f"{r['model']}: linearize-ffn")
        ax.set_xlabel("coverage")
        ax.set_ylabel(f"bits/byte, first {r['heldout_bytes']:,} bytes of kjv-heldout")
        ax.legend(fontsize=8)

    save_panels(results, path, draw, 5.5)


def table(results):
    lines = []
    for r in results:
        lines.append(f"**{r['model']}** (dense {r['dense_bits_per_byte']:.4f} bits/byte on the first "
                     f"{r['heldout_bytes']:,} bytes of kjv-heldout; calibration on {r['calibration_bytes']:,} "
                     f"bytes of kjv-train, {r['calibration_seconds']:.0f} s)\n")
        exacts = sorted({p["exact"] for p in r["points"]})
        lines.append("| coverage | " + " | ".join(f"exact {e:g}: bits/byte (FFN bytes cut)" for e in exacts) + " |")
        lines.append("|---|" + "---|" * len(exacts))
        for cov in sorted({p["coverage"] for p in r["points"]}):
            cells = []
            for e in exacts:
                p = next(p for p in r["points"] if p["coverage"] == cov and p["exact"] == e)
                cells.append(f"{p['bits_per_byte']:.4f} ({p['ffn_bytes_cut']:.1%})")
            lines.append(f"| {cov:g} | " + " | ".join(cells) + " |")
        lines.append(f"\nAt {r['operating_point']}, per layer on held-out text: the share of (token, exact "
                     "neuron) pairs sent to the exact path, the share truly outside the range, the "
                     "predictor's recall, and the share of all neurons' pre-activations outside their ranges.\n")
        lines.append("| layer | predicted | truly outside | recall | all neurons outside |")
        lines.append("|---|---|---|---|---|")
        for f in r["fallback"]:
            lines.append(f"| {f['layer']} | {f['predicted']:.1%} | {f['outside_exact']:.1%} | {f['recall']:.1%} "
                         f"| {f['outside_all']:.1%} |")
        lines.append("")
    return "\n".join(lines)


def main():
    args = parse_args()
    results = [measure(m, args) for m in args.models.split(",")]
    publish(results, "compression", chart, table, "compression-table", args.work if args.no_docs else None)


if __name__ == "__main__":
    main()
