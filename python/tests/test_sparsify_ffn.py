"""sinter-sparsify-ffn end to end on small GPT2 (GELU) and Llama (SwiGLU)
models: the attribution profile from sinter.attribution, the compiler's own
calibration statistics against it, and the compiled sparse model against
the PyTorch model with the same neurons masked out."""
import json

import numpy as np
import pytest
import torch

import sinter
from sinter import attribution, corpora, sparsity, testmodels
from sinter import eval as sinter_eval

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


def numpy_weights(model):
    t = lambda p: p.detach().numpy().astype(np.float64)  # noqa: E731
    w = dict(emb=t(model.emb.weight), wu=t(model.up.weight).T, bu=t(model.up.bias), wd=t(model.down.weight).T,
             bd=t(model.down.bias))
    if model.gate is not None:
        w.update(wg=t(model.gate.weight).T, bg=t(model.gate.bias))
    return w


@pytest.mark.parametrize("gated", [False, True])
@pytest.mark.parametrize("score", ["attribution", "magnitude"])
def test_dynamic_kernel_matches_numpy(tmp_path, gated, score):
    torch.manual_seed(2)
    model = testmodels.FFNOnly(24, 64, gated).eval()
    path = tmp_path / "ffn.onnx"
    torch.onnx.export(model, (torch.randint(0, 256, (1, 8)),), str(path), input_names=["input_ids"],
                      output_names=["y"], dynamic_axes={"input_ids": {0: "batch", 1: "seq"}}, opset_version=17)
    (tmp_path / "calib.txt").write_bytes(corpora.split("kjv-train")[:4096])
    profile_path = tmp_path / "profile.json"
    sinter.compile(path, tmp_path / "d.so", calibration=tmp_path / "calib.txt", calibration_tokens=2048,
                   calibration_window=CTX, save_profile=profile_path)
    profile = json.loads(profile_path.read_text())
    (layer,) = profile["layers"]
    assert layer["gated"] if gated else "gated" not in layer
    # Any predictor will do: the kernel must follow it, however it was made.
    rng = np.random.default_rng(0)
    a, b, c = rng.normal(size=(24, 5)), rng.normal(size=(5, 64)), rng.normal(size=64)
    layer["predictor"] = {"rank": 5, "input_width": 24, "in": a.ravel().tolist(), "out": b.ravel().tolist(),
                          "bias": c.tolist()}
    profile_path.write_text(json.dumps(profile))
    w = numpy_weights(model)
    text = np.frombuffer(corpora.split("kjv-heldout")[:4 * CTX], dtype=np.uint8).astype(np.int64)
    # GELU's |h| piles up just under its minimum, 0.17, where the 0.7-quantile
    # falls: the threshold case takes 0.5.
    level = 0.7 if score == "attribution" else 0.5
    # The cost model's dense switch, and gathers for every batch.
    for rows_opt in ("", ",dense-rows=100000"):
        so, report = tmp_path / f"dyn{rows_opt[-3:]}.so", tmp_path / "report.json"
        sinter.compile(path, so, profile=profile_path, report=report,
                       compress=f"sparsify-ffn:mode=dynamic,sparsity={level},score={score}{rows_opt}")
        (entry,) = json.loads(report.read_text())["compression"]
        assert entry["mode"] == "dynamic" and entry["score"] == score
        assert entry["selection"] == ("predictor" if score == "attribution" else "threshold")
        predictor = (a.astype(np.float32).astype(np.float64), b.astype(np.float32).astype(np.float64),
                     c.astype(np.float32).astype(np.float64)) if score == "attribution" else None
        compiled = sinter.load(so, threads=2)
        for ids in [text.reshape(4, CTX), text[:3].reshape(1, 3)] + [text[i:i + 1].reshape(1, 1) for i in range(8)]:
            got = compiled(ids).reshape(-1, 24).astype(np.float64)
            want, ambiguous = sparsity.sparse_ffn(w["emb"][ids.ravel()], w["wu"], w["bu"], w["wd"], w["bd"],
                                                  "silu" if gated else "gelu", w.get("wg"), w.get("bg"), predictor,
                                                  entry["kept_neurons"], entry.get("threshold", 0.0),
                                                  margin=1e-4 if predictor is not None else 1e-5)
            assert ambiguous.mean() < 0.1
            err = np.abs(got - want)[~ambiguous].max() / np.abs(want).max()
            assert err < RTOL, f"{ids.shape} {rows_opt}: max error {err:.2e} of the output scale"
        # Sparse is not dense: the choice changes the output.
        with torch.no_grad():
            dense = model(torch.from_numpy(text.reshape(4, CTX))).numpy()
        assert np.abs(compiled(text.reshape(4, CTX)) - dense).max() > 1e-3 * np.abs(dense).max()


