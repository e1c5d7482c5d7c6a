"""--train-lora against PyTorch: a small GPT-2 compiled with LoRA adapters
is trained in the object (sinter_lora) and in PyTorch (sinter.lora, Adam)
from the same adapters on the same batches. The losses, the adapters and
the adapted model's logits must agree step by step (float32 tolerances:
losses to 1e-4 relative, adapters and logits to 2e-4 absolute)."""
import numpy as np
import pytest
import torch

import sinter.runtime as sinter
from sinter import lora, testmodels

RANK, ALPHA, LR = 4, 8.0, 1e-2


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    d = tmp_path_factory.mktemp("lora")
    model = testmodels.build("gpt2", seed=0, d=32, heads=2, layers=2, ctx=32)
    testmodels.export(model, d / "m.onnx", ctx=32)
    so = sinter.compile(d / "m.onnx", d / "m.so", train_lora=f"rank={RANK},alpha={ALPHA}")
    return model, sinter.load(so, threads=1), d


def batches(steps, rng):
    for _ in range(steps):
        ids = rng.integers(0, 256, (2, 17))
        yield ids[:, :-1], ids[:, 1:]


def test_training_matches_pytorch(compiled):
    model, m, _ = compiled
    trainer = sinter.LoRA(m, seed=3)
    names = [a.name for a in trainer.adapters]
    assert len(names) == 2 * 4 * 2  # A and B on qkv, proj, fc, out of two blocks
    params = lora.add_lora(model, names, RANK, ALPHA)
    with torch.no_grad():
        for i, p in enumerate(params):
            p.copy_(torch.from_numpy(trainer.get(i)))
    assert np.abs(trainer.get(0)).max() > 0 and np.abs(trainer.get(1)).max() == 0  # A random, B zero
    optimizer = torch.optim.Adam(params, lr=LR, betas=(0.9, 0.999), eps=1e-8)
    losses = []
    for x, y in batches(6, np.random.default_rng(0)):
        ours = trainer.train_step(x, y, LR)
        theirs = lora.train_step(model, optimizer, torch.from_numpy(x), torch.from_numpy(y))
        assert ours == pytest.approx(theirs, rel=1e-4)
        losses.append(ours)
    for i, p in enumerate(params):
        np.testing.assert_allclose(trainer.get(i), p.detach().numpy(), atol=2e-4, err_msg=names[i])
    x = np.random.default_rng(1).integers(0, 256, (1, 20))
    with torch.no_grad():
        np.testing.assert_allclose(trainer(x), model(torch.from_numpy(x)).numpy(), atol=2e-4)
    # The adapters did change the model.
    assert np.abs(trainer(x) - m(x)).max() > 1e-3


@pytest.mark.parametrize("arch,kw", [("opt", {}), ("llama", {"ff": 64})])
def test_other_architectures_match_pytorch(tmp_path, arch, kw):
    """OPT (ReLU, separate q/k/v) and Llama (RMSNorm through pow, mean and
    sqrt; rotary halves through slice, neg and concat; SwiGLU through
    sigmoid): losses to 1e-4 and adapters to 2e-4 as for GPT-2. Adam's ε is
    1e-4 here: Adam divides each gradient by its own magnitude, so with
    ε = 1e-8 an element whose gradient is near zero moves by up to lr on
    float rounding alone, in either implementation."""
    model = testmodels.build(arch, seed=1, d=32, heads=2, layers=2, ctx=32, **kw)
    testmodels.export(model, tmp_path / "m.onnx", ctx=32)
    so = sinter.compile(tmp_path / "m.onnx", tmp_path / "m.so", train_lora=f"rank={RANK},alpha={ALPHA},epsilon=1e-4")
    trainer = sinter.LoRA(sinter.load(so, threads=1), seed=5)
    params = lora.add_lora(model, [a.name for a in trainer.adapters], RANK, ALPHA)
    with torch.no_grad():
        for i, p in enumerate(params):
            p.copy_(torch.from_numpy(trainer.get(i)))
    optimizer = torch.optim.Adam(params, lr=LR, eps=1e-4)
    for x, y in batches(4, np.random.default_rng(3)):
        ours = trainer.train_step(x, y, LR)
        assert ours == pytest.approx(lora.train_step(model, optimizer, torch.from_numpy(x), torch.from_numpy(y)),
                                     rel=1e-4)
    for i, p in enumerate(params):
        np.testing.assert_allclose(trainer.get(i), p.detach().numpy(), atol=2e-4)


