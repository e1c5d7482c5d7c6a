#!/usr/bin/env python3
"""Measures FFN activation sparsity (sinter-sparsify-ffn) on the reference
models from a real run. Per model: one sinter-compile calibration on
kjv-train (magnitude statistics, the compiler's own) and one attribution
profile from python (sinter.attribution, with rank-32 predictors for the
dynamic mode) on the same bytes; then for each
mode, score and sparsity a compile, its FFN bytes (compile report) and bits
per byte on the start of kjv-heldout, next to the dense compile.

    PYTHONPATH=python /usr/bin/python3 scripts/sparsity_table.py [--models kjv-gpt,kjv-llama]

Writes docs/sparsity.json, docs/sparsity_kjv.png and the table between the
sparsity-table markers in docs/compression.md."""
import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
from sinter import attribution, corpora, testmodels  # noqa: E402
from sinter.docs import publish, save_panels  # noqa: E402
from sinter.measure import bits, compile_so, reference_model  # noqa: E402


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="kjv-gpt,kjv-opt,kjv-llama")
    ap.add_argument("--sparsities", default="0.5,0.6,0.7,0.8,0.9")
    ap.add_argument("--scores", default="attribution,magnitude")
    ap.add_argument("--modes", default="static,dynamic")
    ap.add_argument("--predictor-rank", type=int, default=32, help="rank of the dynamic mode's predictors")
    ap.add_argument("--heldout-bytes", type=int, default=100_000)
    ap.add_argument("--calibration-bytes", type=int, default=65_536)
    ap.add_argument("--work", default=os.path.join(ROOT, "build", "sparsity"))
    ap.add_argument("--no-docs", action="store_true", help="only print (and write the JSON to --work)")
    ap.add_argument("--from-json", help="write the docs from this earlier sparsity.json instead of measuring")
    ap.add_argument("--oracle-sparsities", default="0.8",
                    help="also measure the per-token oracles (PyTorch, not compiled) at these sparsities")
    return ap.parse_args()


def profiles(name, onnx_path, context, work, args):
    """(the compiler's calibration profile, the attribution profile, seconds each)."""
    calib = os.path.join(work, "calibration.txt")
    with open(calib, "wb") as f:
        f.write(corpora.split("kjv-train")[:args.calibration_bytes])
    own, scored = os.path.join(work, "profile.json"), os.path.join(work, "attribution.json")
    t0 = time.time()
    compile_so(onnx_path, os.path.join(work, "dense.so"), f"--calibration={calib}",
               f"--calibration-tokens={args.calibration_bytes}", f"--calibration-window={context}",
               f"--save-profile={own}")
    t1 = time.time()
    model = testmodels.load(os.path.join(ROOT, "examples", "models", name, "model.pt"))
    ids = attribution.windows(open(calib, "rb").read(), args.calibration_bytes, context)
    with open(scored, "w") as f:
        json.dump(attribution.attribution_profile(model, ids, calib, predictor_rank=args.predictor_rank), f)
    return own, scored, t1 - t0, time.time() - t1


def measure(name, args):
    _, onnx_path, context = reference_model(name)
    work = os.path.join(args.work, name)
    os.makedirs(work, exist_ok=True)
    own, scored, calib_s, attr_s = profiles(name, onnx_path, context, work, args)
    heldout = corpora.split("kjv-heldout")[:args.heldout_bytes]
    result = {"model": name, "context": context, "heldout_bytes": len(heldout),
              "calibration_bytes": args.calibration_bytes, "calibration_seconds": calib_s,
              "attribution_seconds": attr_s,
              "dense_bits_per_byte": bits(os.path.join(work, "dense.so"), heldout, context), "points": []}
    for mode in args.modes.split(","):
        for score in args.scores.split(","):
            profile = scored if score == "attribution" else own
            for p in map(float, args.sparsities.split(",")):
                # One file per point: a path already loaded would be dlopen'ed again as is.
                so, report = os.path.join(work, f"{mode}_{score}_{p}.so"), os.path.join(work, "report.json")
                compile_so(onnx_path, so, f"--profile={profile}", f"--report={report}",
                           f"--compress=sparsify-ffn:sparsity={p},mode={mode},score={score}")
                layers = json.load(open(report))["compression"]
                before, after = sum(x["bytes_before"] for x in layers), sum(x["bytes_after"] for x in layers)
                point = {"mode": mode, "score": score, "sparsity": p, "ffn_bytes_before": before,
                         "ffn_bytes_after": after, "bits_per_byte": bits(so, heldout, context)}
                if mode == "dynamic":
                    point["decode_bytes_read"] = sum(x["decode_weight_bytes_per_token"] for x in layers) / sum(
                        x["dense_weight_bytes_per_token"] for x in layers)
                    if score == "attribution":
                        point["predictor_recall"] = [x.get("predictor_recall") for x in layers]
                point["loss"] = point["bits_per_byte"] / result["dense_bits_per_byte"] - 1
                result["points"].append(point)
                print(f"{name} {mode} {score} {p}: {point['bits_per_byte']:.4f} bits/byte "
                      f"({point['loss']:+.1%} vs dense {result['dense_bits_per_byte']:.4f})", flush=True)
    return result


