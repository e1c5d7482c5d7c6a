"""Fused attention (sinter-fuse-attention → nn.attention → the runtime's
kernel) on exported models, against PyTorch."""
import numpy as np
import pytest

import sinter


@pytest.mark.parametrize("name,fused", [("gpt2", True), ("opt", True), ("llama", False)])
def test_exported_attention_matches_pytorch(tmp_path, name, fused):
    """GPT-2 (one QKV projection split three ways) and OPT (separate
    projections) fuse every layer's attention; Llama's rotary embedding
    sits between the projections and the heads, so it stays unfused. Each
    matches PyTorch at several lengths (1: decode; 7 and 45: rows past one
    32-query block; the full context), bitwise the same on 1 and 3
    threads."""
    import torch
    from sinter import testmodels
    model = testmodels.build(name, seed=3, d=64, heads=4, layers=2, ctx=64)
    onnx_path = tmp_path / f"{name}.onnx"
    testmodels.export(model, onnx_path, ctx=64)
    linalg = open(sinter.compile(onnx_path, tmp_path / f"{name}.mlir", emit="linalg")).read()
    assert linalg.count("call @__sinter_attention(") == (2 if fused else 0)
    if fused:
        assert "linalg.transpose" not in linalg
    m = sinter.load(sinter.compile(onnx_path, tmp_path / f"{name}.so"))
    rng = np.random.default_rng(0)
    for length in (1, 7, 45, 64):
        ids = rng.integers(0, 256, (1, length))
        m.set_num_threads(1)
        one = m(ids)
        m.set_num_threads(3)
        np.testing.assert_array_equal(one, m(ids))
        with torch.no_grad():
            ref = model(torch.from_numpy(ids)).numpy()
        np.testing.assert_allclose(one, ref, rtol=1e-4, atol=1e-4)
