#!/usr/bin/env python3
"""Runs a fuzzer for a fixed time on a seed corpus; fails on any crash or
leak. The seeds are the files named after the time (globs), or by default
small ONNX models (the ONNX backend node tests) for the importer.

    run_fuzz.py FUZZER CORPUS_DIR SECONDS [SEED_GLOB...]"""
import glob
import os
import shutil
import subprocess
import sys

fuzzer, corpus, seconds, seed_globs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
name = os.path.basename(fuzzer)
seeds = os.path.join(corpus, "seeds")
os.makedirs(seeds, exist_ok=True)
if seed_globs:
    for pattern in seed_globs:
        for path in glob.glob(pattern):
            shutil.copy(path, seeds)
else:
    for path in sorted(glob.glob("/usr/share/libonnx-testdata/data/node/*/model.onnx"))[::8]:
        if os.path.getsize(path) < 4096:
            shutil.copy(path, os.path.join(seeds, os.path.basename(os.path.dirname(path)) + ".onnx"))
    # Inputs that once crashed the importer stay in the seed corpus, with
    # seeds (seed-*) for Sinter's own ops, which the ONNX test data lacks.
    for path in glob.glob(os.path.join(os.path.dirname(os.path.abspath(__file__)), "regressions", "*")):
        shutil.copy(path, seeds)
work = os.path.join(corpus, "work")
os.makedirs(work, exist_ok=True)
cmd = [fuzzer, work, seeds, f"-max_total_time={seconds}", "-rss_limit_mb=2048",
       "-timeout=20", "-max_len=8192", f"-artifact_prefix={corpus}/"]
env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1")
r = subprocess.run(cmd, env=env, capture_output=True, text=True)
tail = (r.stdout + r.stderr).strip().splitlines()[-15:]
print("\n".join(tail))
print(f"{name}: exit {r.returncode} ({len(os.listdir(seeds))} seeds, {seconds} s)")
sys.exit(r.returncode)