def add_oracles(result, args):
    """Points of mode "oracle": each token keeps its own top neurons by the
    dense pass's attribution or |h| (sinter.attribution.oracle_bits_per_byte)."""
    model = testmodels.load(os.path.join(ROOT, "examples", "models", result["model"], "model.pt"))
    heldout = corpora.split("kjv-heldout")[:result["heldout_bytes"]]
    for p in map(float, filter(None, args.oracle_sparsities.split(","))):
        for score in args.scores.split(","):
            if any(x["mode"] == "oracle" and x["score"] == score and x["sparsity"] == p for x in result["points"]):
                continue
            b = attribution.oracle_bits_per_byte(model, heldout, result["context"], p, score)
            result["points"].append({"mode": "oracle", "score": score, "sparsity": p, "bits_per_byte": b,
                                     "loss": b / result["dense_bits_per_byte"] - 1})
            print(f"{result['model']} oracle {score} {p}: {b:.4f} bits/byte", flush=True)


def chart(results, path):
    def draw(ax, r):
        for mode, score in sorted({(p["mode"], p["score"]) for p in r["points"]}):
            pts = [p for p in r["points"] if p["mode"] == mode and p["score"] == score]
            ax.plot([p["sparsity"] for p in pts], [p["bits_per_byte"] for p in pts],
                    "*" if mode == "oracle" else "o-", markersize=10 if mode == "oracle" else 5,
                    label=f"{mode} {score}" + (" (PyTorch, per-token)" if mode == "oracle" else ""))
        ax.axhline(r["dense_bits_per_byte"], color="k", ls="--", label="dense fp32")
        ax.axhline(r["dense_bits_per_byte"] * 1.05, color="grey", ls=":", label="dense + 5%")
        ax.set_title(f"{r['model']}: sparsify-ffn")
        ax.set_xlabel("FFN sparsity")
        ax.set_ylabel(f"bits/byte, first {r['heldout_bytes']:,} bytes of kjv-heldout")
        ax.legend(fontsize=8)

    save_panels(results, path, draw, 5)


def table(results):
    lines = []
    for r in results:
        lines.append(f"**{r['model']}** (dense {r['dense_bits_per_byte']:.4f} bits/byte on the first "
                     f"{r['heldout_bytes']:,} bytes of kjv-heldout; statistics from {r['calibration_bytes']:,} "
                     f"bytes of kjv-train: calibration {r['calibration_seconds']:.0f} s, attribution "
                     f"{r['attribution_seconds']:.0f} s)\n")
        order = {"static": 0, "dynamic": 1, "oracle": 2}
        series = sorted({(p["mode"], p["score"]) for p in r["points"]}, key=lambda x: (order.get(x[0], 3), x[1]))
        lines.append("| sparsity | " + " | ".join(f"{m} {s}" for m, s in series) + " |")
        lines.append("|---|" + "---|" * len(series))
        for sp in sorted({p["sparsity"] for p in r["points"]}):
            cells = []
            for m, s in series:
                p = next((p for p in r["points"] if p["mode"] == m and p["score"] == s and p["sparsity"] == sp), None)
                cells.append(f"{p['bits_per_byte']:.4f} ({p['loss']:+.1%})" if p else "—")
            lines.append(f"| {sp:g} | " + " | ".join(cells) + " |")
        dyn = [p for p in r["points"] if p["mode"] == "dynamic"]
        if dyn:
            lines.append("\nWeights a decoded token reads, as a share of the dense FFN's (the compile report's "
                         "decode_weight_bytes_per_token; the predictor's own weights included):\n")
            lines.append("| sparsity | " + " | ".join(f"dynamic {s}" for s in sorted({p['score'] for p in dyn})) +
                         " |")
            lines.append("|---|" + "---|" * len({p["score"] for p in dyn}))
            for sp in sorted({p["sparsity"] for p in dyn}):
                cells = [f"{p['decode_bytes_read']:.0%}" for s in sorted({p['score'] for p in dyn})
                         for p in dyn if p["score"] == s and p["sparsity"] == sp]
                lines.append(f"| {sp:g} | " + " | ".join(cells) + " |")
            recall = next((p["predictor_recall"] for p in dyn if p.get("predictor_recall")), None)
            if recall:
                lines.append(f"\nPredictor recall of the attribution oracle's top "
                             f"{1 - 0.8:.0%} per token, held-out calibration tokens, by layer: "
                             + ", ".join(f"{x:.2f}" for x in recall) + "\n")
        lines.append("")
    return "\n".join(lines)


def main():
    args = parse_args()
    if args.from_json:
        results = json.load(open(args.from_json))
    else:
        results = [measure(m, args) for m in args.models.split(",")]
    for r in results:
        add_oracles(r, args)
    publish(results, "sparsity", chart, table, "sparsity-table", args.work if args.no_docs else None)


if __name__ == "__main__":
    main()
