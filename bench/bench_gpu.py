#!/usr/bin/env python3
"""GPU against CPU (`make bench-gpu`): the d=768 stack of bench_dense.py
compiled for --target=nvptx64-nvidia-cuda and for this CPU, prefill (seq
128) and decode (seq 1) medians in alternating blocks, on a machine with an
NVIDIA GPU; elsewhere it says so and exits 0. Writes bench/results/gpu.json.

    PYTHONPATH=python /usr/bin/python3 bench/bench_gpu.py [--chip sm_90] [--runs 15]"""
import argparse
import json
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
import sinter  # noqa: E402
from sinter import measure, testmodels  # noqa: E402


def main():
    ap = argparse.ArgumentParser(prog="bench_gpu.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--chip", default="sm_80", help="--mcpu of the GPU build (default sm_80)")
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--work", default=os.path.join(ROOT, "build", "bench"))
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    args = ap.parse_args()
    if sinter.cuda_devices() == 0:
        print("bench_gpu: no CUDA device or driver on this machine; nothing measured")
        return
    os.makedirs(args.work, exist_ok=True)
    onnx_path = os.path.join(args.work, "gpu_stack.onnx")
    model = testmodels.build("gpt2", seed=0, d=768, heads=12, layers=4, ctx=128)
    testmodels.export(model, onnx_path, ctx=128)
    cpu = sinter.load(sinter.compile(onnx_path, os.path.join(args.work, "gpu_stack_cpu.so")))
    gpu = sinter.load(sinter.compile(onnx_path, os.path.join(args.work, "gpu_stack_gpu.so"),
                                     target="nvptx64-nvidia-cuda", mcpu=args.chip))
    ids = np.random.default_rng(0).integers(0, 256, (1, 128))
    result = {"chip": args.chip, "cpu_threads": cpu.threads}
    for phase, feed in (("prefill", ids), ("decode", ids[:, :1])):
        for _ in range(3):
            cpu(feed), gpu(feed)

        def timed(m):
            t0 = time.perf_counter()
            m(feed)
            return (time.perf_counter() - t0) * 1e3
        g, c = measure.alternate_blocks(lambda: timed(gpu), lambda: timed(cpu), args.runs)
        result[phase] = {"gpu_ms": g, "cpu_ms": c, "speedup": c / g}
        print(f"{phase:8s} GPU {g:8.3f} ms   CPU {c:8.3f} ms   GPU speedup {c / g:5.2f}x")
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "gpu.json"), "w") as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
