"""GSE-INT speed and size (`make bench-gse`, docs/compression.md):

- GEMV (one row): one fp32 MatMul compiled by Sinter as it is and with
  --compress=gse (w8a8, and w4a8), timed by sinter-run --bench in
  alternating rounds (median of the rounds' medians): 4096×4096 and the
  perf stack's 768→3072;
- decode and prefill of the d=768 perf stack of bench_dense.py (GPT-2-small
  shaped, 4 layers, random weights) with every linear w8a8, against
  onnxruntime fp32 and Sinter fp32 of the same model, each alternated with
  onnxruntime in blocks over the C ABI;
- sizes: linear weight bytes from the compile report and the objects.

Writes bench/results/gse_cpu.json; --docs puts the table into
docs/compression.md."""
import argparse
import json
import os
import statistics
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
import sinter  # noqa: E402
from sinter import measure, testmodels  # noqa: E402
from sinter.docs import write_results  # noqa: E402

CONFIG = {"d": 768, "heads": 12, "layers": 4, "ctx": 128}
FORMATS = {"w8a8": "gse", "w4a8": "gse:w=4"}


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=15, help="timed runs per model in the model comparison")
    return measure.add_bench_args(ap, "compression.md").parse_args()


ARGS = parse_args()


def bench_gemv(k, n):
    rng = np.random.default_rng(k + n)
    dense = os.path.join(ARGS.work, f"gse_gemv_{k}x{n}.onnx")
    w = (rng.standard_normal((k, n)) * 0.02).astype(np.float32)
    measure.save_one_node(dense, helper.make_node("MatMul", ["x", "w"], ["y"], name="matmul"),
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, k])],
                          [numpy_helper.from_array(w, "w")])
    data = os.path.join(ARGS.work, f"gse_gemv_{k}_in")
    os.makedirs(data, exist_ok=True)
    with open(os.path.join(data, "input_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(rng.standard_normal((1, k)).astype(np.float32), "x").SerializeToString())
    sos = {"fp32": dense[:-5] + ".so"}
    measure.compile_so(dense, sos["fp32"])
    for name, flag in FORMATS.items():
        sos[name] = dense[:-5] + f"_{name}.so"
        measure.compile_so(dense, sos[name], f"--compress={flag}")
    times = {name: [] for name in sos}
    for _ in range(ARGS.rounds):
        for name in times:
            times[name].append(measure.bench_ms(sos[name], data, ARGS.iters, ARGS.threads))
    ms = {name: statistics.median(t) for name, t in times.items()}
    row = {"k": k, "n": n, "fp32_ms": ms["fp32"]}
    for name in FORMATS:
        row[f"{name}_ms"] = ms[name]
        row[f"{name}_speedup"] = ms["fp32"] / ms[name]
    return row


def bench_stack():
    onnx_path = os.path.join(ARGS.work, "gse_stack_fp32.onnx")
    testmodels.export(testmodels.build("gpt2", seed=0, **CONFIG), onnx_path, ctx=CONFIG["ctx"])
    dense_so, gse_so = onnx_path[:-5] + ".so", onnx_path[:-5] + "_w8a8.so"
    report = gse_so + ".report.json"
    measure.compile_so(onnx_path, dense_so)
    measure.compile_so(onnx_path, gse_so, "--compress=gse", f"--report={report}")
    entries = [e for e in json.load(open(report))["compression"] if e["pass"] == "gse"]
    before, after = sum(e["weight_bytes_before"] for e in entries), sum(e["weight_bytes_after"] for e in entries)
    result = {"config": CONFIG, "linear_bytes_fp32": before, "linear_bytes_w8a8": after,
              "bits_per_weight": 32 * after / before, "object_bytes_fp32": os.path.getsize(dense_so),
              "object_bytes_w8a8": os.path.getsize(gse_so)}
    models = {"w8a8": sinter.load(gse_so, threads=ARGS.threads),
              "sinter_fp32": sinter.load(dense_so, threads=ARGS.threads)}
    result.update(measure.versus_ort(onnx_path, models, ARGS.threads, ARGS.work, ARGS.runs))
    for phase in ("decode", "prefill"):
        result[phase]["w8a8_vs_sinter_fp32"] = result[phase]["sinter_fp32_ms"] / result[phase]["w8a8_ms"]
    return result


def table(r):
    lines = [f"Measured by `make bench-gse` ({r['threads']} threads; bench/results/gse_cpu.json).", "",
             "| GEMV (one row) | fp32 ms | w8a8 ms (speed-up) | w4a8 ms (speed-up) |", "|---|---|---|---|"]
    for g in r["gemv"]:
        lines.append(f"| {g['k']}→{g['n']} | {g['fp32_ms']:.3f} | {g['w8a8_ms']:.3f} (**{g['w8a8_speedup']:.1f}×**) | "
                     f"{g['w4a8_ms']:.3f} (**{g['w4a8_speedup']:.1f}×**) |")
    s = r["stack"]
    lines += ["", "| d=768 stack, every linear w8a8 | onnxruntime fp32 ms | Sinter fp32 ms | w8a8 ms | "
              "w8a8 vs Sinter fp32 | w8a8 vs onnxruntime |", "|---|---|---|---|---|---|"]
    for name in ("decode", "prefill"):
        m = s[name]
        lines.append(f"| {name} (seq {m['seq']}) | {m['ort_fp32_ms']:.2f} | {m['sinter_fp32_ms']:.2f} | "
                     f"{m['w8a8_ms']:.2f} | **{m['w8a8_vs_sinter_fp32']:.2f}×** | {m['w8a8_vs_ort']:.2f}× |")
    lines += ["", f"Linear weights: {s['linear_bytes_fp32'] / 2**20:.1f} MiB fp32 → {s['linear_bytes_w8a8'] / 2**20:.1f} "
              f"MiB w8 ({s['bits_per_weight']:.2f} bits per weight, exponents counted). Objects: "
              f"{s['object_bytes_fp32'] / 2**20:.1f} MiB → {s['object_bytes_w8a8'] / 2**20:.1f} MiB."]
    return "\n".join(lines)


def main():
    os.makedirs(ARGS.work, exist_ok=True)
    os.makedirs(ARGS.out, exist_ok=True)
    result = {"threads": ARGS.threads, "rounds": ARGS.rounds, "iters": ARGS.iters,
              "gemv": [bench_gemv(4096, 4096), bench_gemv(768, 3072)], "stack": bench_stack()}
    write_results(os.path.join(ARGS.out, "gse_cpu.json"), result, table(result), "gse-bench" if ARGS.docs else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
