#!/usr/bin/env python3
"""End to end: GPT-2-like and LLaMA-like models exported by torch.onnx,
compiled by sinter-compile to .so (run by sinter-run --check) and to .o
(linked into a C program), compared with onnxruntime at several batch and
sequence sizes. Tolerance: |sinter - ort| <= 1e-5 + 1e-4 * |ort|."""
import argparse
import os
import subprocess
import sys

import numpy as np
import torch
import onnx
from onnx import numpy_helper

from sinter import ort, testmodels

RTOL, ATOL = 1e-4, 1e-5
CONTEXT = 64
SHAPES = [(1, 1), (2, 7), (1, CONTEXT), (3, 33)]


def sh(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"FAILED: {' '.join(cmd)}\n{r.stdout}{r.stderr}")
    return r.stdout


def compare(name, got, want):
    err = np.abs(got.astype(np.float64) - want)
    bad = err > ATOL + RTOL * np.abs(want)
    rel = float((err / (np.abs(want) + 1e-12)).max())
    print(f"  {name}: max abs err {err.max():.3g}, max rel err {rel:.3g}, {int(bad.sum())} outside tolerance")
    return not bad.any(), float(err.max())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    ok, worst = True, 0.0
    clang = "clang-22"
    for arch in ["gpt2", "opt", "llama"]:
        model_path = os.path.join(args.work, f"{arch}.onnx")
        testmodels.export(testmodels.build(arch, ctx=CONTEXT), model_path, ctx=CONTEXT)
        so = os.path.join(args.work, f"{arch}.so")
        obj = os.path.join(args.work, f"{arch}.o")
        sh([os.path.join(args.bin, "sinter-compile"), model_path, "-o", so])
        sh([os.path.join(args.bin, "sinter-compile"), model_path, "-o", obj, f"--name={arch}_model"])
        exe = os.path.join(args.work, f"run_{arch}")
        sh([clang, "-O2", f"-DMODEL_HEADER=\"{arch}.h\"", f"-DMODEL_GETTER={arch}_model",
            "-I", args.work, "-I", os.path.join(args.root, "include"),
            os.path.join(args.root, "test", "e2e", "run_model.c"), obj, "-lm", "-o", exe])
        rng = np.random.default_rng(0)
        for batch, seq in SHAPES:
            print(f"{arch} batch={batch} seq={seq}")
            ids = rng.integers(0, 256, size=(batch, seq), dtype=np.int64)
            want = ort.run(model_path, {"input_ids": ids})[0]["logits"].astype(np.float64)
            data = os.path.join(args.work, f"{arch}_{batch}x{seq}")
            os.makedirs(data, exist_ok=True)
            with open(os.path.join(data, "input_0.pb"), "wb") as f:
                f.write(numpy_helper.from_array(ids, "input_ids").SerializeToString())
            with open(os.path.join(data, "output_0.pb"), "wb") as f:
                f.write(numpy_helper.from_array(want.astype(np.float32), "logits").SerializeToString())
            out_dir = os.path.join(data, "sinter")
            sh([os.path.join(args.bin, "sinter-run"), so, data, "--check", "--rtol", str(RTOL),
                "--atol", str(ATOL), "--out", out_dir])
            got = numpy_helper.to_array(onnx.load_tensor(os.path.join(out_dir, "output_0.pb")))
            good, err = compare(".so via sinter-run", got, want)
            ok &= good
            worst = max(worst, err)
            raw_in, raw_out = os.path.join(data, "ids.bin"), os.path.join(data, "c_out.bin")
            ids.tofile(raw_in)
            sh([exe, raw_in, str(batch), str(seq), "--", raw_out])
            got_c = np.fromfile(raw_out, dtype=np.float32).reshape(want.shape)
            good, err = compare(".o via C program", got_c, want)
            ok &= good
            worst = max(worst, err)
        # Beyond the context the model cannot answer: an error, not garbage.
        ids = np.zeros((1, CONTEXT + 1), dtype=np.int64)
        data = os.path.join(args.work, f"{arch}_too_long")
        os.makedirs(data, exist_ok=True)
        with open(os.path.join(data, "input_0.pb"), "wb") as f:
            f.write(numpy_helper.from_array(ids, "input_ids").SerializeToString())
        r = subprocess.run([os.path.join(args.bin, "sinter-run"), so, data], capture_output=True, text=True)
        raw_in = os.path.join(data, "ids.bin")
        ids.tofile(raw_in)
        rc = subprocess.run([exe, raw_in, "1", str(CONTEXT + 1), "--", os.path.join(data, "out.bin")],
                            capture_output=True, text=True)
        rejected = (r.returncode == 2 and "run-time check failed" in r.stderr and
                    rc.returncode == 1 and "run failed (8)" in rc.stderr)
        print(f"{arch} seq={CONTEXT + 1} (beyond the context): "
              f"{'rejected: ' + r.stderr.strip() if rejected else 'NOT REJECTED'}")
        ok &= rejected
    print(f"e2e: worst abs error vs onnxruntime {worst:.3g} (tolerance rtol={RTOL}, atol={ATOL})")
    print("e2e: " + ("all outputs match" if ok else "MISMATCH"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
