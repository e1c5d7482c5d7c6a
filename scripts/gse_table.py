#!/usr/bin/env python3
"""Accuracy and size of GSE-INT post-training quantization on the reference
models, from a real run (`make gse-table`, docs/compression.md): every
variant compiled by Sinter (--compress=gse:...) and scored on the whole of
kjv-heldout (bits per byte) against the fp32 model: w8a8, w6a8, w4a8 with
5-bit exponents in groups of 32, and w8a8 with OCP MX's 8-bit exponent.

Sizes: the quantized weights' bytes (linears and, unless
embeddings=0, embedding tables: 8-bit mantissas by default) from the compile report (one byte per
mantissa, half a byte for 4 bits or fewer, and one per exponent, as the
object holds them), bits per quantized weight, and every weight the object
stores (what stays f32 included). Writes
bench/results/gse_accuracy.json and, with --docs, the table into
docs/compression.md."""
import argparse
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
from sinter import corpora  # noqa: E402
from sinter.docs import write_results  # noqa: E402
from sinter.measure import reference_model, score_variant  # noqa: E402

VARIANTS = {"w8a8": "w=8,a=8", "w6a8": "w=6,a=8", "w4a8": "w=4,a=8", "w4a8, 4-bit embeddings": "w=4,a=8,embeddings=4",
            "w4a8, f32 embeddings": "w=4,a=8,embeddings=0", "w8a8 MX (8-bit exponents)": "w=8,a=8,exponent=8"}


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="kjv-gpt,kjv-llama",
                    help="models to measure; others keep their results in the JSON")
    ap.add_argument("--work", default=os.path.join(ROOT, "build", "gse"))
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    ap.add_argument("--docs", action="store_true")
    return ap.parse_args()


ARGS = parse_args()


def measure(name, onnx_path, context, text, *flags):
    result = score_variant(ARGS.work, name, onnx_path, context, text, "gse", "linear_bytes_gse", *flags)
    if "linear_bytes_gse" in result:
        result["bits_per_weight"] = 32 * result["linear_bytes_gse"] / result["linear_bytes_fp32"]
    return result


def model_rows(model, text):
    _, onnx_path, context = reference_model(model)
    rows = {"fp32": measure(f"{model}-fp32", onnx_path, context, text)}
    for label, options in VARIANTS.items():
        name = options.replace(",", "-").replace("=", "")
        rows[label] = measure(f"{model}-{name}", onnx_path, context, text, f"--compress=gse:{options}")
    return rows


def table(results):
    lines = ["Measured by `make gse-table` (every variant compiled by Sinter, the whole of kjv-heldout, groups of 32; "
             "bench/results/gse_accuracy.json).", "",
             "| model | variant | bits/byte | vs fp32 | quantized weights | bits per weight | all weights in the object |",
             "|---|---|---|---|---|---|---|"]
    for model, rows in results.items():
        base = rows["fp32"]["bits_per_byte"]
        for label, r in rows.items():
            delta = "" if label == "fp32" else f"{100 * (r['bits_per_byte'] / base - 1):+.2f}%"
            size = (f"{r['linear_bytes_gse'] / 2**20:.2f} MiB ({r['linear_bytes_fp32'] / r['linear_bytes_gse']:.1f}×)"
                    if "linear_bytes_gse" in r else "")
            per = f"{r['bits_per_weight']:.2f}" if "bits_per_weight" in r else "32"
            total = rows["fp32"]["weight_bytes_compiled"] / r["weight_bytes_compiled"]
            lines.append(f"| {model} | {label} | {r['bits_per_byte']:.4f} | {delta} | {size} | {per} | "
                         f"{r['weight_bytes_compiled'] / 2**20:.2f} MiB ({total:.1f}×) |")
    return "\n".join(lines)


def main():
    os.makedirs(ARGS.work, exist_ok=True)
    os.makedirs(ARGS.out, exist_ok=True)
    text = corpora.split("kjv-heldout")
    path = os.path.join(ARGS.out, "gse_accuracy.json")
    results = json.load(open(path)) if os.path.exists(path) else {}
    results.update({m: model_rows(m, text) for m in ARGS.models.split(",")})
    write_results(path, results, table(results), "gse-table" if ARGS.docs else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
