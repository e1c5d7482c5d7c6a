"""Spiking conversion (FAS, METHODS.md §3) end to end: the IF neuron's
constant-input identity in the numpy reference and in the compiled kernel,
the QCFS chain compiled as an ANN against onnxruntime, a two-layer spiking
network (time-varying currents, signed neurons) against numpy, and whole
QCFS transformers compiled with --compress=spike against the PyTorch SNN
reference (sinter.spike), on the event-driven and the dense kernel."""
import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

import sinter
from sinter import ort, spike, testmodels

# The compiled neurons do the reference's f32 operations in its order, so
# outputs agree to float summation order in the synaptic sums.
SNN_RTOL = 1e-5


def qcfs_nodes(x, out, theta, levels, prefix):
    """The node chain sinter.spike.QCFS exports, and its initializers."""
    inits = [numpy_helper.from_array(np.array(v, np.float32), f"{prefix}{n}")
             for n, v in (("theta", theta), ("zero", 0.0), ("one", 1.0), ("levels", float(levels)),
                          ("half", 0.5), ("step", np.float32(theta) / np.float32(levels)))]
    nodes = [helper.make_node("Div", [x, f"{prefix}theta"], [f"{prefix}d"]),
             helper.make_node("Clip", [f"{prefix}d", f"{prefix}zero", f"{prefix}one"], [f"{prefix}c"]),
             helper.make_node("Mul", [f"{prefix}c", f"{prefix}levels"], [f"{prefix}m"]),
             helper.make_node("Add", [f"{prefix}m", f"{prefix}half"], [f"{prefix}a"]),
             helper.make_node("Floor", [f"{prefix}a"], [f"{prefix}f"]),
             helper.make_node("Mul", [f"{prefix}f", f"{prefix}step"], [out])]
    return nodes, inits


def save_model(path, nodes, inits, neurons_in, neurons_out):
    graph = helper.make_graph(
        nodes, "qcfs", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", neurons_in])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", neurons_out])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def currents(seed, shape, theta):
    """Inputs over [−θ/2, 1.5θ]: below zero, inside the range and clipped."""
    return np.random.default_rng(seed).uniform(-0.5 * theta, 1.5 * theta, shape).astype(np.float32)


@pytest.mark.parametrize("steps", [1, 2, 4, 8, 16])
def test_reference_neuron_constant_input_identity(steps):
    theta = 0.7
    z = currents(steps, (500,), theta)
    s = spike.if_neuron(np.broadcast_to(z, (steps,) + z.shape), theta)
    count = s.astype(np.int64).sum(axis=0)
    np.testing.assert_array_equal(count, np.clip(np.floor(steps * z / theta + 0.5), 0, steps))
    np.testing.assert_allclose((s * np.float32(theta)).mean(axis=0), spike.qcfs_reference(z, theta, steps),
                               rtol=1e-6, atol=1e-7)


def test_reference_signed_neuron_stays_bounded_and_undoes_excess():
    theta = 1.0
    # A burst then the opposite input (the sum is 0): the unsigned neuron
    # keeps its two spikes, the signed one takes them back.
    x = np.array([[0.9], [0.9], [-0.9], [-0.9]], np.float32)
    unsigned = spike.if_neuron(x, theta)[:, 0]
    signed = spike.if_neuron(x, theta, signed=True)[:, 0]
    assert list(unsigned) == [1, 1, 0, 0]
    assert list(signed) == [1, 1, -1, -1]
    big = np.full((6, 3), 5.0, np.float32)
    counts = np.cumsum(spike.if_neuron(big, theta, signed=True, bound=4), axis=0)
    assert counts.max() == 4 and counts.min() >= 0


