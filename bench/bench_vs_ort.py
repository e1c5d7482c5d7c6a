#!/usr/bin/env python3
"""Side-by-side timing of a compiled model and onnxruntime (same machine,
same run, same inputs). Not part of the tests. Usage:
  PYTHONPATH=python /usr/bin/python3 bench/bench_vs_ort.py [--arch gpt2] [--seq 16] [--runs 50]
Prints both medians and the ratio onnxruntime / Sinter (> 1: Sinter faster)."""
import argparse
import os
import re
import subprocess
import tempfile

import numpy as np
from onnx import numpy_helper

from sinter import ort, testmodels

ap = argparse.ArgumentParser()
ap.add_argument("--arch", default="gpt2", choices=["gpt2", "llama"])
ap.add_argument("--batch", type=int, default=1)
ap.add_argument("--seq", type=int, default=16)
ap.add_argument("--runs", type=int, default=50)
ap.add_argument("--bin", default="build/bin")
args = ap.parse_args()
with tempfile.TemporaryDirectory() as tmp:
    model = os.path.join(tmp, "model.onnx")
    testmodels.export(testmodels.build(args.arch), model)
    so = os.path.join(tmp, "model.so")
    subprocess.run([os.path.join(args.bin, "sinter-compile"), model, "-o", so], check=True)
    ids = np.random.default_rng(0).integers(0, 256, (args.batch, args.seq), dtype=np.int64)
    data = os.path.join(tmp, "data")
    os.makedirs(data)
    with open(os.path.join(data, "input_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(ids).SerializeToString())
    out = subprocess.run([os.path.join(args.bin, "sinter-run"), so, data, "--bench", str(args.runs)],
                         capture_output=True, text=True, check=True).stdout
    sinter_ms = float(re.search(r"median_ms ([0-9.e+-]+)", out).group(1))
    _, t = ort.run(model, {"input_ids": ids}, threads=2, bench=args.runs)
    print(f"{args.arch} batch={args.batch} seq={args.seq}: sinter {sinter_ms:.3f} ms, "
          f"onnxruntime {t['median_ms']:.3f} ms, ratio ort/sinter {t['median_ms'] / sinter_ms:.2f}")
