"""Helpers of the measurement scripts (scripts/, bench/): compiling a
reference model with sinter-compile flags and scoring a library on text."""
import json
import os
import subprocess
import sys

from . import eval as sinter_eval
from .runtime import _tool

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def reference_model(name):
    """(directory, model.onnx, context) of examples/models/`name`."""
    d = os.path.join(ROOT, "examples", "models", name)
    context = json.load(open(os.path.join(d, "train.json")))["summary"]["config"]["ctx"]
    return d, os.path.join(d, "model.onnx"), context


def compile_so(onnx_path, so, *flags):
    """sinter-compile onnx_path -o so FLAGS; exits with its message on failure."""
    r = subprocess.run([_tool("sinter-compile"), onnx_path, "-o", so, *flags], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(r.stderr)


def bits(so, text, context):
    """Bits per byte of a compiled library on `text` (sinter.eval protocol)."""
    return sinter_eval.bits_per_byte(sinter_eval._logits_fn(so, "sinter_model"), text, context)[0]
