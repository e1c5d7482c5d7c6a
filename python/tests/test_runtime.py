"""sinter.load / sinter.compile through the C ABI, against numpy."""
import re

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import sinter

W = (np.arange(12, dtype=np.float32).reshape(3, 4) - 5) / 4


@pytest.fixture(scope="module")
def linear(tmp_path_factory):
    d = tmp_path_factory.mktemp("linear")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["y"], name="mm"),
         helper.make_node("Gather", ["table", "ids"], ["e"], name="emb")],
        "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3]),
         helper.make_tensor_value_info("ids", TensorProto.INT64, ["n"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4]),
         helper.make_tensor_value_info("e", TensorProto.FLOAT, ["n", 2])],
        [numpy_helper.from_array(W, "W"),
         numpy_helper.from_array(np.arange(10, dtype=np.float32).reshape(5, 2), "table")])
    path = d / "linear.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return sinter.load(sinter.compile(path, d / "linear.so"))


def test_describes_inputs_and_outputs(linear):
    assert [s.name for s in linear.inputs] == ["x", "ids"]
    assert linear.inputs[0].shape == ("batch", 3)
    assert linear.outputs[1].dtype == np.float32


def test_matches_numpy(linear):
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    y, e = linear(x, ids=np.array([4, 0, -1]))
    np.testing.assert_allclose(y, x @ W, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(e, np.arange(10, dtype=np.float32).reshape(5, 2)[[4, 0, -1]])


def test_errors_carry_the_abi_message(linear):
    with pytest.raises(sinter.SinterError, match="SINTER_ERR_SHAPE.*'x'"):
        linear(np.zeros((2, 4), np.float32), np.array([0]))
    with pytest.raises(sinter.SinterError, match="SINTER_ERR_DTYPE.*'ids'"):
        linear(np.zeros((2, 3), np.float32), np.array([0], np.int32))
    with pytest.raises(sinter.SinterError, match="SINTER_ERR_CHECK.*'emb'.*index out of range"):
        linear(np.zeros((2, 3), np.float32), np.array([7]))
    with pytest.raises(TypeError, match="missing input 'ids'"):
        linear(np.zeros((2, 3), np.float32))


def test_compile_errors_are_raised(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(RuntimeError, match="not a valid ONNX model"):
        sinter.compile(bad, tmp_path / "bad.so")


def test_parallel_loops_match_one_thread_and_pytorch(tmp_path, monkeypatch):
    """The elementwise, normalization and softmax loops run on the thread
    pool (sinter-parallel-loops-to-runtime): the logits of a GPT-2-shaped
    model are bitwise the same with 1, 3 and 6 threads, and match PyTorch."""
    import torch
    from sinter import testmodels
    model = testmodels.build("gpt2", seed=4, d=96, heads=4, layers=2, ctx=128)
    testmodels.export(model, tmp_path / "gpt2.onnx", ctx=128)
    ir = open(sinter.compile(tmp_path / "gpt2.onnx", tmp_path / "gpt2.mlir", emit="llvm")).read()
    assert ir.count("llvm.call @__sinter_parallel_for") >= 10
    # Up to six threads even on two cores: workers then often start late,
    # which the pool must tolerate (a late worker joins a later job).
    monkeypatch.setenv("SINTER_NUM_THREADS", "6")
    m = sinter.load(sinter.compile(tmp_path / "gpt2.onnx", tmp_path / "gpt2.so"))
    rng = np.random.default_rng(0)
    for length in (120, 1, 77, 128, 9):
        ids = rng.integers(0, 256, (1, length))
        m.set_num_threads(1)
        one = m(ids)
        for threads in (3, 6):
            assert m.set_num_threads(threads) == threads
            np.testing.assert_array_equal(one, m(ids))
        with torch.no_grad():
            ref = model(torch.from_numpy(ids)).numpy()
        np.testing.assert_allclose(one, ref, rtol=1e-4, atol=1e-4)


def test_outputs_are_handed_over_and_recycled(tmp_path):
    """An output is the runtime's own buffer, not a copy: numpy points at it
    (64-byte aligned, as allocated, and writable), and once the array dies
    free_output returns it to the buffer cache, so the next run gets the
    same block."""
    w = np.random.default_rng(0).standard_normal((64, 128)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["y"], name="mm")], "mm",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 128])], [numpy_helper.from_array(w, "W")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "mm.onnx")
    m = sinter.load(sinter.compile(tmp_path / "mm.onnx", tmp_path / "mm.so"), threads=1)
    x = np.random.default_rng(1).standard_normal((256, 64)).astype(np.float32)
    out = m(x)  # 128 KiB: a size the cache keeps
    first = out.ctypes.data
    assert first % 64 == 0 and out.flags.writeable
    np.testing.assert_allclose(out, x @ w, rtol=1e-5, atol=1e-4)
    del out
    again = m(x)
    assert again.ctypes.data == first
    view = again[:2]
    expected = again[:2].copy()
    del again  # the view keeps the buffer
    np.testing.assert_array_equal(view, expected)


def test_weights_object_symbols_are_hidden(tmp_path):
    """Weights of at least 64 KiB reach a shared library through an object
    of their own (not LLVM IR): read-only, local to the library, and the
    model computes the same as its .o-free twin would (checked against
    PyTorch)."""
    import subprocess
    import torch
    from sinter import testmodels
    model = testmodels.build("gpt2", seed=2, d=96, heads=4, layers=1, ctx=64)
    testmodels.export(model, tmp_path / "gpt2.onnx", ctx=64)
    so = sinter.compile(tmp_path / "gpt2.onnx", tmp_path / "gpt2.so")
    symbols = subprocess.run(["nm", str(so)], capture_output=True, text=True, check=True).stdout
    packed = [line.split() for line in symbols.splitlines() if re.search(r"__constant.*_packed\d+$", line)]
    assert packed and all(kind == "r" for _, kind, _ in packed)
    exported = subprocess.run(["nm", "-D", "--defined-only", str(so)], capture_output=True, text=True,
                              check=True).stdout
    assert not re.search(r"__constant.*_packed", exported)
    ids = np.random.default_rng(1).integers(0, 256, (1, 40))
    with torch.no_grad():
        ref = model(torch.from_numpy(ids)).numpy()
    np.testing.assert_allclose(sinter.load(so)(ids), ref, rtol=1e-4, atol=1e-4)
