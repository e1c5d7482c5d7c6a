"""BinaryMoS end to end (METHODS.md §1, docs/compression.md): the packed
layout, one compiled sinter.bnn::MoSLinear layer against a float64 numpy
reference of the formula, whole distilled-style models (experts that
differ, a trained-looking router) against PyTorch, the post-training
--compress=binary-mos against the same formula with the paper's rank-1 SVD
initialisation, and the distillation trainer on a tiny teacher."""
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn as nn

import sinter
from sinter import binary_mos, testmodels

CTX = 32
# Whole models: fp32 sums through several binary layers, attention and
# norms; bounded relative to the largest logit.
MODEL_RTOL = 1e-4
# One layer: the kernel's fp32 masked sums against float64.
LAYER_RTOL = 1e-5


def assert_close_rows(got, want, rtol):
    """|got − want| ≤ rtol · max|want| over each row's last dimension."""
    want = np.asarray(want, dtype=np.float64)
    scale = np.abs(want).max(axis=-1, keepdims=True)
    err = np.abs(got - want)
    assert (err <= rtol * scale + 1e-30).all(), f"max error {err.max()} against row scale {scale.min()}"


def test_packed_layout_round_trips_and_zero_pads():
    w = np.random.default_rng(0).normal(size=(13, 5)).astype(np.float32)
    w[3, 2] = 0.0  # zero counts as +1
    bits = binary_mos.pack_signs(w)
    assert bits.dtype == np.int8 and bits.shape == (5, 2)
    signs = binary_mos.unpack_signs(bits, 13)
    np.testing.assert_array_equal(signs, np.where(w >= 0, 1.0, -1.0))
    assert not (bits.view(np.uint8)[:, 1] >> 5).any(), "bits past K must be zero"
    # bit k%8 of byte k//8 of row n
    assert (bits.view(np.uint8)[1, 0] >> 4 & 1) == (w[4, 1] >= 0)


class OneLayer(nn.Module):
    """Embedding rows → one BinaryMoS layer, so the layer's input is known."""

    def __init__(self, k, n, experts, bias):
        super().__init__()
        self.emb = nn.Embedding(256, k)
        self.layer = binary_mos.MoSLinear(nn.Linear(k, n, bias=bias), experts)

    def forward(self, ids):
        return self.layer(self.emb(ids))


def distinct_experts(model, seed):
    """Scales that differ per expert and a router that routes: what
    distillation produces, so that mixing is exercised."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, binary_mos.MoSLinear):
            with torch.no_grad():
                m.scale_in.mul_(0.5 + torch.rand(m.scale_in.shape, generator=g))
                m.scale_out.mul_(0.5 + torch.rand(m.scale_out.shape, generator=g))
                m.router.copy_(torch.randn(m.router.shape, generator=g) / m.k ** 0.5 * 4)
    return model


def one_layer(tmp_path, k, n, experts, bias, half_scales=False, **compile_flags):
    """A OneLayer model, its compiled library, and rows ids with their x."""
    torch.manual_seed(k + n)
    model = distinct_experts(OneLayer(k, n, experts, bias), k).eval()
    path = tmp_path / "layer.onnx"
    binary_mos.export(model, str(path), ctx=CTX, half_scales=half_scales)
    compiled = sinter.load(sinter.compile(path, tmp_path / "layer.so", **compile_flags))
    ids = np.random.default_rng(1).integers(0, 256, (3, 11))
    return model, compiled, ids, model.emb.weight.detach().numpy()[ids]


def layer_tables(layer, half=False):
    """bits, scale_in, scale_out, router, bias; with `half`, the tables
    hold the float16 values the exporter stores."""
    table = (lambda t: t.detach().numpy().astype(np.float16).astype(np.float32)) if half else \
        (lambda t: t.detach().numpy())
    return (layer.packed().numpy(), table(layer.scale_in), table(layer.scale_out), table(layer.router),
            None if layer.bias is None else layer.bias.detach().numpy())


@pytest.mark.parametrize("k,n,experts,bias", [(200, 37, 4, True), (64, 96, 1, False), (77, 20, 3, True)])
def test_compiled_layer_matches_numpy_reference(tmp_path, k, n, experts, bias):
    model, compiled, ids, x = one_layer(tmp_path, k, n, experts, bias)
    want = binary_mos.mos_linear_reference(x, *layer_tables(model.layer), k)
    assert_close_rows(compiled(ids), want, LAYER_RTOL)
    # and the trainable layer's own forward computes the same formula
    with torch.no_grad():
        assert_close_rows(model(torch.from_numpy(ids)).numpy(), want, LAYER_RTOL)


def test_float16_tables_match_numpy_reference(tmp_path):
    """An ONNX file storing scales and router as float16 (export's
    half_scales) compiles to the same formula on those halves' values."""
    k, n = 200, 37
    model, compiled, ids, x = one_layer(tmp_path, k, n, 4, True, half_scales=True)
    want = binary_mos.mos_linear_reference(x, *layer_tables(model.layer, half=True), k)
    assert_close_rows(compiled(ids), want, LAYER_RTOL)
    exact = binary_mos.mos_linear_reference(x, *layer_tables(model.layer), k)
    assert np.abs(want - exact).max() > 1e-4 * np.abs(exact).max(), "halves should round some scales"