def test_workspace_round_trip_and_errors(compiled):
    _, m, _ = compiled
    trainer = sinter.LoRA(m, seed=0)
    b = np.full(trainer.adapters[1].shape, 0.5, np.float32)
    trainer.set(1, b)
    np.testing.assert_array_equal(trainer.get(1), b)
    # The C side checks the index and the count itself.
    out = np.empty(b.size, np.float32)
    ws = trainer._ws.ctypes.data
    assert trainer._l.get_adapter(trainer._self, ws, len(trainer.adapters), out.ctypes.data, b.size) == 2
    assert trainer._l.get_adapter(trainer._self, ws, 1, out.ctypes.data, b.size - 1) == 5
    x = np.zeros((1, 8), np.int64)
    with pytest.raises(sinter.SinterError, match="targets is outside"):
        trainer.train_step(x, np.full((1, 8), 256), LR)
    with pytest.raises(sinter.SinterError, match="shape differs"):
        trainer.train_step(x, np.zeros((1, 7), np.int64), LR)
    with pytest.raises(sinter.SinterError, match="context|check"):
        trainer.train_step(np.zeros((1, 40), np.int64), np.zeros((1, 40), np.int64), LR)  # ctx is 32
    # A failed step leaves the adapters as they were.
    np.testing.assert_array_equal(trainer.get(1), b)


class AdamBF16Moments:
    """Adam as the object runs it with moments=bf16: the update in f32 from
    moments stored in bf16 (rounded to nearest even after each step)."""

    def __init__(self, params, lr, betas=(0.9, 0.999), eps=1e-8):
        self.params, self.lr, (self.b1, self.b2), self.eps, self.t = params, lr, betas, eps, 0
        self.m = [torch.zeros_like(p, dtype=torch.bfloat16) for p in params]
        self.v = [torch.zeros_like(p, dtype=torch.bfloat16) for p in params]

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self):
        self.t += 1
        for i, p in enumerate(self.params):
            m = self.m[i].float() * self.b1 + p.grad * (1 - self.b1)
            v = self.v[i].float() * self.b2 + p.grad * p.grad * (1 - self.b2)
            p -= self.lr / (1 - self.b1 ** self.t) * m / ((v / (1 - self.b2 ** self.t)).sqrt() + self.eps)
            self.m[i], self.v[i] = m.to(torch.bfloat16), v.to(torch.bfloat16)


