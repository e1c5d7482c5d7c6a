#!/usr/bin/env python3
"""Accuracy, firing rates, energy and speed of spiking conversion (FAS) on
the QCFS reference models, from a real run (`make spike-table`,
docs/compression.md): the fp32 parent, the QCFS ANN and the SNN at
T = 2, 4, 8, 16, every one compiled by Sinter (--compress=spike:T=...) and
scored on the first --bytes of kjv-heldout (bits per byte).

Each T is compiled twice: with the QCFS thresholds as they are, and
calibrated by the compiler (coarse-to-fine, on the first
--calibration-tokens bytes of kjv-train). Firing rates, accumulates and
energy come from the calibrated T = 8 compile report (rates measured by
the compiler on the calibration text). Energy per token with FAS's 45 nm
figures, 4.6 pJ a MAC and 0.9 pJ an accumulate: the spiking layers (the
linears that read spikes) take T · rate · K · N accumulates against K · N
MACs in the ANN; the whole SNN also runs every other MAC T times.
Wall-clock: `sinter-run --bench` on 128 bytes, the ANN and the calibrated
SNNs in turn for three rounds (the best of each). Writes
bench/results/spike.json and, with --docs, the table into
docs/compression.md."""
import argparse
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
from sinter import corpora  # noqa: E402
from sinter.docs import write_results  # noqa: E402
from sinter.measure import bench_ms, bits, compile_so, reference_model, token_inputs  # noqa: E402

MAC_PJ, AC_PJ = 4.6, 0.9
STEPS = (2, 4, 8, 16)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="kjv-opt-qcfs,kjv-gpt-qcfs")
    ap.add_argument("--bytes", type=int, default=100000, help="bytes of kjv-heldout to score (0: all)")
    ap.add_argument("--calibration-tokens", type=int, default=1024)
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--work", default=os.path.join(ROOT, "build", "spike"))
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    ap.add_argument("--docs", action="store_true")
    ap.add_argument("--timing-only", action="store_true",
                    help="only time again the libraries an earlier run left in --work (the rest from the JSON)")
    return ap.parse_args()


ARGS = parse_args()


def macs_per_token(config, context):
    """(all MACs, MACs of the linears that read the FFN activation) per
    token of a GPT2/OPT model; attention over the average causal length."""
    d, layers = config["d"], config["layers"]
    ff = 4 * d
    attention = 2 * d * (context + 1) / 2
    block = 4 * d * d + 2 * d * ff + attention
    return layers * block + 256 * d, layers * ff * d


def model_rows(name, text):
    model_dir, onnx_path, context = reference_model(name)
    summary = json.load(open(os.path.join(model_dir, "train.json")))["summary"]
    _, parent_onnx, _ = reference_model(os.path.basename(summary["parent"]))
    work = ARGS.work
    data = token_inputs(os.path.join(work, "tokens128"), context)
    calib = os.path.join(work, "calibration.txt")
    with open(calib, "wb") as f:
        f.write(corpora.split("kjv-train")[:ARGS.calibration_tokens])
    rows, reports = {}, {}

    def variant(label, onnx, *flags):
        so = os.path.join(work, f"{name}-{label.replace(' ', '-')}.so")
        compile_so(onnx, so, f"--report={so}.json", *flags)
        reports[label] = json.load(open(so + ".json")).get("compression", [])
        row = {"bits_per_byte": bits(so, text, context)}
        print(name, label, json.dumps(row), file=sys.stderr, flush=True)
        rows[label] = row

    variant("fp32", parent_onnx)
    variant("qcfs", onnx_path)
    for t in STEPS:
        variant(f"T={t}", onnx_path, f"--compress=spike:T={t}")
        variant(f"T={t} calibrated", onnx_path,
                f"--compress=spike:T={t},calibration={calib},calibration-tokens={ARGS.calibration_tokens}")
    time_variants(name, rows)
    layers = [e for e in reports["T=8 calibrated"] if e["pass"] == "spike"]
    stages = [e for e in reports["T=8 calibrated"] if e["pass"] == "spike-calibration"]
    total, fed = macs_per_token(summary["config"], context)
    snn_layers = sum(e["energy_pj_per_row_snn"] for e in layers)
    energy = {"rates_T8": [e["firing_rate"] for e in layers], "scales_T8": [e["threshold_scale"] for e in layers],
              "kl_T8": stages[0] if stages else {},
              "spiking_layers_ann_uJ": fed * MAC_PJ / 1e6, "spiking_layers_snn_uJ": snn_layers / 1e6,
              "model_ann_uJ": total * MAC_PJ / 1e6,
              "model_snn_uJ": (8 * (total - fed) * MAC_PJ + snn_layers) / 1e6}
    return {"rows": rows, "energy_per_token": energy, "levels": summary["levels"]}