def test_int8_activations_stay_within_their_rounding_bound(tmp_path):
    k, n = 300, 50
    model, compiled, ids, x = one_layer(tmp_path, k, n, 4, True, compress="binary-mos:activations=int8")
    bits, s_in, s_out, router, bias = layer_tables(model.layer)
    want = binary_mos.mos_linear_reference(x, bits, s_in, s_out, router, bias, k)
    # per row: |x'| max and the mixed s_out, as the reference mixes them
    logits = x.astype(np.float64) @ router
    g = np.exp(logits - logits.max(-1, keepdims=True))
    g /= g.sum(-1, keepdims=True)
    top = np.abs(x * (g @ s_in)).max(-1, keepdims=True)
    bound = k * top / 254 * np.abs(g @ s_out)
    err = np.abs(compiled(ids) - want)
    assert (err <= bound + 1e-5 * np.abs(want).max()).all()
    assert 0 < err.max(), "int8 activations should differ from fp32 somewhere"
    # rounding errors are independent: the typical error is ~√K smaller than the bound
    assert np.sqrt((err ** 2).mean()) < 4 / np.sqrt(k) * np.sqrt((bound ** 2).mean())


def small(arch):
    config = dict(d=32, heads=2, layers=2, ctx=CTX)
    if arch == "llama":
        config["ff"] = 48
    return testmodels.build(arch, seed=2, **config).eval()


@pytest.mark.parametrize("arch", ["gpt2", "opt", "llama"])
def test_compiled_mos_model_matches_pytorch(tmp_path, arch):
    torch.manual_seed(0)
    model = distinct_experts(binary_mos.binarize(small(arch), 4), 5).eval()
    path = tmp_path / "mos.onnx"
    binary_mos.export(model, str(path), ctx=CTX)
    compiled = sinter.load(sinter.compile(path, tmp_path / "mos.so"))
    for shape in ((2, 17), (1, 1)):  # prefill and one decode token
        ids = np.random.default_rng(shape[1]).integers(0, 256, shape)
        with torch.no_grad():
            want = model(torch.from_numpy(ids)).numpy()
        assert_close_rows(compiled(ids), want, MODEL_RTOL)


@pytest.mark.parametrize("arch,experts,scales", [("gpt2", 1, "f32"), ("llama", 3, "f32"), ("gpt2", 4, "f16"),
                                                ("llama", 2, "f16")])
def test_post_training_binarization_matches_reference(tmp_path, arch, experts, scales):
    fp32 = small(arch)
    path, report = tmp_path / "fp32.onnx", tmp_path / "report.json"
    testmodels.export(fp32, str(path), ctx=CTX)
    flags = f"binary-mos:experts={experts}" + (",scales=f32" if scales == "f32" else "")  # f16: the default
    compiled = sinter.load(sinter.compile(path, tmp_path / "bin.so", compress=flags, report=report))
    # The reference: the paper's initialisation, identical experts (numpy's
    # SVD) and a zero router, i.e. a single-scale binary layer; its scales
    # rounded to float16 as the compiler stores them by default.
    ref = binary_mos.binarize(small(arch), experts).eval()
    for m in ref.modules():
        if isinstance(m, binary_mos.MoSLinear):
            with torch.no_grad():
                m.router.zero_()
                if scales == "f16":
                    m.scale_in.copy_(m.scale_in.half().float())
                    m.scale_out.copy_(m.scale_out.half().float())
    ids = np.random.default_rng(3).integers(0, 256, (2, 13))
    with torch.no_grad():
        want = ref(torch.from_numpy(ids)).numpy()
    assert_close_rows(compiled(ids), want, MODEL_RTOL)

    entries = [e for e in json.loads(report.read_text())["compression"] if e["pass"] == "binary-mos"]
    linears = binary_mos.block_linears(fp32)
    assert len(entries) == len(linears) == (8 if arch == "gpt2" else 14)
    for e in entries:
        k, n = e["in_features"], e["out_features"]
        assert e["experts"] == experts and e["weight_bytes_before"] == 4 * k * n
        width = 2 if scales == "f16" else 4
        assert e["scales"] == scales
        assert e["weight_bytes_after"] == n * ((k + 7) // 8) + width * experts * (2 * k + n)
        assert 0 < e["relative_error"] < 1


def test_distillation_trainer_runs_and_learns(tmp_path):
    teacher = tmp_path / "teacher"
    teacher.mkdir()
    model = small("gpt2")
    torch.save({"arch": "gpt2", "config": dict(d=32, heads=2, layers=2, ctx=CTX), "state_dict": model.state_dict()},
               teacher / "model.pt")
    out = tmp_path / "student"
    r = subprocess.run([sys.executable, "-m", "sinter.distill", "--teacher", str(teacher), "--out", str(out),
                        "--experts", "2", "--steps", "40", "--batch", "4", "--heldout-bytes", "4096"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    log = json.loads((out / "train.json").read_text())["log"]
    assert log[-1]["kl_bits"] < log[0]["kl_bits"]
    # The checkpoint loads as a student, and its ONNX export compiles to the same function.
    student = testmodels.load(str(out / "model.pt"))
    compiled = sinter.load(sinter.compile(out / "model.onnx", tmp_path / "student.so"))
    ids = np.random.default_rng(4).integers(0, 256, (1, 9))
    with torch.no_grad():
        want = student(torch.from_numpy(ids)).numpy()
    assert_close_rows(compiled(ids), want, MODEL_RTOL)
