"""Checkpoints round-trip, shipped weights load, and the training loop is seeded and resumable."""

import json

import pytest
import torch

from engines.core import checkpoint
from engines.core.diffusion import diffusion_loss
from engines.core.nn import UNet2D, UNetConfig
from engines.core.schedules import make_schedule
from engines.core.train import TrainConfig, Trainer, fit, lr_at
from engines.train import MODELS, SHIPPED

TINY = UNetConfig(1, 1, 8, (1, 2), 1, (1,))


def tiny_trainer(seed=0, steps=6):
    sched = make_schedule("linear", 100)
    data = torch.randn(32, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    cfg = TrainConfig(steps=steps, batch_size=4, lr=1e-3, warmup=2, seed=seed, save_every=3)
    torch.manual_seed(seed)  # the initial weights
    return Trainer(
        UNet2D(TINY),
        lambda m, x, g: diffusion_loss(m, x, sched, "eps", generator=g),
        lambda step, g: data[torch.randint(0, 32, (4,), generator=g)],
        cfg,
    )


def test_save_load_round_trip(tmp_path):
    model = UNet2D(TINY)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_()
    meta = {"arch": "UNet2D", "config": TINY.to_dict(), "diffusion": {"schedule": "linear"}}
    checkpoint.save("tiny", model, meta, tmp_path)
    loaded, meta2 = checkpoint.load("tiny", tmp_path)
    assert meta2["config"] == json.loads(json.dumps(TINY.to_dict()))
    for (k, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert torch.allclose(a, b, rtol=1e-3, atol=1e-3), k  # stored as fp16
    x, t = torch.randn(2, 1, 8, 8), torch.tensor([3, 50])
    assert torch.allclose(model(x, t), loaded(x, t), atol=0.05)


def test_missing_weights_name_the_training_command(tmp_path):
    with pytest.raises(checkpoint.MissingWeightsError, match="python -m engines.train ddpm-digits"):
        checkpoint.load("ddpm-digits", tmp_path)


def test_shipped_models_are_known_and_the_first_tabs_are_ready():
    from playground.registry import ready_tabs

    assert set(SHIPPED) <= set(MODELS)
    assert {"ddpm", "annotated"} <= {t.id for t in ready_tabs()}


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_weights_load_and_say_how_they_were_trained(name):
    model, meta = checkpoint.load(name)
    assert sum(p.numel() for p in model.parameters()) > 10_000
    assert meta["training"]["command"] == f"python -m engines.train {name}"
    assert meta["training"]["steps_done"] >= 1000 and meta["training"]["seconds"] > 0


def test_shipped_weights_fit_the_budget():
    """DESIGN.md: all weights together under 100 MB, each model small."""
    sizes = {p.name: p.stat().st_size for p in checkpoint.WEIGHTS_DIR.glob("*.safetensors")}
    assert sum(sizes.values()) < 100 * 10**6
    assert max(sizes.values()) < 10 * 10**6, max(sizes, key=sizes.get)


def test_lr_warmup_then_cosine():
    cfg = TrainConfig(steps=100, lr=1.0, warmup=10, min_lr_frac=0.1)
    assert lr_at(0, cfg) == pytest.approx(0.1) and lr_at(9, cfg) == pytest.approx(1.0)
    assert lr_at(10, cfg) == pytest.approx(1.0) and lr_at(100, cfg) == pytest.approx(0.1)
    assert lr_at(55, cfg) == pytest.approx(0.55)


def test_training_is_seeded_and_resumes_exactly(tmp_path):
    a = tiny_trainer()
    losses_a = [r.loss for r in a.steps()]
    b = tiny_trainer()
    losses_b = [r.loss for r in b.steps(3)]
    state = b.state_dict()
    c = tiny_trainer(seed=123)  # a different seed, overwritten by the saved state
    c.load_state_dict(state)
    losses_b += [r.loss for r in c.steps()]
    assert losses_a == pytest.approx(losses_b, rel=1e-5)
    for p, q in zip(a.ema.model.parameters(), c.ema.model.parameters()):
        assert torch.allclose(p, q, atol=1e-6)


def test_fit_exports_weights_and_resumes(tmp_path):
    tr = tiny_trainer(steps=6)
    meta = {"arch": "UNet2D", "config": TINY.to_dict()}
    out = fit("tiny", tr, meta, weights_dir=tmp_path / "w", runs_dir=tmp_path / "r")
    assert out.exists() and (tmp_path / "r" / "tiny" / "state.pt").exists()
    info = json.loads((tmp_path / "w" / "tiny.json").read_text())
    assert info["training"]["steps_done"] == 6
    tr2 = tiny_trainer(steps=6)
    fit("tiny", tr2, meta, weights_dir=tmp_path / "w", runs_dir=tmp_path / "r")
    assert tr2.step == 6  # resumed at the end: nothing more to do


def test_fit_continues_from_exported_weights_when_the_state_is_lost(tmp_path):
    meta = {"arch": "UNet2D", "config": TINY.to_dict()}
    first = tiny_trainer(steps=3)
    fit("tiny", first, dict(meta), weights_dir=tmp_path / "w", runs_dir=tmp_path / "r")
    exported = {k: v.clone() for k, v in checkpoint.load("tiny", tmp_path / "w")[0].state_dict().items()}
    (tmp_path / "r" / "tiny" / "state.pt").unlink()  # runs/ lost
    second = tiny_trainer(steps=6, seed=7)
    steps_seen = []
    second_steps = second.steps
    starts = []

    def spy(until=None):
        steps_seen.append(second.step)
        starts.append({k: v.clone() for k, v in second.model.state_dict().items()})
        return second_steps(until)

    second.steps = spy
    fit("tiny", second, dict(meta), weights_dir=tmp_path / "w", runs_dir=tmp_path / "r", from_weights=True)
    assert steps_seen == [3]  # continued at the exported step count, not from 0
    assert all(torch.equal(v, exported[k]) for k, v in starts[0].items())  # from the exported weights, not seed 7's
    info = json.loads((tmp_path / "w" / "tiny.json").read_text())
    assert info["training"]["steps_done"] == 6 and info["continued_from_weights"]["step"] == 3
    assert second.ema.num_updates == 6
    assert any(not torch.equal(v, exported[k]) for k, v in checkpoint.load("tiny", tmp_path / "w")[0].state_dict().items())


def test_training_lowers_the_loss():
    sched = make_schedule("linear", 100)
    data = torch.zeros(16, 1, 8, 8)
    data[:, :, 2:6, 2:6] = 1
    cfg = TrainConfig(steps=60, batch_size=16, lr=3e-3, warmup=5)
    tr = Trainer(UNet2D(TINY), lambda m, x, g: diffusion_loss(m, x, sched, "eps", generator=g), lambda s, g: data, cfg)
    losses = [r.loss for r in tr.steps()]
    assert sum(losses[-10:]) / 10 < 0.7 * sum(losses[:10]) / 10


def test_warm_start_copies_the_shared_layers_and_silences_the_new_ones(tmp_path):
    base = UNet2D(TINY)
    with torch.no_grad():
        for p in base.parameters():
            p.normal_(0, 0.1)
    checkpoint.save("base", base, {"arch": "UNet2D", "config": TINY.to_dict()}, tmp_path, half=False)
    bigger = UNet2D(UNetConfig(1, 1, 8, (1, 2), 1, (1,), num_classes=3))
    meta = {}
    assert checkpoint.warm_start(bigger, "base", meta, zero=("class_emb",), directory=tmp_path)
    x, t, y = torch.randn(2, 1, 8, 8), torch.tensor([3, 50]), torch.tensor([0, 2])
    assert meta["init"] == "base" and torch.allclose(bigger(x, t, y=y), base(x, t), atol=1e-6)
    assert not checkpoint.warm_start(bigger, "absent", {}, directory=tmp_path)