TIMED = ("qcfs", "T=4 calibrated", "T=8 calibrated", "T=16 calibrated")


def time_variants(name, rows, rounds=3):
    """ms per 128-byte window of the ANN and the calibrated SNNs, timed in
    turn for `rounds` rounds (the best of each), so that a busy moment of
    the machine hits every variant alike."""
    _, _, context = reference_model(name)
    data = token_inputs(os.path.join(ARGS.work, "tokens128"), context)
    for _ in range(rounds):
        for label in TIMED:
            so = os.path.join(ARGS.work, f"{name}-{label.replace(' ', '-')}.so")
            ms = bench_ms(so, data, ARGS.iters, ARGS.threads)
            rows[label]["ms_128"] = min(ms, rows[label].get("ms_128", ms))


def table(results):
    lines = [f"Measured by `make spike-table` (every variant compiled by Sinter; bits per byte on the first "
             f"{ARGS.bytes or 'all'} bytes of kjv-heldout; ms per 128-byte window on {ARGS.threads} threads, the ANN and "
             "the calibrated SNNs timed in turn, best of 3 rounds; "
             "bench/results/spike.json).", "",
             "| model | variant | bits/byte | vs fp32 | vs QCFS | ms / 128 bytes |", "|---|---|---|---|---|---|"]
    for model, r in results.items():
        base, qcfs = r["rows"]["fp32"]["bits_per_byte"], r["rows"]["qcfs"]["bits_per_byte"]
        for label, row in r["rows"].items():
            bpb = row["bits_per_byte"]
            vs_fp = "" if label == "fp32" else f"{100 * (bpb / base - 1):+.2f}%"
            vs_q = "" if label in ("fp32", "qcfs") else f"{100 * (bpb / qcfs - 1):+.2f}%"
            ms = f"{row['ms_128']:.2f}" if "ms_128" in row else ""
            name = {"fp32": "fp32 parent", "qcfs": f"QCFS ANN (L = {r['levels']})"}.get(label, f"SNN {label}")
            if label.endswith("calibrated"):
                name = f"SNN {label}"
            lines.append(f"| {model} | {name} | {bpb:.4f} | {vs_fp} | {vs_q} | {ms} |")
    lines += ["", "Calibrated T = 8, per layer (compile report; rates on the calibration text) and energy per token:", "",
              "| model | threshold scale per layer | firing rate per layer | spiking layers: SNN / ANN energy | "
              "whole model: SNN / ANN energy |", "|---|---|---|---|---|"]
    for model, r in results.items():
        e = r["energy_per_token"]
        rates = ", ".join(f"{100 * x:.1f}%" for x in e["rates_T8"])
        scales = ", ".join(f"{x:.1f}" for x in e["scales_T8"])
        lines.append(f"| {model} | {scales} | {rates} | "
                     f"{e['spiking_layers_snn_uJ']:.3f} / {e['spiking_layers_ann_uJ']:.3f} µJ "
                     f"({100 * e['spiking_layers_snn_uJ'] / e['spiking_layers_ann_uJ']:.1f}%) | "
                     f"{e['model_snn_uJ']:.2f} / {e['model_ann_uJ']:.2f} µJ "
                     f"({e['model_snn_uJ'] / e['model_ann_uJ']:.2f}×) |")
    return "\n".join(lines)


def main():
    os.makedirs(ARGS.work, exist_ok=True)
    text = corpora.split("kjv-heldout")
    if ARGS.bytes:
        text = text[:ARGS.bytes]
    path = os.path.join(ARGS.out, "spike.json")
    results = json.load(open(path)) if os.path.exists(path) else {}
    for m in ARGS.models.split(","):
        if ARGS.timing_only:
            for row in results[m]["rows"].values():
                row.pop("ms_128", None)
            time_variants(m, results[m]["rows"])
        else:
            results[m] = model_rows(m, text)
    write_results(path, results, table(results), "spike-table" if ARGS.docs else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