def test_bf16_moments_match_their_reference(compiled):
    """moments=bf16 halves the moments' bytes in the workspace; training
    follows Adam with bf16-stored moments step by step, at float32
    tolerances."""
    model, m32, d = compiled
    so = sinter.compile(d / "m.onnx", d / "bf16.so", train_lora=f"rank={RANK},alpha={ALPHA},moments=bf16",
                        report=d / "bf16.json")
    trainer, full = sinter.LoRA(sinter.load(so, threads=1), seed=3), sinter.LoRA(m32, seed=3)
    per_matrix = [int(np.prod(a.shape)) for a in trainer.adapters]
    padded = lambda b: -(-b // 64) * 64  # noqa: E731
    assert trainer.workspace_bytes == 64 + sum(padded(4 * n) + 2 * padded(2 * n) for n in per_matrix)
    assert full.workspace_bytes == 64 + sum(3 * padded(4 * n) for n in per_matrix)
    import json
    entry = [e for e in json.load(open(d / "bf16.json"))["compression"] if e["method"] == "train-lora-model"][0]
    assert entry["workspace_bytes"] == trainer.workspace_bytes and entry["moments"] == "bf16"
    reference = testmodels.build("gpt2", seed=0, d=32, heads=2, layers=2, ctx=32)
    params = lora.add_lora(reference, [a.name for a in trainer.adapters], RANK, ALPHA)
    with torch.no_grad():
        for i, p in enumerate(params):
            p.copy_(torch.from_numpy(trainer.get(i)))
    optimizer = AdamBF16Moments(params, LR)

    def moments(t, element, kind):  # kind 1: first moments, 2: second (runtime-abi.md's layout)
        start = 64 + sum(padded(4 * n) for n in per_matrix) + (kind - 1) * sum(padded(element * n) for n in per_matrix)
        raw, out = t._ws.view(np.uint8)[start:], []
        for n in per_matrix:
            out.append(raw[:element * n].view(np.int16 if element == 2 else np.float32))
            raw = raw[padded(element * n):]
        return np.concatenate(out)

    for step, (x, y) in enumerate(batches(6, np.random.default_rng(0))):
        ours = trainer.train_step(x, y, LR)
        full.train_step(x, y, LR)
        if step == 0:  # same gradients: the stored moments are f32's rounded to nearest even
            for kind in (1, 2):
                want = torch.from_numpy(moments(full, 4, kind)).to(torch.bfloat16).view(torch.int16).numpy()
                np.testing.assert_array_equal(moments(trainer, 2, kind), want)
                assert np.count_nonzero(want) > want.size // 2
        assert ours == pytest.approx(lora.train_step(reference, optimizer, torch.from_numpy(x), torch.from_numpy(y)),
                                     rel=1e-4)
    for i, p in enumerate(params):
        np.testing.assert_allclose(trainer.get(i), p.detach().numpy(), atol=2e-4)
    with pytest.raises(RuntimeError, match="moments must be f32 or bf16, not 'fp16'"):
        sinter.compile(d / "m.onnx", d / "x.so", train_lora="moments=fp16")


def test_targets_select_linears_and_bad_options(compiled):
    _, _, d = compiled
    so = sinter.compile(d / "m.onnx", d / "fc.so", train_lora="rank=2,targets=fc,out", report=d / "fc.json")
    trainer = sinter.LoRA(sinter.load(so, threads=1))
    import json
    model_entry = [e for e in json.load(open(d / "fc.json"))["compression"] if e["method"] == "train-lora-model"]
    assert model_entry[0]["workspace_bytes"] == trainer.workspace_bytes
    assert model_entry[0]["trainable_parameters"] == sum(int(np.prod(a.shape)) for a in trainer.adapters)
    assert [a.name for a in trainer.adapters][::2] == [
        "/blocks.0/fc/MatMul.lora_A", "/blocks.0/out/MatMul.lora_A",
        "/blocks.1/fc/MatMul.lora_A", "/blocks.1/out/MatMul.lora_A"]
    assert trainer.adapters[1].shape == (2, 128)
    with pytest.raises(RuntimeError, match="no linear matches targets=nothing"):
        sinter.compile(d / "m.onnx", d / "x.so", train_lora="targets=nothing")
    with pytest.raises(RuntimeError, match="'bogus' is not key=value"):
        sinter.compile(d / "m.onnx", d / "x.so", train_lora="bogus")
    with pytest.raises(RuntimeError, match="rank must be at least 1"):
        sinter.compile(d / "m.onnx", d / "x.so", train_lora="rank=0")
    with pytest.raises(ValueError, match="not compiled with --train-lora"):
        sinter.LoRA(sinter.load(sinter.compile(d / "m.onnx", d / "plain.so")))


def test_gse_training_tracks_pytorch(compiled):
    """Over GSE w8a8 weights the forward and the backward through the frozen
    linears are integer GEMMs: the losses stay within 1% of PyTorch fp32
    LoRA from the same adapters, and training lowers them."""
    _, _, d = compiled
    so = sinter.compile(d / "m.onnx", d / "gse.so", compress="gse:w=8,a=8", train_lora=f"rank={RANK},alpha={ALPHA}")
    m = sinter.load(so, threads=1)
    trainer = sinter.LoRA(m, seed=3)
    x0 = np.random.default_rng(2).integers(0, 256, (1, 16))
    np.testing.assert_array_equal(trainer(x0), m(x0))  # B = 0: the quantized base model
    reference = testmodels.build("gpt2", seed=0, d=32, heads=2, layers=2, ctx=32)  # the fixture's weights
    params = lora.add_lora(reference, [a.name for a in trainer.adapters], RANK, ALPHA)
    with torch.no_grad():
        for i, p in enumerate(params):
            p.copy_(torch.from_numpy(trainer.get(i)))
    optimizer = torch.optim.Adam(params, lr=LR)
    ours, theirs = [], []
    for x, y in batches(8, np.random.default_rng(0)):
        ours.append(trainer.train_step(x, y, LR))
        theirs.append(lora.train_step(reference, optimizer, torch.from_numpy(x), torch.from_numpy(y)))
    np.testing.assert_allclose(ours, theirs, rtol=1e-2)
    assert np.mean(ours[-3:]) < np.mean(ours[:3])
