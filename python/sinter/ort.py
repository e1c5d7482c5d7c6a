"""onnxruntime as the independent reference: runs a model through the npm
package onnxruntime-node (installed by scripts/bootstrap.sh) and returns
numpy outputs."""
import json
import os
import subprocess
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "test", "e2e", "ort_reference.js")
NODE_PATH = os.path.join(ROOT, "third_party", "ort", "node_modules")
_DTYPES = {np.dtype(np.float32): "float32", np.dtype(np.int64): "int64",
           np.dtype(np.int32): "int32", np.dtype(np.bool_): "bool"}


def run(model_path, feeds, threads=2, bench=0):
    """feeds: {name: ndarray}. Returns ({name: ndarray}, timing or None)."""
    with tempfile.TemporaryDirectory() as tmp:
        inputs = []
        for name, arr in feeds.items():
            arr = np.ascontiguousarray(arr)
            f = os.path.join(tmp, f"in_{len(inputs)}.bin")
            arr.tofile(f)
            inputs.append({"name": name, "dtype": _DTYPES[arr.dtype], "dims": list(arr.shape), "file": f})
        job = {"model": os.path.abspath(model_path), "threads": threads, "inputs": inputs,
               "outputs_dir": os.path.join(tmp, "out"), "bench": bench}
        with open(os.path.join(tmp, "job.json"), "w") as f:
            json.dump(job, f)
        env = dict(os.environ, NODE_PATH=NODE_PATH)
        r = subprocess.run(["node", SCRIPT, os.path.join(tmp, "job.json")], capture_output=True,
                           text=True, env=env)
        if r.returncode != 0:
            raise RuntimeError("onnxruntime reference failed: " + r.stderr.strip())
        outs = {}
        for fn in os.listdir(job["outputs_dir"]):
            if fn.endswith(".json"):
                name = fn[:-5]
                meta = json.load(open(os.path.join(job["outputs_dir"], fn)))
                dt = {"float32": np.float32, "int64": np.int64, "int32": np.int32, "bool": np.bool_}[meta["dtype"]]
                outs[name] = np.fromfile(os.path.join(job["outputs_dir"], name + ".bin"), dtype=dt).reshape(meta["dims"])
        timing = json.loads(r.stdout.strip().splitlines()[-1]) if bench else None
        return outs, timing
