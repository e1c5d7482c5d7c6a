"""FFN linearization (sinter-linearize-ffn) against Sinter's dense fp32, at
the perf shapes of docs/performance.md (d 768, FFN 3072).

Two models, each compiled dense and linearized from one calibration on KJV
text: an FFN alone (embedding → Linear → GELU → Linear) and the 4-layer
GPT-2-small-shaped stack of bench_dense.py. Each pair is timed with
sinter-run --bench in alternating rounds (median of the rounds' medians)
at decode (seq 1) and prefill (seq 128). Writes
bench/results/linearize_cpu.json. Random weights: the speed does not depend
on them, and the predicted-outlier rate is set by the coverage."""
import argparse
import json
import os
import statistics
import sys

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
from sinter import corpora, testmodels  # noqa: E402
from sinter.docs import replace_section  # noqa: E402
from sinter.measure import add_bench_args, bench_ms, compile_so, token_inputs  # noqa: E402

D, FF = 768, 3072


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spec", default="linearize-ffn:coverage=0.9,exact=0.1,predictor-bits=2")
    return add_bench_args(ap, "compression.md").parse_args()


ARGS = parse_args()


def inputs(seq, name):
    return token_inputs(os.path.join(ARGS.work, f"lin_{name}_seq{seq}"), seq)


def compare(name, model):
    onnx_path = os.path.join(ARGS.work, f"lin_{name}.onnx")
    testmodels.export(model, onnx_path, ctx=128)
    calib = os.path.join(ARGS.work, "lin_calibration.txt")
    with open(calib, "wb") as f:
        f.write(corpora.split("kjv-train")[:16384])
    dense, lin = (os.path.join(ARGS.work, f"lin_{name}_{k}.so") for k in ("dense", "linearized"))
    report = os.path.join(ARGS.work, f"lin_{name}_report.json")
    compile_so(onnx_path, dense)
    compile_so(onnx_path, lin, f"--calibration={calib}", "--calibration-tokens=4096",
                   f"--compress={ARGS.spec}", f"--report={report}")
    with open(report) as f:
        layers = json.load(f)["compression"]
    before = sum(layer["bytes_before"] for layer in layers)
    after = sum(layer["bytes_after"] for layer in layers)
    result = {"ffn_bytes_before": before, "ffn_bytes_after": after, "ffn_bytes_cut": 1 - after / before}
    for phase, seq in (("decode", 1), ("prefill", 128)):
        data = inputs(seq, name)
        times = {"dense": [], "linearized": []}
        for _ in range(ARGS.rounds):
            for key, so in (("dense", dense), ("linearized", lin)):
                times[key].append(bench_ms(so, data, ARGS.iters, ARGS.threads))
        d_ms, l_ms = statistics.median(times["dense"]), statistics.median(times["linearized"])
        result[phase] = {"seq": seq, "dense_ms": d_ms, "linearized_ms": l_ms, "speedup": d_ms / l_ms}
    return result


def main():
    os.makedirs(ARGS.work, exist_ok=True)
    os.makedirs(ARGS.out, exist_ok=True)
    torch.manual_seed(0)
    result = {"spec": ARGS.spec, "threads": ARGS.threads, "rounds": ARGS.rounds, "iters": ARGS.iters,
              "ffn": compare("ffn", testmodels.FFNOnly(D, FF).eval()),
              "gpt2_small_4l": compare("gpt2", testmodels.build("gpt2", seed=0, d=D, heads=12, layers=4, ctx=128))}
    with open(os.path.join(ARGS.out, "linearize_cpu.json"), "w") as f:
        json.dump(result, f, indent=1)
    lines = [f"{ARGS.spec}, {ARGS.threads} threads, median of {ARGS.rounds} alternating rounds of "
             f"sinter-run --bench {ARGS.iters}",
             f"{'':22}{'dense ms':>10}{'linear ms':>11}{'speedup':>9}   FFN bytes cut"]
    for model in ("ffn", "gpt2_small_4l"):
        r = result[model]
        for phase in ("decode", "prefill"):
            p = r[phase]
            lines.append(f"{model + ' ' + phase:22}{p['dense_ms']:10.3f}{p['linearized_ms']:11.3f}"
                         f"{p['speedup']:9.2f}   {r['ffn_bytes_cut']:.1%}")
    text = "\n".join(lines)
    print(text)
    if ARGS.docs:
        replace_section("compression.md", "linearize-bench", "```\n" + text + "\n```")


if __name__ == "__main__":
    main()
