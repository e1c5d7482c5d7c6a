#!/usr/bin/env python3
"""ONNX backend conformance: compile and run every backend test whose ops
are all in Sinter's supported set, comparing with the test's expected
outputs. Prints pass / fail / out-of-scope counts; exits 1 if any in-scope
test fails. A test the compiler rejects with an 'unsupported' diagnostic is
counted as rejected (listed, not a failure); a crash, a wrong answer or any
other error is a failure.

With --gpu CHIP every test is compiled for the GPU target instead: its
kernels through ptxas into a fatbin (the CUDA toolkit must be present:
--cuda-path) and its host side into a shared library. On a machine with a
CUDA device the objects are run and checked as on the CPU; elsewhere a
test passes when it compiles (a GPU object that fails to build is a
failure, whatever the CPU build does)."""
import argparse
import concurrent.futures as cf
import glob
import os
import shutil
import subprocess
import sys
import tempfile

import onnx

SUPPORTED = set("""
Add Sub Mul Div Pow Sqrt Reciprocal Neg Exp Log Erf Tanh Sigmoid Relu LeakyRelu
HardSigmoid Clip Gelu Abs MatMul Gemm Softmax LogSoftmax LayerNormalization
ReduceMean ReduceSum ReduceMax Gather Reshape Transpose Squeeze Unsqueeze Concat
Slice Split Expand Where Equal Less Greater Not And Or Max Min Cast Shape
ConstantOfShape Range Trilu CumSum Constant Identity Dropout
""".split())
DTYPES = {1, 3, 5, 6, 7, 9, 10, 11}
# Inputs that Sinter needs at compile time (they decide shapes or axes).
# Backend tests often feed them as graph inputs; as onnx-mlir's runner does,
# such inputs are frozen into initializers from the test's data (only for
# tests with a single data set, so the frozen value is the one tested).
COMPILE_TIME_INPUTS = {
    "Squeeze": {1}, "Unsqueeze": {1}, "ReduceSum": {1}, "ReduceMean": {1},
    "ReduceMax": {1}, "Split": {1}, "Slice": {3, 4}, "CumSum": {1},
}
SUITES = ["node", "pytorch-converted", "pytorch-operator", "simple"]


def in_scope(model):
    g = model.graph
    for n in g.node:
        if n.domain not in ("", "ai.onnx") or n.op_type not in SUPPORTED:
            return False
    for v in list(g.input) + list(g.output):
        if not v.type.HasField("tensor_type") or v.type.tensor_type.elem_type not in DTYPES:
            return False
    return True


def freeze_compile_time_inputs(test_dir, workdir, name):
    """Returns the model path to compile (a rewritten copy if inputs froze)
    and the graph-input indices that were frozen."""
    path = os.path.join(test_dir, "model.onnx")
    model = onnx.load(path)
    datasets = sorted(glob.glob(os.path.join(test_dir, "test_data_set_*")))
    wanted = set()
    for n in model.graph.node:
        for i in COMPILE_TIME_INPUTS.get(n.op_type, ()):
            if i < len(n.input) and n.input[i]:
                wanted.add(n.input[i])
    inits = {t.name for t in model.graph.initializer}
    inputs = [v.name for v in model.graph.input if v.name not in inits]
    frozen = [k for k, v in enumerate(inputs) if v in wanted]
    if not frozen or len(datasets) != 1:
        return path, []
    for k in frozen:
        t = onnx.TensorProto()
        with open(os.path.join(datasets[0], f"input_{k}.pb"), "rb") as f:
            t.ParseFromString(f.read())
        t.name = inputs[k]
        model.graph.initializer.append(t)
    keep = [v for v in model.graph.input if v.name not in {inputs[k] for k in frozen}]
    del model.graph.input[:]
    model.graph.input.extend(keep)
    out = os.path.join(workdir, name.replace("/", "_") + ".onnx")
    onnx.save(model, out)
    return out, frozen


def dataset_without(ds, frozen, workdir):
    """A copy of a data set with the frozen inputs dropped and renumbered."""
    if not frozen:
        return ds
    out = os.path.join(workdir, os.path.basename(os.path.dirname(ds)) + "_" + os.path.basename(ds))
    os.makedirs(out, exist_ok=True)
    k_out = 0
    for k in range(len(glob.glob(os.path.join(ds, "input_*.pb")))):
        if k in frozen:
            continue
        shutil.copy(os.path.join(ds, f"input_{k}.pb"), os.path.join(out, f"input_{k_out}.pb"))
        k_out += 1
    for f in glob.glob(os.path.join(ds, "output_*.pb")):
        shutil.copy(f, out)
    return out


