#!/usr/bin/env python3
"""Dense fp32 CPU benchmark (`make bench`): Sinter against onnxruntime on a
GPT-2-small-shaped stack, and against the machine's limits, in one run.

    PYTHONPATH=python /usr/bin/python3 bench/bench_dense.py [--threads T] [--runs 15]

- model: d 768, 12 heads, FFN 3072, 4 layers, vocabulary 256, context 128,
  random weights (sinter.testmodels.GPT2, seed 0), batch 1;
- prefill (seq 128) and decode-like (seq 1) forwards: Sinter (ctypes over
  the C ABI) and onnxruntime-node (a timing server) run in alternating
  blocks (3 untimed runs, then 5 timed) after warm-up; medians and
  ratio = onnxruntime / Sinter (> 1: Sinter faster);
- GEMM: each of the model's matmul shapes at M = 128 as a one-node model,
  GFLOP/s against OpenBLAS sgemm through numpy at the same thread count;
- decode weight streaming: weight bytes / Sinter's decode time, against a
  plain multi-threaded read of as many bytes (bench/read_bandwidth.c);
- compile time and peak compiler memory (max RSS) against the weights' size.

Writes bench/results/dense_cpu.json and dense_cpu.png; prints a table."""
import argparse
import json
import os
import platform
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_args():
    ap = argparse.ArgumentParser(prog="bench_dense.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                    help="threads for Sinter, onnxruntime and OpenBLAS (default: all cores)")
    ap.add_argument("--runs", type=int, default=15, help="timed runs of each (default 15, at least 10)")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"))
    ap.add_argument("--work", default=os.path.join(ROOT, "build", "bench"))
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    args = ap.parse_args()
    if args.runs < 10 or args.threads < 1:
        ap.error("--runs must be >= 10 and --threads >= 1")
    return args


ARGS = parse_args()
# OpenBLAS reads its thread count when numpy loads it.
os.environ["OPENBLAS_NUM_THREADS"] = str(ARGS.threads)
import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "python"))
import sinter  # noqa: E402
from sinter import measure, ort, testmodels  # noqa: E402

CONFIG = {"d": 768, "heads": 12, "layers": 4, "ctx": 128}


