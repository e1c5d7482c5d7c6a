"""FFN activation sparsity (sinter-sparsify-ffn) against Sinter's dense fp32
at the perf shapes of docs/performance.md (d 768).

Three models, random weights, each compiled dense and sparsified at one
sparsity (default 0.8) from one calibration on KJV text: an FFN alone
(embedding → Linear 3072 → GELU → Linear), a gated FFN alone (SwiGLU, 2048
neurons) and the 4-layer GPT-2-small-shaped stack of bench_dense.py. Modes:
static (pruned weights), dynamic threshold (|h| against the calibration
quantile) and dynamic predictor (a rank-32 predictor, as in the accuracy
table; its weights are random here, since the speed depends only on its
rank and the number of neurons kept). Each is timed with sinter-run --bench in alternating rounds
(median of the rounds' medians) at decode (seq 1) and prefill (seq 128),
and the ratio to dense is reported next to the ceiling 1/(1 − sparsity).
Writes bench/results/sparsity_cpu.json."""
import argparse
import json
import os
import statistics
import sys

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
from sinter import corpora, testmodels  # noqa: E402
from sinter.docs import replace_section  # noqa: E402
from sinter.measure import add_bench_args, bench_ms, compile_so, token_inputs  # noqa: E402

D = 768
RANK = 32  # as the accuracy table's predictors


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sparsity", type=float, default=0.8)
    return add_bench_args(ap, "compression.md").parse_args()


ARGS = parse_args()
VARIANTS = {"static": "mode=static,score=magnitude", "threshold": "mode=dynamic,score=magnitude",
            "predictor": "mode=dynamic,score=attribution"}


def with_random_predictors(profile_path, out_path):
    """The profile with a random rank-RANK predictor in every layer."""
    profile = json.load(open(profile_path))
    rng = np.random.default_rng(0)
    for layer in profile["layers"]:
        d, h = layer["input_width"], layer["neurons"]
        layer["predictor"] = {"rank": RANK, "input_width": d, "in": rng.normal(size=d * RANK).tolist(),
                              "out": rng.normal(size=RANK * h).tolist(), "bias": [0.0] * h}
    json.dump(profile, open(out_path, "w"))


def compare(name, model):
    onnx_path = os.path.join(ARGS.work, f"sp_{name}.onnx")
    testmodels.export(model, onnx_path, ctx=128)
    calib = os.path.join(ARGS.work, "sp_calibration.txt")
    with open(calib, "wb") as f:
        f.write(corpora.split("kjv-train")[:16384])
    so = {k: os.path.join(ARGS.work, f"sp_{name}_{k}.so") for k in ["dense", *VARIANTS]}
    profile, predicted = (os.path.join(ARGS.work, f"sp_{name}_{k}.json") for k in ("profile", "predicted"))
    compile_so(onnx_path, so["dense"], f"--calibration={calib}", "--calibration-tokens=4096",
               f"--save-profile={profile}")
    with_random_predictors(profile, predicted)
    result = {}
    for key, spec in VARIANTS.items():
        report = os.path.join(ARGS.work, f"sp_{name}_{key}_report.json")
        compile_so(onnx_path, so[key], f"--profile={predicted}", f"--report={report}",
                   f"--compress=sparsify-ffn:sparsity={ARGS.sparsity},{spec}")
        layers = json.load(open(report))["compression"]
        result[key] = {"dense_rows": layers[0].get("dense_rows"),
                       "decode_bytes_read": sum(x.get("decode_weight_bytes_per_token", x["bytes_after"]) for x in layers)
                       / sum(x.get("dense_weight_bytes_per_token", x["bytes_before"]) for x in layers)}
    for phase, seq in (("decode", 1), ("prefill", 128)):
        data = token_inputs(os.path.join(ARGS.work, f"sp_seq{seq}"), seq)
        times = {k: [] for k in so}
        for _ in range(ARGS.rounds):
            for key, path in so.items():
                times[key].append(bench_ms(path, data, ARGS.iters, ARGS.threads))
        dense_ms = statistics.median(times["dense"])
        result[phase] = {"seq": seq, "dense_ms": dense_ms}
        for key in VARIANTS:
            ms = statistics.median(times[key])
            result[phase][key] = {"ms": ms, "speedup": dense_ms / ms}
    return result


def main():
    os.makedirs(ARGS.work, exist_ok=True)
    os.makedirs(ARGS.out, exist_ok=True)
    torch.manual_seed(0)
    models = {"ffn_gelu": testmodels.FFNOnly(D, 3072).eval(),
              "ffn_swiglu": testmodels.FFNOnly(D, 2048, gated=True).eval(),
              "gpt2_small_4l": testmodels.build("gpt2", seed=0, d=D, heads=12, layers=4, ctx=128)}
    result = {"sparsity": ARGS.sparsity, "threads": ARGS.threads, "rounds": ARGS.rounds, "iters": ARGS.iters,
              "ceiling": 1 / (1 - ARGS.sparsity)}
    for name, model in models.items():
        result[name] = compare(name, model)
    with open(os.path.join(ARGS.out, "sparsity_cpu.json"), "w") as f:
        json.dump(result, f, indent=1)
    lines = [f"sparsity {ARGS.sparsity:g} (ceiling {result['ceiling']:.1f}x), {ARGS.threads} threads, median of "
             f"{ARGS.rounds} alternating rounds of sinter-run --bench {ARGS.iters}; speedup over dense fp32",
             f"{'':24}{'dense ms':>9}" + "".join(f"{k:>11}" for k in VARIANTS)]
    for name in models:
        for phase in ("decode", "prefill"):
            p = result[name][phase]
            lines.append(f"{name + ' ' + phase:24}{p['dense_ms']:9.3f}" +
                         "".join(f"{p[k]['speedup']:10.2f}x" for k in VARIANTS))
    lines.append(f"{'weights read per token':24}{'':9}" + "".join(
        f"{result['ffn_gelu'][k]['decode_bytes_read']:11.0%}" for k in VARIANTS) + "   (ffn_gelu, decode)")
    text = "\n".join(lines)
    print(text)
    if ARGS.docs:
        replace_section("compression.md", "sparsity-bench", "```\n" + text + "\n```")


if __name__ == "__main__":
    main()
