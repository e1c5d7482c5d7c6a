"""The gse dialect's compile-time quantizer (gse.quantize of a constant,
folded by sinter-opt) and dequantizer against the numpy reference
sinter.gse, bit for bit, over random rows at many magnitudes, zero groups,
spikes and partial groups, in several formats including OCP MX; and the
reference's integer GEMM against float64 matmul of the dequantized values."""
import re
import subprocess

import numpy as np
import pytest

from sinter import gse
from sinter.runtime import _tool


def rows(seed, shape):
    rng = np.random.default_rng(seed)
    scales = np.ldexp(1.0, rng.integers(-20, 21, shape[:-1] + (1,)))
    x = (rng.standard_normal(shape) * scales).astype(np.float32)
    x[1, :40] = 0  # a zero group (and part of the next)
    x[2, 7] *= 1000  # a spike
    return x


def mlir_floats(x):
    return "[" + ", ".join(mlir_floats(r) if r.ndim else format(float(r), ".9e") for r in x) + "]"


def fold(x, fmt):
    """sinter-opt's folded (mantissas, exponents, dequantized) of x."""
    group, mantissa, exponent = fmt
    shape = "x".join(map(str, x.shape))
    gtype = f"!gse.tensor<{shape}, #gse.format<group = {group}, mantissa = {mantissa}, exponent = {exponent}>>"
    src = f"""
func.func @q() -> {gtype} {{
  %w = arith.constant dense<{mlir_floats(x)}> : tensor<{shape}xf32>
  %q = gse.quantize %w : tensor<{shape}xf32> -> {gtype}
  return %q : {gtype}
}}
func.func @d() -> tensor<{shape}xf32> {{
  %w = arith.constant dense<{mlir_floats(x)}> : tensor<{shape}xf32>
  %q = gse.quantize %w : tensor<{shape}xf32> -> {gtype}
  %d = gse.dequantize %q : {gtype} -> tensor<{shape}xf32>
  return %d : tensor<{shape}xf32>
}}
"""
    out = subprocess.run([_tool("sinter-opt"), "-canonicalize", "-mlir-print-elementsattrs-with-hex-if-larger=-1"],
                         input=src, capture_output=True, text=True, check=True).stdout
    m = re.search(r"gse.constant dense<(.*?)> : tensor<[0-9x]+xi8>, dense<(.*?)> : tensor<[0-9x]+xi8>", out)
    assert m, out
    groups = -(-x.shape[-1] // group)
    q = np.array(eval(m.group(1)), np.int8).reshape(x.shape)
    e = np.array(eval(m.group(2)), np.int8).reshape(x.shape[:-1] + (groups,))
    return q, e, f32_constant(out).reshape(x.shape)


def f32_constant(out):
    """The f32 arith.constant in sinter-opt's output: dense, or a resource
    blob (hex: 4 bytes of alignment, then the data) from 256 bytes up."""
    dense = re.search(r"arith.constant dense<(.*?)> : tensor<[0-9x]+xf32>", out)
    if dense:
        return np.array(eval(dense.group(1)), np.float32)
    name = re.search(r"arith.constant dense_resource<(\w+)> : tensor<[0-9x]+xf32>", out).group(1)
    blob = re.search(name + r': "0x([0-9A-F]+)"', out).group(1)
    return np.frombuffer(bytes.fromhex(blob)[4:], np.float32)


@pytest.mark.parametrize("fmt", [(32, 8, 5), (32, 4, 5), (32, 6, 5), (32, 8, 8), (16, 5, 4), (7, 3, 3)])
def test_compile_time_quantizer_matches_numpy(fmt):
    x = rows(sum(fmt), (4, 50))  # two groups of 32 per row: one whole, one partial
    q, e, d = fold(x, fmt)
    want_q, want_e = gse.quantize(x, *fmt)
    np.testing.assert_array_equal(e, want_e)
    np.testing.assert_array_equal(q, want_q)
    np.testing.assert_array_equal(d, gse.dequantize(want_q, want_e, fmt[0]))


def test_reference_gemm_equals_float_matmul_of_dequantized():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 5, 70)).astype(np.float32), rng.standard_normal((9, 70)).astype(np.float32)
    qa, ea = gse.quantize(a, 32, 8, 5)
    for bits in (4, 8):
        qb, eb = gse.quantize(b, 32, bits, 5)
        want = gse.dequantize(qa, ea).astype(np.float64) @ gse.dequantize(qb, eb).astype(np.float64).T
        np.testing.assert_allclose(gse.matmul(qa, ea, qb, eb), want, rtol=1e-12, atol=1e-12)
    # and w8a8 is close to the fp32 product: the format's error, not a bug
    exact = a.astype(np.float64) @ b.astype(np.float64).T
    assert np.abs(want - exact).max() < 0.02 * np.abs(exact).max()


