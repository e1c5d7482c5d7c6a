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


def add_bench_args(ap, doc):
    """The flags every sinter-run benchmark takes; --docs writes into `doc`."""
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--iters", type=int, default=100, help="sinter-run --bench iterations per round")
    ap.add_argument("--work", default=os.path.join(ROOT, "build", "bench"))
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    ap.add_argument("--docs", action="store_true", help=f"also write the table into docs/{doc}")
    return ap


def bench_ms(so, data_dir, iters, threads):
    """Median ms per run of `sinter-run SO DATA --bench ITERS --threads T`."""
    cmd = [_tool("sinter-run"), so, data_dir, "--bench", str(iters), "--threads", str(threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return float(out.strip().splitlines()[-1].split()[-1])


def token_inputs(directory, seq):
    """A sinter-run input folder holding `seq` bytes of kjv-heldout as input_ids [1, seq]."""
    import numpy as np
    from onnx import numpy_helper
    from . import corpora
    os.makedirs(directory, exist_ok=True)
    ids = np.frombuffer(corpora.split("kjv-heldout")[:seq], dtype=np.uint8).astype(np.int64)[None]
    with open(os.path.join(directory, "input_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(ids, "input_ids").SerializeToString())
    return directory


class OrtServer:
    """onnxruntime-node timing `model` on fixed `feeds` (bench/ort_server.js):
    run() returns one run's milliseconds, measured inside node."""

    def __init__(self, model, feeds, threads, work):
        import numpy as np
        from . import ort
        os.makedirs(work, exist_ok=True)
        inputs = []
        for i, (name, arr) in enumerate(feeds.items()):
            f = os.path.join(work, f"ort_in_{i}.bin")
            np.ascontiguousarray(arr).tofile(f)
            inputs.append({"name": name, "dtype": str(arr.dtype), "dims": list(arr.shape), "file": f})
        job = os.path.join(work, "ort_job.json")
        with open(job, "w") as f:
            json.dump({"model": model, "threads": threads, "inputs": inputs}, f)
        env = dict(os.environ, NODE_PATH=ort.NODE_PATH)
        self.p = subprocess.Popen(["node", os.path.join(ROOT, "bench", "ort_server.js"), job],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        if self.p.stdout.readline().strip() != "ready":
            sys.exit("onnxruntime server failed to start")

    def run(self):
        self.p.stdin.write("run\n")
        self.p.stdin.flush()
        return float(self.p.stdout.readline())

    def close(self):
        self.p.stdin.write("quit\n")
        self.p.stdin.close()
        self.p.wait()


def alternate_blocks(first, second, runs, block=5, settle=3, settle_ms=250.0):
    """Median ms of two timers, run in alternating blocks: each block starts
    with untimed runs — at least `settle` of them and `settle_ms` of their
    own time — then `block` timed runs; blocks alternate until each has
    `runs` timed runs. The untimed runs outlast what the other runtime left
    behind: onnxruntime's idle workers spin for about 40 ms after a run (a
    core taken from whoever runs next), and each side's weights must come
    back into the caches the other's evicted. Measured here after one
    onnxruntime run, a Sinter decode step took 2.5x its steady time for the
    first 14 runs (70 ms); onnxruntime after Sinter, 1.5x for 10 runs."""
    import statistics
    a, b = [], []
    while len(a) < runs:
        for fn, times in ((first, a), (second, b)):
            spent, count = 0.0, 0
            while count < settle or spent < settle_ms:
                spent += fn()
                count += 1
            times.extend(fn() for _ in range(min(block, runs - len(times))))
    return statistics.median(a), statistics.median(b)


def save_one_node(path, node, inputs, inits):
    """An ONNX file of one node whose output is `y` (opset 17, plus the
    node's own domain at version 1)."""
    import onnx
    from onnx import TensorProto, helper
    graph = helper.make_graph([node], node.name, inputs,
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid(node.domain, 1)] if node.domain else [])
    onnx.save(helper.make_model(graph, opset_imports=opsets), path)


def time_call(model, feeds):
    """Milliseconds of one call of a loaded model."""
    import time
    t0 = time.perf_counter()
    model(**feeds)
    return (time.perf_counter() - t0) * 1e3


def versus_ort(onnx_path, models, threads, work, runs, seqs=(("decode", 1), ("prefill", 128))):
    """Each loaded model of `models` (label → model) against onnxruntime fp32
    of `onnx_path` on input_ids [1, seq], alternated in blocks: per phase,
    {seq, LABEL_ms, ort_fp32_ms (the median over the pairings),
    LABEL_vs_ort}."""
    import statistics
    import numpy as np
    rng = np.random.default_rng(0)
    result = {}
    for name, seq in seqs:
        feeds = {"input_ids": rng.integers(0, 256, (1, seq), dtype=np.int64)}
        server = OrtServer(onnx_path, feeds, threads, work)
        for _ in range(3):
            server.run()
        ort_times, row = [], {"seq": seq}
        for label, model in models.items():
            for _ in range(3):
                time_call(model, feeds)
            mine, ort_ms = alternate_blocks(lambda: time_call(model, feeds), server.run, runs)
            row[f"{label}_ms"] = mine
            ort_times.append(ort_ms)
        server.close()
        row["ort_fp32_ms"] = statistics.median(ort_times)
        for label in models:
            row[f"{label}_vs_ort"] = row["ort_fp32_ms"] / row[f"{label}_ms"]
        result[name] = row
    return result


def score_variant(work, name, onnx_path, context, text, pass_name, after_key, *flags):
    """Compiles onnx_path with FLAGS into WORK/NAME.so and scores it on
    `text`: {bits_per_byte, object_bytes} and, when `pass_name` rewrote
    layers, their weight bytes before (linear_bytes_fp32) and after
    (`after_key`) from the compile report. Prints the result."""
    so = os.path.join(work, name + ".so")
    report = so + ".json"
    compile_so(onnx_path, so, f"--report={report}", *flags)
    compiled = json.load(open(report))
    entries = [e for e in compiled.get("compression", []) if e["pass"] == pass_name]
    result = {"bits_per_byte": bits(so, text, context), "object_bytes": os.path.getsize(so),
              "weight_bytes_compiled": compiled["weight_bytes_compiled"]}
    if entries:
        result["linear_bytes_fp32"] = sum(e["weight_bytes_before"] for e in entries)
        result[after_key] = sum(e["weight_bytes_after"] for e in entries)
    print(name, json.dumps(result), file=sys.stderr, flush=True)
    return result
