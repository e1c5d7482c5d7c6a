"""sinter-linearize-ffn end to end: calibrate a small byte-level FFN model,
compile it linearized, and hold the compiled output to the numpy reference
of the same method on the same profile (python/sinter/linearize.py)."""
import json

import numpy as np
import onnx
import pytest
import torch
from onnx import numpy_helper

import sinter
from sinter import corpora, linearize

D, H, CTX = 16, 64, 32
RTOL = 1e-5


class FFNModel(torch.nn.Module):
    def __init__(self, act, up_bias=0.0):
        super().__init__()
        self.emb = torch.nn.Embedding(256, D)
        self.up = torch.nn.Linear(D, H)
        self.act = act
        self.down = torch.nn.Linear(H, D)
        with torch.no_grad():
            self.up.bias.add_(up_bias)

    def forward(self, ids):
        return self.down(self.act(self.up(self.emb(ids))))


def build(tmp_path, act, up_bias=0.0):
    torch.manual_seed(0)
    model = FFNModel(act, up_bias).eval()
    path = tmp_path / "ffn.onnx"
    torch.onnx.export(model, (torch.randint(0, 256, (1, 8)),), str(path), input_names=["input_ids"],
                      output_names=["y"], dynamic_axes={"input_ids": {0: "batch", 1: "seq"}},
                      opset_version=17, do_constant_folding=True)
    text = corpora.split("kjv-train")[:4096]
    (tmp_path / "calib.txt").write_bytes(text)
    return model, path


def weights(path):
    """Embedding, W_u, b_u, W_d, b_d by shape from the ONNX initializers."""
    by_shape = {tuple(t.dims): numpy_helper.to_array(t) for t in onnx.load(str(path)).graph.initializer}
    return by_shape[(256, D)], by_shape[(D, H)], by_shape[(H,)], by_shape[(H, D)], by_shape[(D,)]


def compile_linearized(tmp_path, path, spec):
    so, profile, report = tmp_path / "lin.so", tmp_path / "profile.json", tmp_path / "report.json"
    sinter.compile(path, so, calibration=tmp_path / "calib.txt", calibration_tokens=2048,
                   calibration_window=CTX, save_profile=profile, compress=spec, report=report)
    return sinter.load(so, threads=2), str(profile), json.loads(report.read_text())


@pytest.mark.parametrize("act,kind,spec", [
    (torch.nn.GELU(), "gelu", "linearize-ffn:coverage=0.8,exact=0.25,predictor-bits=2,linear-coverage=0.95"),
    (torch.nn.ReLU(), "relu", "linearize-ffn:coverage=0.9,exact=0.5,predictor-bits=3"),
])
def test_compiled_matches_numpy_reference(tmp_path, act, kind, spec):
    _, path = build(tmp_path, act)
    compiled, profile, report = compile_linearized(tmp_path, path, spec)
    opts = dict(kv.split("=") for kv in spec.split(":")[1].split(","))
    emb, wu, bu, wd, bd = weights(path)
    levels, layers = linearize.load_profile(profile)
    (layer,) = layers.values()
    ref = linearize.LinearizedFFN(wu, bu, wd, bd, layer, levels, kind, float(opts["coverage"]),
                                  float(opts["exact"]), int(opts["predictor-bits"]),
                                  float(opts.get("linear-coverage", 0)))
    (entry,) = report["compression"]
    assert entry["exact_neurons"] == len(ref.exact) > 0
    assert entry["neurons"] == H and entry["bytes_after"] < entry["bytes_before"]
    # The report's predictor figures, on the profile's sample inputs, are
    # what the reference computes on them.
    predicted, outside, recall, _ = ref.outlier_rates(layer["inputs"])
    assert entry["sample_rows"] == len(layer["inputs"]) == 256
    assert abs(entry["predicted_outlier_rate"] - predicted) < 0.005
    assert abs(entry["exact_outlier_rate"] - outside) < 0.005
    assert abs(entry["predictor_recall"] - recall) < 0.02

    # 128 rows take the kernel's GEMM predictor, 3 rows its per-row one, and
    # single tokens its split over neuron chunks.
    text = np.frombuffer(corpora.split("kjv-heldout")[:4 * CTX], dtype=np.uint8).astype(np.int64)
    for ids in [text.reshape(4, CTX), text[:3].reshape(1, 3)] + [text[i:i + 1].reshape(1, 1) for i in range(0, 64, 4)]:
        got = compiled(ids).reshape(-1, D).astype(np.float64)
        want, _, ambiguous = ref(emb[ids.ravel()])
        assert ambiguous.mean() < 0.05
        scale = np.abs(want).max()
        err = np.abs(got - want)[~ambiguous].max() / scale
        assert err < RTOL, f"{ids.shape}: max error {err:.2e} of the output scale"
    # The correction is exercised: some rows differ from the folded part alone.
    ids = text.reshape(4, CTX)
    folded = emb[ids.ravel()].astype(np.float64) @ ref.wf + ref.bf
    assert np.abs(compiled(ids).reshape(-1, D) - folded).max() > 1e-3 * np.abs(folded).max()