def linear_model(path, k, n, seed, rows="rows"):
    """ONNX y = x·W + b with x [rows, k] (and the W, b it holds)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(seed)
    w = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
    w[:, 3] *= 50  # an output column of larger weights: its groups get larger exponents
    b = rng.standard_normal(n).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["xw"], name="proj"), helper.make_node("Add", ["xw", "b"], ["y"])],
        "linear", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [rows, k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [rows, n])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return w, b


@pytest.mark.parametrize("w_bits,a_bits,group,exponent,k,n", [
    (8, 8, 32, 5, 96, 40), (4, 8, 32, 5, 100, 33), (6, 8, 32, 5, 64, 16), (8, 8, 32, 8, 70, 20),
    (8, 6, 16, 5, 48, 17), (5, 7, 7, 4, 30, 9)])
def test_compiled_gse_linear_matches_numpy(tmp_path, w_bits, a_bits, group, exponent, k, n):
    """A model compiled with --compress=gse against sinter.gse's integer GEMM
    on the same quantized operands: equal to float32 rounding of the sum."""
    import sinter
    w, b = linear_model(str(tmp_path / "m.onnx"), k, n, k + n)
    flags = f"gse:w={w_bits},a={a_bits},group={group},exponent={exponent}"
    report = tmp_path / "r.json"
    so = sinter.compile(tmp_path / "m.onnx", tmp_path / "m.so", compress=flags, report=report)
    x = np.random.default_rng(1).standard_normal((21, k)).astype(np.float32)
    x[4] *= 1e-3
    x[5, :group] = 0  # a zero group
    got = sinter.load(so)(x)
    qa, ea = gse.quantize(x, group, a_bits, exponent)
    qw, ew = gse.quantize(w.T, group, w_bits, exponent)
    want = gse.matmul(qa, ea, qw, ew, group) + b
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=2e-6 * np.abs(want).max())
    import json
    (entry,) = [e for e in json.loads(report.read_text())["compression"] if e["pass"] == "gse"]
    groups = -(-k // group)
    mantissa_bytes = (n * k + 1) // 2 if w_bits <= 4 else n * k  # nibbles for 4 bits and fewer
    assert entry["weight_bytes_before"] == 4 * k * n
    assert entry["weight_bytes_after"] == mantissa_bytes + n * groups
    assert 0 < entry["relative_error"] < 0.5 ** (w_bits - 2)


def embedding_model(path, rows, width, seed):
    """ONNX y = table[ids] (a token embedding) with ids int64 [batch, seq]."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    table = rows_of_magnitudes(seed, rows, width)
    graph = helper.make_graph(
        [helper.make_node("Gather", ["table", "ids"], ["y"], name="wte")],
        "embedding", [helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "seq", width])],
        [numpy_helper.from_array(table, "table")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return table


def rows_of_magnitudes(seed, rows, width):
    rng = np.random.default_rng(seed)
    table = (rng.standard_normal((rows, width)) * np.ldexp(1.0, rng.integers(-12, 4, (rows, 1)))).astype(np.float32)
    table[1] = 0  # an all-zero row
    return table


@pytest.mark.parametrize("bits,group,exponent,width", [(8, 32, 5, 70), (4, 32, 5, 33), (6, 16, 8, 40)])
def test_compiled_gse_embedding_matches_numpy(tmp_path, bits, group, exponent, width):
    """--compress=gse stores an embedding table quantized (gse.gather, with
    `embeddings` mantissa bits): the rows the object returns are
    sinter.gse's dequantized rows bit for bit, negative ids count from the
    end, ids out of range are an error naming the node, and embeddings=0
    keeps the table f32."""
    import json
    import sinter
    table = embedding_model(str(tmp_path / "m.onnx"), 11, width, width)
    report = tmp_path / "r.json"
    flags = f"gse:w=4,group={group},exponent={exponent},embeddings={bits}"
    m = sinter.load(sinter.compile(tmp_path / "m.onnx", tmp_path / "m.so", compress=flags, report=report))
    ids = np.array([[0, 1, 10, 3], [-1, -11, 5, 5]], dtype=np.int64)
    q, e = gse.quantize(table, group, bits, exponent)
    np.testing.assert_array_equal(m(ids), gse.dequantize(q, e, group)[ids])
    with pytest.raises(RuntimeError, match=r"node 'wte' \(Gather\): index out of range"):
        m(np.array([[11]], dtype=np.int64))
    (entry,) = [e for e in json.loads(report.read_text())["compression"] if e["pass"] == "gse"]
    mantissa_bytes = (11 * width + 1) // 2 if bits <= 4 else 11 * width
    assert (entry["kind"], entry["layer"], entry["rows"], entry["width"]) == ("embedding", "wte", 11, width)
    assert entry["weight_bytes_after"] == mantissa_bytes + 11 * -(-width // group)
    assert json.loads(report.read_text())["weight_bytes_compiled"] == entry["weight_bytes_after"]
    kept = tmp_path / "kept.json"
    f32 = sinter.load(sinter.compile(tmp_path / "m.onnx", tmp_path / "kept.so", compress=flags.replace(f"embeddings={bits}", "embeddings=0"),
                                     report=kept))
    np.testing.assert_array_equal(f32(ids), table[ids])
    assert json.loads(kept.read_text())["weight_bytes_compiled"] == table.nbytes