@pytest.mark.parametrize("steps", [8, 4])
def test_compiled_neurons_equal_qcfs_with_steps_levels(tmp_path, steps):
    """One QCFS layer (L = 8) run as IF neurons for T steps on a constant
    input is QCFS with T levels, exactly; as an ANN it is what onnxruntime
    computes."""
    theta, neurons = 1.5, 96
    nodes, inits = qcfs_nodes("x", "y", theta, 8, "q")
    onnx_path = save_model(tmp_path / "qcfs.onnx", nodes, inits, neurons, neurons)
    x = currents(1, (5, neurons), theta)
    ann = sinter.load(str(sinter.compile(onnx_path, tmp_path / "ann.so")))(x)
    np.testing.assert_array_equal(ann, ort.run(str(onnx_path), {"x": x})[0]["y"])
    snn = sinter.load(str(sinter.compile(onnx_path, tmp_path / "snn.so", compress=f"spike:T={steps}")))(x)
    np.testing.assert_allclose(snn, spike.qcfs_reference(x, np.float32(theta), steps), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("signed", [False, True])
def test_compiled_two_layer_snn_equals_numpy(tmp_path, signed):
    """x → QCFS → W → QCFS: the second layer's current varies over the
    steps (the first layer's spikes through accumulate-only synapses)."""
    steps, k, n = 6, 40, 24
    rng = np.random.default_rng(3)
    w = rng.normal(0, 0.4, (k, n)).astype(np.float32)
    n1, i1 = qcfs_nodes("x", "h", 1.0, 8, "a")
    n2, i2 = qcfs_nodes("hw", "y", 0.8, 8, "b")
    nodes = n1 + [helper.make_node("MatMul", ["h", "w"], ["hw"])] + n2
    onnx_path = save_model(tmp_path / "two.onnx", nodes, i1 + i2 + [numpy_helper.from_array(w, "w")], k, n)
    x = currents(4, (7, k), 1.0)
    flag = f"spike:T={steps}" + (",signed=true" if signed else "")
    got = sinter.load(str(sinter.compile(onnx_path, tmp_path / "two.so", compress=flag)))(x)

    bound = steps if signed else None
    s1 = spike.if_neuron(np.broadcast_to(x, (steps,) + x.shape), np.float32(1.0), signed=signed, bound=bound)
    current2 = np.einsum("tbk,kn->tbn", s1.astype(np.float64), (np.float32(1.0) * w).astype(np.float64))
    s2 = spike.if_neuron(current2.astype(np.float32), np.float32(0.8), signed=signed, bound=bound)
    want = (s2 * np.float32(0.8)).mean(axis=0)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    if signed:
        assert (s2 < 0).any(), "the test should exercise negative spikes"


def tiny_qcfs_model(seed, scale):
    model = testmodels.build("opt", seed=seed, d=32, heads=2, layers=2, ctx=16)
    ids = torch.randint(0, 256, (4, 16), generator=torch.Generator().manual_seed(seed))
    thetas = [scale * t for t in spike.initial_thresholds(model, ids, percentile=99.0)]
    return spike.use_qcfs(model, 8, thetas).eval()


@pytest.mark.parametrize("scale,dense", [(1.0, False), (0.02, True)])
def test_compiled_snn_transformer_equals_pytorch(tmp_path, scale, dense):
    """A QCFS OPT compiled with --compress=spike against the PyTorch SNN
    (the whole model T times, membranes kept, logits averaged). Thresholds
    at the 99th percentile fire rarely (the event-driven kernel); at 2% of it
    most neurons fire (the SGEMM path)."""
    steps = 4
    model = tiny_qcfs_model(7, scale)
    onnx_path = tmp_path / "m.onnx"
    testmodels.export(model, str(onnx_path), ctx=16)
    so = sinter.load(str(sinter.compile(onnx_path, tmp_path / "m.so", compress=f"spike:T={steps}")))
    ids = np.random.default_rng(5).integers(0, 256, (3, 16)).astype(np.int64)
    neurons = spike.spiking(model)
    want = spike.snn_logits(model, neurons, torch.from_numpy(ids), steps).numpy()
    rate = sum(n.spikes for n in neurons) / sum(n.inputs for n in neurons)
    assert (rate >= 0.2) == dense, f"firing rate {rate}"
    got = so(ids)
    assert np.abs(got - want).max() <= SNN_RTOL * np.abs(want).max()


def test_qcfs_export_raises_to_one_op(tmp_path):
    model = tiny_qcfs_model(2, 1.0)
    onnx_path = tmp_path / "m.onnx"
    testmodels.export(model, str(onnx_path), ctx=16)
    out = tmp_path / "m.mlir"
    sinter.compile(onnx_path, out, compress="spike:T=2", emit="nn")
    text = out.read_text()
    assert text.count("spike.if") == 2 and text.count("spike.matmul") == 2
    assert "nn.floor" not in text and "nn.qcfs" not in text


def compile_calibrated(tmp_path, model, options):
    """`model` compiled with --compress=spike:OPTIONS calibrated on 4 KiB
    of random printable text; returns (the library's path, its report's
    compression entries)."""
    import json
    onnx_path = tmp_path / "m.onnx"
    testmodels.export(model, str(onnx_path), ctx=16)
    text = tmp_path / "calib.txt"
    text.write_bytes(bytes(np.random.default_rng(1).integers(32, 127, 4096).astype(np.uint8)))
    report = tmp_path / "report.json"
    so = sinter.compile(onnx_path, tmp_path / "m.so", report=report,
                        compress=f"spike:{options},calibration={text},calibration-tokens=512,calibration-window=16")
    return so, json.load(open(report))["compression"]


def test_calibrated_snn_equals_pytorch_with_reported_thresholds(tmp_path):
    """--compress=spike:calibration=FILE picks a threshold scale per layer
    on the text and reports it with the layer's firing rate; the compiled
    SNN then equals the PyTorch SNN with those thresholds (the coarse stage
    alone, whose result the report states in full)."""
    steps = 4
    model = tiny_qcfs_model(11, 1.0)
    so, report = compile_calibrated(tmp_path, model, f"T={steps},per-neuron=false")
    so = sinter.load(str(so))
    entries = [e for e in report if e["pass"] == "spike"]
    assert len(entries) == 2
    for e in entries:
        assert 0.4 <= e["threshold_scale"] <= 1.2 and 0 <= e["firing_rate"] <= 1
        assert e["acs_per_row"] == pytest.approx(steps * e["firing_rate"] * e["ann_macs_per_row"])
    thetas = [float(b.act.theta) * e["threshold_scale"] for b, e in zip(spike.blocks_with_activation(model), entries)]
    neurons = spike.spiking(model, thetas)
    ids = np.random.default_rng(5).integers(0, 256, (3, 16)).astype(np.int64)
    want = spike.snn_logits(model, neurons, torch.from_numpy(ids), steps).numpy()
    got = so(ids)
    assert np.abs(got - want).max() <= SNN_RTOL * np.abs(want).max()


def test_fine_calibration_only_lowers_the_kl(tmp_path):
    """The fine stage keeps a layer's per-neuron fit only when KL(ANN ‖ SNN)
    drops, so each stage's KL is at most the one before."""
    _, entries = compile_calibrated(tmp_path, tiny_qcfs_model(11, 1.0), "T=4")
    stages = [e for e in entries if e["pass"] == "spike-calibration"]
    assert len(stages) == 1 and stages[0]["tokens"] == 512
    s = stages[0]
    assert s["kl_bits"] <= s["kl_bits_coarse"] <= s["kl_bits_unscaled"]
    assert all("per_neuron_fit" in e for e in entries if e["pass"] == "spike")


def test_bad_calibration_and_options_are_named(tmp_path):
    model = tiny_qcfs_model(2, 1.0)
    onnx_path = tmp_path / "m.onnx"
    testmodels.export(model, str(onnx_path), ctx=16)
    with pytest.raises(RuntimeError, match="spike: calibration: cannot read '/nonexistent.txt'"):
        sinter.compile(onnx_path, tmp_path / "a.so", compress="spike:calibration=/nonexistent.txt")
    with pytest.raises(RuntimeError, match="spike: T must be >= 1"):
        sinter.compile(onnx_path, tmp_path / "b.so", compress="spike:T=0")
    # A model without QCFS activations.
    plain = tmp_path / "plain.onnx"
    testmodels.export(testmodels.build("opt", d=32, heads=2, layers=1, ctx=16), str(plain), ctx=16)
    with pytest.raises(RuntimeError, match="spike: the model has no QCFS activations"):
        sinter.compile(plain, tmp_path / "c.so", compress="spike")


@pytest.mark.parametrize("name", ["kjv-opt-qcfs", "kjv-gpt-qcfs"])
def test_committed_qcfs_model_compiles_to_the_pytorch_snn(tmp_path, name):
    """The committed QCFS reference models: the QCFS ANN compiled by Sinter
    against onnxruntime, and --compress=spike:T=8 against the PyTorch SNN
    of the checkpoint on four windows of held-out text. A spike is a
    threshold test, so where Sinter's and PyTorch's float sums put a
    membrane on different sides of its threshold one spike flips and the
    positions after it differ by more than rounding: most positions must
    agree to 1e-5 and the windows' bits per byte to 0.2%."""
    import os
    from sinter import corpora
    from sinter.measure import reference_model
    root = os.path.join(os.path.dirname(__file__), "..", "..")
    if not os.path.exists(os.path.join(root, "examples", "models", name, "train.json")):
        pytest.skip(f"{name} is not committed")
    model_dir, onnx_path, context = reference_model(name)
    data = np.frombuffer(corpora.split("kjv-heldout")[:4 * context + 1], np.uint8).astype(np.int64)
    ids, targets = data[:-1].reshape(4, context), data[1:].reshape(4, context)
    ann = sinter.load(str(sinter.compile(onnx_path, tmp_path / "ann.so")))(ids)
    ref = ort.run(onnx_path, {"input_ids": ids})[0]["logits"]
    assert np.median(np.abs(ann - ref).max(-1)) <= 1e-5 * np.abs(ref).max()
    snn = sinter.load(str(sinter.compile(onnx_path, tmp_path / "snn.so", compress="spike:T=8")))(ids)
    model = testmodels.load(os.path.join(model_dir, "model.pt"))
    want = spike.snn_logits(model, spike.spiking(model), torch.from_numpy(ids), 8).numpy()
    err = np.abs(snn - want).max(-1) / np.abs(want).max()
    assert (err <= SNN_RTOL).mean() >= 0.6, f"only {(err <= SNN_RTOL).mean():.0%} of positions agree"

    def bits(logits):
        logp = torch.log_softmax(torch.from_numpy(logits).double(), -1).numpy()
        return -np.take_along_axis(logp, targets[..., None], -1).mean() / np.log(2)
    assert bits(snn) == pytest.approx(bits(want), rel=2e-3)