def test_relu_fold_is_exact_when_calibration_stays_positive(tmp_path):
    # Up biases of +8 keep every ReLU pre-activation positive on this text:
    # σ is the identity on the whole range, so the fold is exact.
    model, path = build(tmp_path, torch.nn.ReLU(), up_bias=8.0)
    compiled, profile, report = compile_linearized(tmp_path, path, "linearize-ffn:coverage=1.0,exact=0")
    _, layers = linearize.load_profile(profile)
    assert min(l["quantiles"].min() for l in layers.values()) > 0
    ids = np.frombuffer(corpora.split("kjv-heldout")[:2 * CTX], dtype=np.uint8).astype(np.int64).reshape(2, CTX)
    with torch.no_grad():
        want = model(torch.from_numpy(ids)).numpy()
    got = compiled(ids)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())
    assert report["compression"][0]["exact_neurons"] == 0


def test_compress_needs_calibration_and_a_known_method(tmp_path):
    _, path = build(tmp_path, torch.nn.GELU())
    with pytest.raises(RuntimeError, match="needs calibration statistics"):
        sinter.compile(path, tmp_path / "x.so", compress="linearize-ffn")
    with pytest.raises(RuntimeError, match="unknown method 'prune'"):
        sinter.compile(path, tmp_path / "x.so", compress="prune", profile=tmp_path / "p.json")
    with pytest.raises(RuntimeError, match="cannot read '.*missing.txt'"):
        sinter.compile(path, tmp_path / "x.so", calibration=tmp_path / "missing.txt", compress="linearize-ffn")
    with pytest.raises(RuntimeError, match="first output must be float logits"):
        sinter.compile(path, tmp_path / "x.so", eval_text=tmp_path / "calib.txt")
    with pytest.raises(RuntimeError, match="'coverage' is not key=value"):
        sinter.compile(path, tmp_path / "x.so", calibration=tmp_path / "calib.txt", compress="linearize-ffn:coverage")


def test_calibration_from_a_token_tensor_matches_text(tmp_path):
    _, path = build(tmp_path, torch.nn.GELU())
    text = (tmp_path / "calib.txt").read_bytes()[:1024]
    (tmp_path / "calib.txt").write_bytes(text)
    ids = np.frombuffer(text, dtype=np.uint8).astype(np.int64).reshape(-1, CTX)
    (tmp_path / "calib.pb").write_bytes(numpy_helper.from_array(ids).SerializeToString())
    profiles = []
    for source in ("calib.txt", "calib.pb"):
        profile = tmp_path / (source + ".json")
        sinter.compile(path, tmp_path / "d.so", calibration=tmp_path / source, calibration_window=CTX,
                       save_profile=profile)
        profiles.append(json.loads(profile.read_text()))
    assert profiles[0]["tokens"] == profiles[1]["tokens"] == len(text)
    np.testing.assert_array_equal(profiles[0]["layers"][0]["quantiles"], profiles[1]["layers"][0]["quantiles"])
    (tmp_path / "bad.pb").write_bytes(numpy_helper.from_array(ids.astype(np.float32)).SerializeToString())
    with pytest.raises(RuntimeError, match="token ids must be an int64 tensor"):
        sinter.compile(path, tmp_path / "d.so", calibration=tmp_path / "bad.pb", save_profile=tmp_path / "p.json")
    (tmp_path / "junk.pb").write_bytes(b"\xff" * 10)
    with pytest.raises(RuntimeError, match="not a serialized ONNX TensorProto"):
        sinter.compile(path, tmp_path / "d.so", calibration=tmp_path / "junk.pb", save_profile=tmp_path / "p.json")
