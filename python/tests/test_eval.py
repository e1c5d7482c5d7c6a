"""The accuracy harness: the same model under PyTorch, onnxruntime and
Sinter gives the same bits per byte (to 0.1% relative), and the protocol
predicts every byte after the first exactly once."""
import numpy as np
import pytest
import torch

import sinter
from sinter import corpora, eval as sinter_eval, testmodels

CONTEXT = 64
TEXT = corpora.split("kjv-heldout")[:3000]


def test_windows_cover_every_byte_once():
    text = bytes(range(200))
    targets = np.concatenate([t for _, t in sinter_eval.windows(text, 64)])
    np.testing.assert_array_equal(targets, np.arange(1, 200))


def test_heldout_is_the_last_tenth():
    k = corpora.kjv()
    assert corpora.split("kjv-train") + corpora.split("kjv-heldout") == k
    assert abs(len(corpora.split("kjv-heldout")) - 0.1 * len(k)) < 2
    assert not k.startswith(b"Ge1:1")


@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("eval")
    model = testmodels.build("gpt2", ctx=CONTEXT)
    pt = d / "m.pt"
    torch.save({"arch": "gpt2", "config": {"ctx": CONTEXT}, "state_dict": model.state_dict()}, pt)
    onnx_path = d / "m.onnx"
    testmodels.export(model, str(onnx_path), ctx=CONTEXT)
    so = sinter.compile(onnx_path, d / "m.so")
    return str(pt), str(onnx_path), str(so)


def test_sinter_matches_pytorch_and_onnxruntime(model_files):
    results = [sinter_eval.bits_per_byte(sinter_eval._logits_fn(p, "sinter_model"), TEXT, CONTEXT)
               for p in model_files]
    (torch_bpb, n), (ort_bpb, _), (sinter_bpb, _) = results
    assert n == len(TEXT) - 1
    assert 7.0 < torch_bpb < 10.0  # an untrained model: about log2(256) = 8
    assert abs(sinter_bpb - torch_bpb) / torch_bpb < 1e-3
    assert abs(ort_bpb - torch_bpb) / torch_bpb < 1e-3


def test_cli(model_files, capsys):
    assert sinter_eval.main(["--model", model_files[2], "--text", "fortunes", "--context", str(CONTEXT),
                             "--limit-bytes", "1000"]) == 0
    out = capsys.readouterr().out
    assert "bits_per_byte" in out and "999 bytes predicted" in out


def test_compiler_measures_the_same_bits_per_byte(model_files, tmp_path):
    # sinter-compile --eval-text follows sinter.eval's protocol, in C++.
    text = tmp_path / "text.txt"
    text.write_bytes(TEXT[:1000] + b"x")  # a last, shorter window too
    report = tmp_path / "r.json"
    sinter.compile(model_files[1], tmp_path / "m.so", eval_text=text, eval_context=CONTEXT, report=report)
    import json
    acc = json.loads(report.read_text())["accuracy"]
    want, n = sinter_eval.bits_per_byte(sinter_eval._logits_fn(model_files[2], "sinter_model"),
                                        text.read_bytes(), CONTEXT)
    assert acc["bytes_predicted"] == n == 1000
    assert abs(acc["bits_per_byte"] - want) < 1e-6
    assert "uncompressed_bits_per_byte" not in acc  # nothing was compressed
    with pytest.raises(RuntimeError, match="--eval-text needs -o FILE.so"):
        sinter.compile(model_files[1], tmp_path / "m.o", eval_text=text)
