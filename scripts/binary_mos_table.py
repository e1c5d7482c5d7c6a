#!/usr/bin/env python3
"""Accuracy and size of BinaryMoS on the reference models, from a real run
(`make binary-mos-table`, docs/compression.md): every variant compiled by
Sinter and scored on the whole of kjv-heldout (bits per byte):

- fp32: the reference model;
- post-training binary, E = 1 and E = 4 (--compress=binary-mos: rank-1 SVD
  scales, identical experts, zero router);
- distilled single-scale (E = 1) and distilled MoS (E = 4), as
  python3 -m sinter.distill writes them (the E = 4 ones are
  examples/models/kjv-*-mos; the E = 1 ones are retrained with
  `make kjv-gpt-mos1 kjv-llama-mos1` into build/mos/);
- the distilled MoS with int8 activations (activations=int8).

Sizes: the block linears' bytes from the compile report (bits, scales and
router counted) against fp32. Writes bench/results/binary_mos_accuracy.json
and, with --docs, the table into docs/compression.md."""
import argparse
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
from sinter import corpora  # noqa: E402
from sinter.docs import write_results  # noqa: E402
from sinter.measure import reference_model, score_variant  # noqa: E402


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="kjv-gpt,kjv-llama",
                    help="models to measure; others keep their results in the JSON")
    ap.add_argument("--e1-dir", default=os.path.join(ROOT, "build", "mos"),
                    help="where the distilled E = 1 students are (NAME-mos1/)")
    ap.add_argument("--work", default=os.path.join(ROOT, "build", "binary-mos"))
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    ap.add_argument("--docs", action="store_true")
    return ap.parse_args()


ARGS = parse_args()


def measure(name, onnx_path, context, text, *flags):
    return score_variant(ARGS.work, name, onnx_path, context, text, "binary-mos", "linear_bytes_binary", *flags)


def imported_linear_bytes(onnx_path):
    """Bytes of the sinter.bnn::MoSLinear layers' bits, scales and routers."""
    import onnx
    from onnx import numpy_helper
    model = onnx.load(onnx_path)
    inits = {t.name: numpy_helper.to_array(t).nbytes for t in model.graph.initializer}
    return sum(inits.get(name, 0) for node in model.graph.node if node.op_type == "MoSLinear"
               for name in node.input[1:5])


def trained(path):
    with open(os.path.join(os.path.dirname(path), "train.json")) as f:
        return json.load(f)["summary"]


def model_rows(model, text):
    _, fp32_onnx, context = reference_model(model)
    rows = {"fp32": measure(f"{model}-fp32", fp32_onnx, context, text)}
    for e in (1, 4):
        rows[f"post-training E={e}"] = measure(f"{model}-ptq{e}", fp32_onnx, context, text,
                                               f"--compress=binary-mos:experts={e}")
    e1 = os.path.join(ARGS.e1_dir, f"{model}-mos1", "model.onnx")
    e4 = os.path.join(ROOT, "examples", "models", f"{model}-mos", "model.onnx")
    for label, path, flags in (("distilled E=1", e1, ()), ("distilled E=4", e4, ()),
                               ("distilled E=4, int8 activations", e4, ("--compress=binary-mos:activations=int8",))):
        if os.path.exists(path):
            rows[label] = measure(f"{model}-{label.replace(' ', '').replace(',', '-').replace('=', '')}", path,
                                  context, text, *flags)
            rows[label]["training"] = trained(path)
            rows[label].setdefault("linear_bytes_binary", imported_linear_bytes(path))
            rows[label].setdefault("linear_bytes_fp32", rows["post-training E=1"]["linear_bytes_fp32"])
    return rows


def table(results):
    lines = ["Measured by `make binary-mos-table` (every variant compiled by Sinter, the whole of kjv-heldout; "
             "bench/results/binary_mos_accuracy.json).", "",
             "| model | variant | bits/byte | vs fp32 | block-linear bytes | training |", "|---|---|---|---|---|---|"]
    for model, rows in results.items():
        base = rows["fp32"]["bits_per_byte"]
        sizes = rows["post-training E=1"]
        for label, r in rows.items():
            size = ("fp32 " + f"{sizes['linear_bytes_fp32'] / 2**20:.2f} MiB" if label == "fp32" else "")
            if "linear_bytes_binary" in r:
                size = f"{r['linear_bytes_binary'] / 2**10:.0f} KiB ({r['linear_bytes_fp32'] / r['linear_bytes_binary']:.1f}×)"
            t = r.get("training")
            steps = f"{t['steps']} steps × {t['batch']} windows" if t else ""
            delta = "" if label == "fp32" else f"+{100 * (r['bits_per_byte'] / base - 1):.1f}%"
            lines.append(f"| {model} | {label} | {r['bits_per_byte']:.4f} | {delta} | {size} | {steps} |")
    return "\n".join(lines)


def main():
    os.makedirs(ARGS.work, exist_ok=True)
    os.makedirs(ARGS.out, exist_ok=True)
    text = corpora.split("kjv-heldout")
    path = os.path.join(ARGS.out, "binary_mos_accuracy.json")
    # Models not measured this time keep their last results.
    results = json.load(open(path)) if os.path.exists(path) else {}
    results.update({m: model_rows(m, text) for m in ARGS.models.split(",")})
    write_results(path, results, table(results),
                  "binary-mos-table" if ARGS.docs else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
