"""BinaryMoS speed and size (`make bench-binary-mos`, docs/compression.md):

- 1-bit GEMV: one sinter.bnn::MoSLinear node (E = 4, random signs, scales
  and router) against one fp32 MatMul of the same shape, both compiled by
  Sinter and timed by sinter-run --bench in alternating rounds (median of
  the rounds' medians), one row of x: 4096×4096 and 4096→11008;
- decode and prefill of the d=768 perf stack of bench_dense.py (GPT-2-small
  shaped, 4 layers, random weights) with every block linear binarized
  (--compress=binary-mos:experts=4; speed does not depend on training),
  with fp32 and with int8 activations, against onnxruntime fp32 of the same
  model and against Sinter fp32, each alternated with onnxruntime in blocks
  over the C ABI;
- sizes: linear weight bytes from the compile report (bits, and the scales
  and router in float16, counted) and the compiled objects.

Writes bench/results/binary_mos_cpu.json; --docs puts the table into
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
from sinter import binary_mos, measure, testmodels  # noqa: E402
from sinter.docs import write_results  # noqa: E402

CONFIG = {"d": 768, "heads": 12, "layers": 4, "ctx": 128}
EXPERTS = 4


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=15, help="timed runs per model in the model comparison")
    return measure.add_bench_args(ap, "compression.md").parse_args()


ARGS = parse_args()


def gemv_models(k, n):
    """(fp32 .onnx, 1-bit .onnx, input folder) of one k→n layer."""
    rng = np.random.default_rng(k + n)
    w = (rng.standard_normal((k, n)) * 0.02).astype(np.float32)
    x = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, k])]
    dense = os.path.join(ARGS.work, f"gemv_{k}x{n}_fp32.onnx")
    measure.save_one_node(dense, helper.make_node("MatMul", ["x", "w"], ["y"], name="matmul"), x,
                          [numpy_helper.from_array(w, "w")])
    s_in, s_out = binary_mos.rank1_scales(w)
    scales = (0.5 + rng.random((EXPERTS, 1))).astype(np.float32)
    # Scale tables and router in float16, as --compress=binary-mos stores them.
    half = np.float16
    inits = [numpy_helper.from_array(binary_mos.pack_signs(w), "bits"),
             numpy_helper.from_array((scales * s_in).astype(half), "scale_in"),
             numpy_helper.from_array((scales * s_out).astype(half), "scale_out"),
             numpy_helper.from_array((rng.standard_normal((k, EXPERTS)) / np.sqrt(k)).astype(half), "router")]
    mos = os.path.join(ARGS.work, f"gemv_{k}x{n}_mos.onnx")
    node = helper.make_node("MoSLinear", ["x", "bits", "scale_in", "scale_out", "router"], ["y"], name="mos",
                            domain=binary_mos.DOMAIN, in_features=k)
    measure.save_one_node(mos, node, x, inits)
    data = os.path.join(ARGS.work, f"gemv_{k}_in")
    os.makedirs(data, exist_ok=True)
    with open(os.path.join(data, "input_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(rng.standard_normal((1, k)).astype(np.float32), "x").SerializeToString())
    return dense, mos, data


def bench_gemv(k, n):
    dense, mos, data = gemv_models(k, n)
    builds = {"fp32": (dense, ()), "1bit": (mos, ()), "1bit_int8": (mos, ("--compress=binary-mos:activations=int8",))}
    sos, times = {}, {name: [] for name in builds}
    for name, (path, flags) in builds.items():
        sos[name] = os.path.join(ARGS.work, f"gemv_{k}x{n}_{name}.so")
        measure.compile_so(path, sos[name], *flags)
    for _ in range(ARGS.rounds):
        for name in times:
            times[name].append(bench_ms(sos[name], data))
    ms = {name: statistics.median(t) for name, t in times.items()}
    return {"k": k, "n": n, "experts": EXPERTS, "fp32_ms": ms["fp32"], "binary_ms": ms["1bit"],
            "binary_int8_ms": ms["1bit_int8"], "speedup": ms["fp32"] / ms["1bit"],
            "speedup_int8": ms["fp32"] / ms["1bit_int8"],
            "fp32_weight_bytes": 4 * k * n, "binary_weight_bytes": n * ((k + 7) // 8) + 2 * EXPERTS * (2 * k + n)}


def bench_ms(so, data):
    return measure.bench_ms(so, data, ARGS.iters, ARGS.threads)


def linear_bytes(report_path):
    entries = [e for e in json.load(open(report_path))["compression"] if e["pass"] == "binary-mos"]
    return sum(e["weight_bytes_before"] for e in entries), sum(e["weight_bytes_after"] for e in entries)


def bench_stack():
    onnx_path = os.path.join(ARGS.work, "mos_stack_fp32.onnx")
    testmodels.export(testmodels.build("gpt2", seed=0, **CONFIG), onnx_path, ctx=CONFIG["ctx"])
    dense_so = onnx_path[:-5] + ".so"
    measure.compile_so(onnx_path, dense_so)
    variants = {}
    for act in ("fp32", "int8"):
        so = os.path.join(ARGS.work, f"mos_stack_binary_{act}.so")
        report = so + ".report.json"
        measure.compile_so(onnx_path, so, f"--compress=binary-mos:experts={EXPERTS},activations={act}",
                           f"--report={report}")
        variants[act] = sinter.load(so, threads=ARGS.threads)
    before, after = linear_bytes(report)
    dense = sinter.load(dense_so, threads=ARGS.threads)
    result = {"config": CONFIG, "experts": EXPERTS, "linear_bytes_fp32": before, "linear_bytes_binary": after,
              "linear_size_ratio": before / after, "object_bytes_fp32": os.path.getsize(dense_so),
              "object_bytes_binary": os.path.getsize(so)}
    models = {"binary": variants["fp32"], "binary_int8": variants["int8"], "sinter_fp32": dense}
    result.update(measure.versus_ort(onnx_path, models, ARGS.threads, ARGS.work, ARGS.runs))
    return result


def table(r):
    lines = [f"Measured by `make bench-binary-mos` ({r['threads']} threads; "
             "bench/results/binary_mos_cpu.json).", "",
             "| 1-bit GEMV (one row) | fp32 ms | 1-bit ms (speed-up) | 1-bit, int8 activations ms (speed-up) | "
             "weight bytes fp32 → 1-bit |",
             "|---|---|---|---|---|"]
    for g in r["gemv"]:
        lines.append(f"| {g['k']}→{g['n']}, E = {g['experts']} | {g['fp32_ms']:.3f} | {g['binary_ms']:.3f} "
                     f"(**{g['speedup']:.1f}×**) | {g['binary_int8_ms']:.3f} (**{g['speedup_int8']:.1f}×**) | "
                     f"{g['fp32_weight_bytes'] / 2**20:.1f} MiB → "
                     f"{g['binary_weight_bytes'] / 2**20:.2f} MiB ({g['fp32_weight_bytes'] / g['binary_weight_bytes']:.1f}×) |")
    s = r["stack"]
    lines += ["", "| d=768 stack, all block linears binary (E = 4) | onnxruntime fp32 ms | Sinter fp32 ms | "
              "binary ms (vs onnxruntime) | binary, int8 activations ms (vs onnxruntime) |", "|---|---|---|---|---|"]
    for name in ("decode", "prefill"):
        m = s[name]
        lines.append(f"| {name} (seq {m['seq']}) | {m['ort_fp32_ms']:.2f} | {m['sinter_fp32_ms']:.2f} | "
                     f"{m['binary_ms']:.2f} (**{m['binary_vs_ort']:.2f}×**) | "
                     f"{m['binary_int8_ms']:.2f} (**{m['binary_int8_vs_ort']:.2f}×**) |")
    lines += ["", f"Block linear weights: {s['linear_bytes_fp32'] / 2**20:.1f} MiB fp32 → "
              f"{s['linear_bytes_binary'] / 2**20:.2f} MiB binary ({s['linear_size_ratio']:.1f}×; bits, scales "
              f"and routers counted). Objects: {s['object_bytes_fp32'] / 2**20:.1f} MiB → "
              f"{s['object_bytes_binary'] / 2**20:.1f} MiB (the fp32 embeddings and LM head stay)."]
    return "\n".join(lines)


def main():
    os.makedirs(ARGS.work, exist_ok=True)
    os.makedirs(ARGS.out, exist_ok=True)
    result = {"threads": ARGS.threads, "rounds": ARGS.rounds, "iters": ARGS.iters,
              "gemv": [bench_gemv(4096, 4096), bench_gemv(4096, 11008)], "stack": bench_stack()}
    write_results(os.path.join(ARGS.out, "binary_mos_cpu.json"), result, table(result),
                  "binary-mos-bench" if ARGS.docs else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