def dynamic_hooks(model, profile, sparsity):
    """Per-token selection in PyTorch, as nn.sparse_ffn makes it."""
    handles = []
    layers = {l["name"]: l for l in profile["layers"]}
    for ffn in testmodels.ffn_layers(model):
        layer, seen = layers[ffn.name], {}
        handles.append(ffn.up.register_forward_pre_hook(lambda m, a, seen=seen: seen.update(x=a[0])))
        pr = layer["predictor"]
        a = torch.tensor(pr["in"]).reshape(pr["input_width"], pr["rank"])
        b = torch.tensor(pr["out"]).reshape(pr["rank"], -1)
        c = torch.tensor(pr["bias"])
        k = max(1, int(np.floor((1 - sparsity) * b.shape[1] + 0.5)))

        def mask(m, args, seen=seen, a=a, b=b, c=c, k=k):
            logits = seen["x"] @ a @ b + c
            keep = torch.zeros_like(logits, dtype=torch.bool).scatter_(-1, logits.topk(k, dim=-1).indices, True)
            return (args[0] * keep,)
        handles.append(ffn.down.register_forward_pre_hook(mask))
    return handles


def test_dynamic_llama_matches_pytorch(tmp_path):
    model, path, calib = build(tmp_path, "llama")
    profile = attribution.attribution_profile(model, attribution.windows(calib.read_bytes(), 2048, CTX), "calib",
                                              predictor_rank=4, epochs=2)
    assert all(0 <= l["predictor"]["recall"] <= 1 for l in profile["layers"])
    profile_path = tmp_path / "p.json"
    profile_path.write_text(json.dumps(profile))
    so, report = tmp_path / "dyn.so", tmp_path / "report.json"
    sinter.compile(path, so, profile=profile_path, report=report,
                   compress="sparsify-ffn:mode=dynamic,sparsity=0.75")
    entries = json.loads(report.read_text())["compression"]
    assert [e["score"] for e in entries] == ["attribution"] * 2 and entries[0]["kept_neurons"] == 12
    ids = np.frombuffer(corpora.split("kjv-heldout")[:2 * CTX], dtype=np.uint8).astype(np.int64).reshape(2, CTX)
    handles = dynamic_hooks(model, profile, 0.75)
    try:
        with torch.no_grad():
            want = model(torch.from_numpy(ids)).numpy()
    finally:
        for h in handles:
            h.remove()
    got = sinter.load(so, threads=2)(ids)
    # A near-tie in one token's choice moves that token and, through
    # attention, later ones; nearly all rows must still agree closely.
    close = np.abs(got - want).max(axis=-1) < 1e-4 * np.abs(want).max()
    assert close.mean() > 0.9, f"only {close.mean():.0%} of rows agree"


def test_oracle_keeps_the_dense_model_at_zero_sparsity():
    model = testmodels.build("gpt2", seed=1, d=32, heads=2, layers=2, ctx=CTX).eval()
    text = corpora.split("kjv-heldout")[:4 * CTX + 1]
    dense = sinter_eval.bits_per_byte(lambda ids: model(torch.from_numpy(ids)).detach().numpy(), text, CTX)[0]
    for kind in ("attribution", "magnitude"):
        assert abs(attribution.oracle_bits_per_byte(model, text, CTX, 0.0, kind) - dense) < 1e-6
        assert abs(attribution.oracle_bits_per_byte(model, text, CTX, 0.75, kind) - dense) > 1e-3
