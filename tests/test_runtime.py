"""The ONNX Runtime forward (engines/core/runtime.py): same numbers as PyTorch at any batch and size, PyTorch while
the export runs, and PyTorch wherever the export is wrong or impossible."""

import pytest
import torch
from torch import nn

from engines.core import precision, runtime
from engines.core.nn import UNet2D, UNetConfig

pytestmark = pytest.mark.skipif(not runtime.available(), reason="onnxruntime / onnx not installed")


def ready(f: runtime.OnnxForward, *args, **kw) -> torch.Tensor:
    """Call once (starts the export), wait for it, call again (ONNX Runtime, checked against PyTorch)."""
    f(*args, **kw)
    f.wait(120)
    return f(*args, **kw)


def test_a_class_conditional_unet_matches_pytorch_at_other_batches_and_sizes():
    torch.manual_seed(0)
    model = UNet2D(UNetConfig(3, 3, 16, (1, 2), 1, (1,), num_classes=4)).eval()
    f = runtime.OnnxForward(model)
    for b, size in ((2, 16), (5, 16), (3, 32)):
        x, t, y = torch.randn(b, 3, size, size), torch.randint(0, 1000, (b,)), torch.randint(0, 5, (b,))
        with torch.no_grad():
            ref = model(x, t, y=y)
        out = ready(f, x, t, y=y)
        assert torch.allclose(out, ref, atol=1e-4), (b, size)
    assert len(f.sessions) == 1 and all(f.checked.values()) and len(f.checked) == 3  # one export, dynamic shapes


class BakesTheBatch(nn.Module):
    """A forward whose Python-int use of the batch size the tracer freezes: right at the export's shape only."""

    def forward(self, x, t):
        return x * float(x.shape[0]) + t[:, None].float()


def test_a_shape_the_export_gets_wrong_runs_on_pytorch():
    f = runtime.OnnxForward(BakesTheBatch())
    x2, t2 = torch.ones(2, 3), torch.zeros(2)
    assert torch.equal(ready(f, x2, t2), x2 * 2)
    x3, t3 = torch.ones(3, 3), torch.zeros(3)
    assert torch.equal(f(x3, t3), x3 * 3)  # ONNX Runtime would give x * 2: caught by the check
    assert f.checked[(next(iter(f.sessions)), ((3, 3), (3,)))] is False
    assert torch.equal(f(x3, t3), x3 * 3)  # and it stays on PyTorch for that shape


class LeavesTheGraph(nn.Module):
    def forward(self, x, t):
        return torch.from_numpy(x.numpy() * 2) + t[:, None, None]  # the tracer would record x * 2 as a constant


class CannotExport(nn.Module):
    def forward(self, x, t):
        return torch.linalg.eigh(x @ x.mT)[0] + t[:, None]  # no ONNX operator for it


@pytest.mark.parametrize("model", [LeavesTheGraph(), CannotExport()], ids=type)
def test_a_model_that_cannot_be_exported_faithfully_runs_on_pytorch(model):
    f = runtime.OnnxForward(model)
    x, t = torch.ones(2, 3, 3), torch.ones(2)
    ready(f, x, t)
    assert list(f.sessions.values()) == [runtime._FAILED]
    x2 = torch.randn(2, 3, 3)
    assert torch.allclose(f(x2, t), model(x2, t))


def test_fast_uses_onnx_only_without_native_bf16_and_when_not_turned_off(monkeypatch):
    model = nn.Linear(2, 2)
    monkeypatch.setattr(precision, "bf16_available", lambda: False)
    assert isinstance(precision.fast(model), runtime.OnnxForward)
    assert precision.fast(model) is precision.fast(model)  # one export per model
    assert not isinstance(precision.fast(model, onnx=False), runtime.OnnxForward)
    monkeypatch.setenv("PLAYGROUND_ONNX", "0")
    assert not isinstance(precision.fast(model), runtime.OnnxForward)
    monkeypatch.delenv("PLAYGROUND_ONNX")
    monkeypatch.setattr(precision, "bf16_available", lambda: True)
    assert not isinstance(precision.fast(model), runtime.OnnxForward)
