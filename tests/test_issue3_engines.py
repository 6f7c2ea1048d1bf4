"""Guidance, SR3 and Palette engines with their shipped weights: contracts, guarantees and clear errors."""
import numpy as np
import pytest
import torch
from PIL import Image

from conftest import ROOT, needs
from engines import guidance, palette, sr3
from engines.core.samplers import final
from engines.data.degrade import grayscale
from engines.images import from_pil

EX = ROOT / "examples"


@needs("guided-shapes")
def test_cfg_at_scale_3_draws_the_asked_class():
    x = final(guidance.sample("blue square", "cfg", 3.0, 30, 16, 0)).x
    assert guidance.fidelity(x, "blue square")["both"] >= 0.85


@needs("guided-shapes", "classifier-shapes")
def test_classifier_guidance_at_scale_3_draws_the_asked_class():
    x = final(guidance.sample("green triangle", "classifier", 3.0, 30, 12, 0)).x
    assert guidance.fidelity(x, "green triangle")["both"] >= 0.7


@needs("guided-shapes")
def test_raising_the_scale_trades_diversity_for_fidelity():
    rows = guidance.sweep("red star", "cfg", [0.0, 1.0, 7.0], 25, 12, 1)
    both, div = [r["both"] for r in rows], [r["diversity"] for r in rows]
    assert both[0] < both[1] <= both[2] and div[0] > div[2] and div[1] > div[2]


@pytest.mark.parametrize("label,method,scale,match", [
    ("pink circle", "cfg", 3, "unknown class"), ("red circle", "magic", 3, "unknown method"),
    ("red circle", "cfg", 100, "guidance scale must be"), ("red circle", "cfg", 3, None)])
def test_guidance_requests_are_checked(label, method, scale, match):
    if match is None:
        assert guidance.class_index("  Red   CIRCLE ") == guidance.class_index("red circle")
        return
    with pytest.raises(ValueError, match=match):
        next(guidance.sample(label, method, scale, 5, 1, 0))


@needs("sr3-photos")
def test_sr3_contract_16_to_64_and_consistency():
    lr_path = EX / "sr3_flower_lr.png"
    out = final(sr3.upscale(str(lr_path), 25, 0)).x
    assert out.shape == (1, 3, 64, 64)
    r = sr3.report(out, from_pil(Image.open(lr_path))[None], from_pil(Image.open(EX / "sr3_flower_hr.png"))[None])
    assert r["consistency_db"] >= 28 and r["psnr_sr3"] >= r["psnr_bicubic"] - 2  # the bars
    assert abs(r["grad_sr3"] - r["grad_original"]) < abs(r["grad_bicubic"] - r["grad_original"])  # more detail


@needs("sr3-photos")
def test_sr3_tiles_up_to_64_and_downscales_beyond(tmp_path):
    img = Image.open(EX / "sr3_coffee_hr.png").resize((40, 24))
    img.save(tmp_path / "mid.png")
    steps = list(sr3.upscale(str(tmp_path / "mid.png"), 2, 0))
    assert steps[-1].x.shape == (1, 3, 96, 160)
    big = sr3.prepare(Image.new("RGBA", (600, 300)))
    assert big.lr.shape == (1, 3, 32, 64) and "downscaled" in big.note


@needs("palette-photos")
@pytest.mark.parametrize("task", ["inpainting", "uncropping"])
def test_palette_keeps_known_pixels_exactly(task):
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (20, 20, 44, 44))
    job = palette.prepare(task, str(EX / "coffee.png"), mask if task == "inpainting" else None, "left")
    out = final(palette.restore(job, 5, 2, 0)).x
    assert out.shape == (2, 3, 64, 64)
    keep = 1 - job.mask
    assert torch.equal(out * keep, job.known.expand_as(out) * keep)


def test_palette_masks_of_another_size_are_resized_and_empty_masks_refused():
    mask = Image.new("L", (300, 300), 0)
    mask.paste(255, (0, 0, 150, 300))
    job = palette.prepare("inpainting", str(EX / "coffee.png"), mask)
    assert job.mask.shape == (1, 1, 64, 64) and 0.4 < job.mask.mean() < 0.6
    with pytest.raises(ValueError, match="no hole"):
        palette.prepare("inpainting", str(EX / "coffee.png"), Image.new("L", (64, 64), 0))
    with pytest.raises(ValueError, match="unknown task"):
        palette.prepare("denoise", str(EX / "coffee.png"))


@needs("palette-photos")
def test_palette_colorization_keeps_luminance():
    job = palette.prepare("colorization", str(EX / "sr3_flower_hr.png"))
    out = final(palette.restore(job, 25, 1, 0)).x
    lum_in, lum_out = job.cond[0, 0].flatten().numpy(), grayscale(out)[0, 0].flatten().numpy()
    assert np.corrcoef(lum_in, lum_out)[0, 1] > 0.9


def test_jpeg_training_pairs_are_the_targets_compressed():
    from engines.data import degrade

    x = torch.rand(4, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1
    targets, cond = degrade.random_jpeg_pairs(x, torch.Generator().manual_seed(3))
    assert targets.shape == cond.shape == x.shape
    for t, c in zip(targets, cond):  # each condition is its own target at one quality of 5..30
        assert any(torch.equal(degrade.jpeg(t[None], q)[0], c) for q in range(5, 31))


def test_the_jpeg_specialist_diffuses_the_residual_over_its_input(monkeypatch, tmp_path):
    """An untrained residual model (tiny training run saved to a temporary weights dir): every streamed x is the
    JPEG input plus noise / s, not noise, and the result stays in range."""
    from engines.core import checkpoint

    trainer, meta = palette.make_jpeg_trainer(steps=1)
    checkpoint.save(palette.JPEG_MODEL, trainer.model, meta, tmp_path)
    monkeypatch.setattr(checkpoint, "WEIGHTS_DIR", tmp_path)
    checkpoint.load.cache_clear()
    try:
        job = palette.prepare("jpeg", str(EX / "coffee.png"), quality=10)
        steps = list(palette.restore(job, 4, 2, 0))
    finally:
        checkpoint.load.cache_clear()
    first = (steps[0].x - job.cond).std()  # the noise at the top of the schedule, scaled by 1 / s
    assert 0.5 / meta["residual_scale"] < first < 1.5 / meta["residual_scale"]
    assert steps[-1].x.shape == (2, 3, 64, 64) and steps[-1].x.abs().max() <= 1


@needs("palette-jpeg")
def test_the_mean_of_jpeg_restorations_beats_the_jpeg_input():
    from engines.sr3 import psnr

    job = palette.prepare("jpeg", str(EX / "coffee.png"), quality=10)
    out = final(palette.restore(job, 50, 4, 0)).x
    assert psnr(palette.posterior_mean(out), job.clean) > psnr(job.cond, job.clean)
