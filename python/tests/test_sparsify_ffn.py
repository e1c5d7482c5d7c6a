"""sinter-sparsify-ffn end to end on small GPT2 (GELU) and Llama (SwiGLU)
models: the attribution profile from sinter.attribution, the compiler's own
calibration statistics against it, and the compiled sparse model against
the PyTorch model with the same neurons masked out."""
import json

import numpy as np
import pytest
import torch

import sinter
from sinter import attribution, corpora, testmodels

CTX = 32
RTOL = 1e-5


def build(tmp_path, arch):
    config = dict(d=32, heads=2, layers=2, ctx=CTX)
    if arch == "llama":
        config["ff"] = 48
    model = testmodels.build(arch, seed=1, **config).eval()
    path = tmp_path / f"{arch}.onnx"
    testmodels.export(model, str(path), ctx=CTX)
    calib = tmp_path / "calib.txt"
    calib.write_bytes(corpora.split("kjv-train")[:4096])
    return model, path, calib


def kept(scores, sparsity):
    """The reference selection: the round((1 - p)·h) highest float32 scores,
    ties to the lower index."""
    s = np.asarray(scores, dtype=np.float32).astype(np.float64)
    k = max(1, int(np.floor((1 - sparsity) * len(s) + 0.5)))
    return np.sort(np.argsort(-s, kind="stable")[:k])


def masked(model, masks):
    """The model with h zeroed outside each layer's kept neurons."""
    handles = []
    for ffn in testmodels.ffn_layers(model):
        keep = torch.zeros(ffn.down.in_features, dtype=torch.bool)
        keep[torch.from_numpy(masks[ffn.name])] = True
        handles.append(ffn.down.register_forward_pre_hook(lambda m, a, keep=keep: (a[0] * keep,)))
    return handles


@pytest.mark.parametrize("arch", ["gpt2", "llama"])
def test_calibration_statistics_match_pytorch(tmp_path, arch):
    model, path, calib = build(tmp_path, arch)
    mine = tmp_path / "profile.json"
    sinter.compile(path, tmp_path / "d.so", calibration=calib, calibration_tokens=2048,
                   calibration_window=CTX, save_profile=mine)
    c = json.loads(mine.read_text())
    ids = attribution.windows(calib.read_bytes(), 2048, CTX)
    p = attribution.attribution_profile(model, ids, str(calib))
    assert [l["name"] for l in c["layers"]] == [l["name"] for l in p["layers"]]
    for lc, lp in zip(c["layers"], p["layers"]):
        assert lc["gated"] if arch == "llama" else "gated" not in lc
        assert lc["activation"] == lp["activation"] and lc["samples"] == lp["samples"] == 2048
        for key in ("mean", "quantiles", "magnitude", "magnitude_quantiles", "inputs"):
            want = np.asarray(lp[key])
            np.testing.assert_allclose(lc[key], want, rtol=0, atol=1e-5 * np.abs(want).max(), err_msg=key)


@pytest.mark.parametrize("arch,score,sparsity", [("gpt2", "attribution", 0.75), ("gpt2", "magnitude", 0.5),
                                                  ("llama", "attribution", 0.5), ("llama", "magnitude", 0.8)])
def test_compiled_matches_masked_pytorch(tmp_path, arch, score, sparsity):
    model, path, calib = build(tmp_path, arch)
    profile_path, report_path = tmp_path / "attribution.json", tmp_path / "report.json"
    profile = attribution.attribution_profile(model, attribution.windows(calib.read_bytes(), 2048, CTX), "calib")
    profile_path.write_text(json.dumps(profile))
    so = tmp_path / f"sparse_{score}.so"
    sinter.compile(path, so, profile=profile_path, report=report_path,
                   compress=f"sparsify-ffn:sparsity={sparsity},score={score}")
    report = json.loads(report_path.read_text())
    key = "score" if score == "attribution" else "magnitude"
    masks = {l["name"]: kept(l[key], sparsity) for l in profile["layers"]}
    for entry, layer in zip(report["compression"], profile["layers"]):
        assert entry["layer"] == layer["name"] and entry["score"] == score
        assert entry["kept_neurons"] == len(masks[layer["name"]]) < layer["neurons"]
        assert entry["gated"] == (arch == "llama") and entry["bytes_after"] < entry["bytes_before"]
    assert report["weight_bytes_compiled"] < report["weight_bytes"]

    ids = np.frombuffer(corpora.split("kjv-heldout")[:2 * CTX], dtype=np.uint8).astype(np.int64).reshape(2, CTX)
    handles = masked(model, masks)
    try:
        with torch.no_grad():
            want = model(torch.from_numpy(ids)).numpy().astype(np.float64)
    finally:
        for h in handles:
            h.remove()
    with torch.no_grad():
        dense = model(torch.from_numpy(ids)).numpy()
    compiled = sinter.load(so, threads=2)
    for batch in (ids, ids[:1, :1]):  # prefill and one token
        got = compiled(batch)
        scale = np.abs(want[: len(batch), : batch.shape[1]]).max()
        err = np.abs(got - want[: len(batch), : batch.shape[1]]).max() / scale
        assert err < RTOL, f"{batch.shape}: max error {err:.2e} of the output scale"
    # The mask matters: the sparse model is not the dense one.
    assert np.abs(compiled(ids) - dense).max() > 1e-3 * np.abs(dense).max()


def test_auto_takes_magnitude_from_calibration_alone(tmp_path):
    _, path, calib = build(tmp_path, "llama")
    report_path = tmp_path / "report.json"
    sinter.compile(path, tmp_path / "s.so", calibration=calib, calibration_tokens=1024, calibration_window=CTX,
                   compress="sparsify-ffn:sparsity=0.5", report=report_path)
    entries = json.loads(report_path.read_text())["compression"]
    assert len(entries) == 2 and all(e["score"] == "magnitude" and e["kept_neurons"] == 24 for e in entries)
    with pytest.raises(RuntimeError, match="no attribution scores"):
        sinter.compile(path, tmp_path / "s.so", calibration=calib, calibration_tokens=1024, calibration_window=CTX,
                       compress="sparsify-ffn:score=attribution")
    with pytest.raises(RuntimeError, match="sparsity must be in"):
        sinter.compile(path, tmp_path / "s.so", calibration=calib, calibration_tokens=1024, calibration_window=CTX,
                       compress="sparsify-ffn:sparsity=1.5")


def test_attribution_cli(tmp_path):
    _, _, calib = build(tmp_path, "gpt2")
    model = testmodels.build("gpt2", seed=1, d=32, heads=2, layers=2, ctx=CTX)
    ckpt = tmp_path / "model.pt"
    torch.save({"arch": "gpt2", "config": dict(d=32, heads=2, layers=2, ctx=CTX), "state_dict": model.state_dict()},
               ckpt)
    out = tmp_path / "p.json"
    assert attribution.main(["--model", str(ckpt), "--text", str(calib), "--tokens", "256", "--window", "32",
                             "--out", str(out)]) == 0
    p = json.loads(out.read_text())
    assert p["tokens"] == 256 and p["score_method"].startswith("attribution")
    assert [l["name"] for l in p["layers"]] == ["/blocks.0/fc/MatMul", "/blocks.1/fc/MatMul"]
    assert attribution.main(["--model", str(tmp_path / "missing.pt"), "--text", str(calib),
                             "--out", str(out)]) == 1