def compile_model(onnx_path, so_path):
    """Runs sinter-compile; returns (seconds, peak RSS bytes). The peak is
    the compiler's own VmHWM from its report: a child's rusage would count
    this Python process's memory, copied at fork."""
    report = so_path + ".report.json"
    t0 = time.perf_counter()
    r = subprocess.run([os.path.join(ARGS.bin, "sinter-compile"), onnx_path, "-o", so_path, f"--report={report}"],
                       capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit("sinter-compile failed: " + r.stderr)
    with open(report) as f:
        return seconds, json.load(f)["peak_rss_bytes"]


def time_sinter(model, feeds):
    t0 = time.perf_counter()
    model(**feeds)
    return (time.perf_counter() - t0) * 1e3


def alternate_blocks(first, second):
    return measure.alternate_blocks(first, second, ARGS.runs)


def alternate(model, onnx_path, feeds):
    """Median ms of Sinter and onnxruntime on the same inputs."""
    server = measure.OrtServer(onnx_path, feeds, ARGS.threads, ARGS.work)
    for _ in range(ARGS.warmup):
        time_sinter(model, feeds)
        server.run()
    s, o = alternate_blocks(lambda: time_sinter(model, feeds), server.run)
    server.close()
    return s, o


def matmul_model(path, m, k, n, seed):
    rng = np.random.default_rng(seed)
    w = numpy_helper.from_array(rng.standard_normal((k, n)).astype(np.float32) * 0.02, "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "w"], ["c"], name="matmul")], f"matmul_{m}x{k}x{n}",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [m, k])],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, [m, n])], [w])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return numpy_helper.to_array(w)


def bench_gemm(m, k, n, seed):
    path = os.path.join(ARGS.work, f"matmul_{m}x{k}x{n}.onnx")
    w = matmul_model(path, m, k, n, seed)
    so = path[:-5] + ".so"
    compile_model(path, so)
    model = sinter.load(so, threads=ARGS.threads)
    a = np.random.default_rng(seed + 1).standard_normal((m, k)).astype(np.float32)
    out = np.empty((m, n), np.float32)
    err = np.abs(model(a) - a @ w).max()
    flop = 2.0 * m * k * n
    for _ in range(ARGS.warmup):
        model(a)
        np.matmul(a, w, out=out)

    def time_blas():
        t0 = time.perf_counter()
        np.matmul(a, w, out=out)
        return (time.perf_counter() - t0) * 1e3
    s, b = alternate_blocks(lambda: time_sinter(model, {"a": a}), time_blas)
    return {"shape": [m, k, n], "sinter_gflops": flop / s / 1e6, "openblas_gflops": flop / b / 1e6,
            "fraction": b / s, "max_abs_err": float(err)}


def read_bandwidth(nbytes):
    exe = os.path.join(ARGS.work, "read_bandwidth")
    src = os.path.join(ROOT, "bench", "read_bandwidth.c")
    subprocess.run(["clang-22", "-O3", "-march=native", "-pthread", src, "-o", exe], check=True)
    out = subprocess.run([exe, str(nbytes), str(ARGS.threads), str(ARGS.runs)], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def chart(result, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib missing: no chart)")
        return
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    names = ["prefill seq 128", "decode seq 1"]
    s = [result["prefill"]["sinter_ms"], result["decode"]["sinter_ms"]]
    o = [result["prefill"]["ort_ms"], result["decode"]["ort_ms"]]
    x = np.arange(2)
    ax1.bar(x - 0.2, s, 0.4, label="Sinter")
    ax1.bar(x + 0.2, o, 0.4, label="onnxruntime 1.30")
    ax1.set_xticks(x, names)
    ax1.set_ylabel("median ms (lower is better)")
    ax1.set_title(f"GPT-2-small-shaped, 4 layers, {ARGS.threads} threads")
    ax1.legend()
    g = result["gemm"]
    x = np.arange(len(g))
    ax2.bar(x - 0.2, [r["sinter_gflops"] for r in g], 0.4, label="Sinter")
    ax2.bar(x + 0.2, [r["openblas_gflops"] for r in g], 0.4, label="OpenBLAS sgemm")
    ax2.set_xticks(x, ["{}x{}x{}".format(*r["shape"]) for r in g])
    ax2.set_ylabel("GFLOP/s (M x K x N)")
    ax2.set_title("matmul throughput")
    ax2.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main():
    os.makedirs(ARGS.work, exist_ok=True)
    os.makedirs(ARGS.out, exist_ok=True)
    onnx_path = os.path.join(ARGS.work, "gpt2-small-4l.onnx")
    testmodels.export(testmodels.build("gpt2", seed=0, **CONFIG), onnx_path, ctx=CONFIG["ctx"])
    weights = sum(numpy_helper.to_array(t).nbytes for t in onnx.load(onnx_path).graph.initializer)
    so = os.path.join(ARGS.work, "gpt2-small-4l.so")
    compile_s, compile_rss = compile_model(onnx_path, so)
    model = sinter.load(so, threads=ARGS.threads)
    result = {"machine": platform.processor() or platform.machine(), "threads": model.threads,
              "runs": ARGS.runs, "config": CONFIG, "weight_bytes": weights,
              "compile_seconds": compile_s, "compile_peak_rss_bytes": compile_rss,
              "compile_rss_over_weights": compile_rss / weights}
    rng = np.random.default_rng(0)
    for name, seq in [("prefill", 128), ("decode", 1)]:
        feeds = {"input_ids": rng.integers(0, 256, (1, seq), dtype=np.int64)}
        got = model(**feeds)
        ref, _ = ort.run(onnx_path, feeds)
        s, o = alternate(model, onnx_path, feeds)
        result[name] = {"seq": seq, "sinter_ms": s, "ort_ms": o, "ratio": o / s,
                        "max_abs_diff_vs_ort": float(np.abs(got - ref["logits"]).max())}
    d, ff = CONFIG["d"], 4 * CONFIG["d"]
    result["gemm"] = [bench_gemm(128, k, n, i) for i, (k, n) in
                      enumerate([(d, 3 * d), (d, d), (d, ff), (ff, d)])]
    bw = read_bandwidth(weights)
    stream = weights / (result["decode"]["sinter_ms"] / 1e3) / 1e9
    result["bandwidth"] = {"read_gb_s": bw["median_gb_s"], "decode_weight_stream_gb_s": stream,
                           "fraction": stream / bw["median_gb_s"]}
    with open(os.path.join(ARGS.out, "dense_cpu.json"), "w") as f:
        json.dump(result, f, indent=1)
    chart(result, os.path.join(ARGS.out, "dense_cpu.png"))
    report(result)


def report(r):
    print(f"\nSinter dense CPU benchmark: {r['machine']}, {r['threads']} threads, median of {r['runs']} runs")
    print(f"model: d {CONFIG['d']}, {CONFIG['layers']} layers, weights {r['weight_bytes'] / 1e6:.1f} MB; "
          f"compile {r['compile_seconds']:.1f} s, peak RSS {r['compile_peak_rss_bytes'] / 1e6:.0f} MB "
          f"({r['compile_rss_over_weights']:.2f}x weights)")
    print(f"{'':18}{'Sinter ms':>11}{'ORT ms':>10}{'ORT/Sinter':>12}{'max|diff|':>11}")
    for name in ["prefill", "decode"]:
        x = r[name]
        print(f"{name + ' seq ' + str(x['seq']):18}{x['sinter_ms']:11.2f}{x['ort_ms']:10.2f}"
              f"{x['ratio']:12.2f}{x['max_abs_diff_vs_ort']:11.1e}")
    print(f"{'matmul MxKxN':18}{'Sinter':>11}{'OpenBLAS':>10}{'fraction':>12}   (GFLOP/s)")
    for g in r["gemm"]:
        print(f"{'x'.join(map(str, g['shape'])):18}{g['sinter_gflops']:11.1f}{g['openblas_gflops']:10.1f}"
              f"{g['fraction']:12.2f}")
    b = r["bandwidth"]
    print(f"decode weight streaming {b['decode_weight_stream_gb_s']:.1f} GB/s vs plain read "
          f"{b['read_gb_s']:.1f} GB/s: {b['fraction']:.2f}")


if __name__ == "__main__":
    main()