def run_test(test_dir, tools, workdir):
    name = os.path.relpath(test_dir, os.path.dirname(os.path.dirname(test_dir)))
    so = os.path.join(workdir, name.replace("/", "_") + ".so")
    model, frozen = freeze_compile_time_inputs(test_dir, workdir, name)
    r = subprocess.run([tools["compile"], model, "-o", so, *tools["flags"]],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        kind = "rejected" if r.returncode == 1 and "support" in r.stderr else "fail"
        return name, kind, r.stderr.strip().splitlines()[-1:] if r.stderr else ["exit %d" % r.returncode]
    if not tools["execute"]:
        os.remove(so)
        return name, "pass", ["host loops"] if "run on the host" in r.stderr else []
    msgs = []
    for ds in sorted(glob.glob(os.path.join(test_dir, "test_data_set_*"))):
        ds = dataset_without(ds, frozen, workdir)
        r = subprocess.run([tools["run"], so, ds, "--check", "--rtol", "1e-3", "--atol", "1e-5"],
                           capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            msgs.append(os.path.basename(ds) + ": " + (r.stdout + r.stderr).strip().replace("\n", " | "))
    os.remove(so)
    return name, ("fail" if msgs else "pass"), msgs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True, help="folder with sinter-compile and sinter-run")
    ap.add_argument("--data", default="/usr/share/libonnx-testdata/data")
    ap.add_argument("--filter", default="")
    ap.add_argument("-j", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--gpu", metavar="CHIP", help="compile for the GPU target (e.g. sm_90) instead")
    ap.add_argument("--cuda-path", default="/usr/local/cuda", help="with --gpu: the CUDA toolkit")
    args = ap.parse_args()
    tools = {"compile": os.path.join(args.bin, "sinter-compile"), "run": os.path.join(args.bin, "sinter-run"),
             "flags": [], "execute": True}
    if args.gpu:
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
        import sinter
        tools["flags"] = ["--target=nvptx64-nvidia-cuda", f"--mcpu={args.gpu}", f"--cuda-path={args.cuda_path}"]
        tools["execute"] = sinter.cuda_devices() > 0
        if not all(os.access(os.path.join(args.cuda_path, "bin", t), os.X_OK) for t in ("ptxas", "fatbinary")):
            print(f"conformance: no CUDA toolkit at {args.cuda_path} (ptxas, fatbinary): GPU conformance skipped")
            return 77
    tests, out_of_scope = [], 0
    for suite in SUITES:
        for d in sorted(glob.glob(os.path.join(args.data, suite, "*"))):
            if args.filter not in d or not os.path.exists(os.path.join(d, "model.onnx")):
                continue
            try:
                ok = in_scope(onnx.load(os.path.join(d, "model.onnx")))
            except Exception:
                ok = False
            if ok:
                tests.append(d)
            else:
                out_of_scope += 1
    counts = {"pass": 0, "fail": 0, "rejected": 0}
    host_loops = 0
    with tempfile.TemporaryDirectory() as work, cf.ThreadPoolExecutor(args.j) as pool:
        futures = [pool.submit(run_test, t, tools, work) for t in tests]
        for f in cf.as_completed(futures):
            try:
                name, kind, msgs = f.result()
            except subprocess.TimeoutExpired as e:
                name, kind, msgs = str(e.cmd[1]), "fail", ["timeout"]
            counts[kind] += 1
            host_loops += kind == "pass" and msgs == ["host loops"]
            if kind != "pass":
                print(f"{kind.upper()}: {name}: {' / '.join(msgs)[:400]}")
    mode = "" if not args.gpu else f" (GPU {args.gpu}{', run' if tools['execute'] else ', compiled only: no CUDA device'})"
    print(f"conformance{mode}: {counts['pass']} passed, {counts['fail']} failed, "
          f"{counts['rejected']} rejected as unsupported, {out_of_scope} out of scope"
          + (f"; {host_loops} with loops left on the host" if args.gpu else ""))
    return 1 if counts["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())
