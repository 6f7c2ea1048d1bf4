"""Palette's quality bars measured on crops of photos it never trained on: known pixels kept, holes filled better
than a flat mean colour and with texture, colorization that keeps the luminance and adds colour, JPEG restoration
whose samples' mean raises PSNR. `python -m engines.palette_quality` prints the table the README quotes."""

from __future__ import annotations

import argparse

import numpy as np
import torch.nn.functional as F
from torch import Tensor

from . import palette
from .core.samplers import final
from .data.degrade import grayscale
from .data.photos import held_out_crops
from .images import to_pil
from .sr3 import gradient_energy, psnr

POOL = 8  # "better than a flat mean colour" is judged on 8x8-pixel block means: where the colours go, not which


def _masked_mse(a: Tensor, b: Tensor, m: Tensor) -> float:
    """Mean squared error over the pixels where m (broadcast over channels) is 1."""
    m = m.expand_as(a).bool()
    return float((a - b)[m].pow(2).mean())


def fill_report(out: Tensor, clean: Tensor, mask: Tensor) -> dict:
    """Inpainting / uncropping of (n, 3, H, W) samples of one (1, 3, H, W) image: known-region PSNR, hole error of
    the samples and of a flat fill with the known pixels' mean, at pixel level and on POOL-pixel block means, and
    the hole's texture (gradient energy of the samples over the original's)."""
    clean, mask = clean.expand_as(out), mask.expand(out.shape[0], 1, *out.shape[-2:])
    keep = 1 - mask
    known_mse = _masked_mse(out, clean, keep)
    mean_colour = (clean * keep).sum((2, 3), keepdim=True) / keep.sum((2, 3), keepdim=True)
    flat = clean * keep + mean_colour * mask

    def pooled(x: Tensor) -> Tensor:
        return F.avg_pool2d(x * mask, POOL) / F.avg_pool2d(mask, POOL).clamp_min(1e-6)

    hole_blocks = (F.avg_pool2d(mask, POOL) > 0.5).float()
    return {
        "known_db": 99.0 if known_mse == 0 else 10 * np.log10(4.0 / known_mse),
        "hole_mse": _masked_mse(out, clean, mask),
        "hole_mse_flat": _masked_mse(flat, clean, mask),
        "block_mse": _masked_mse(pooled(out), pooled(clean), hole_blocks),
        "block_mse_flat": _masked_mse(pooled(flat), pooled(clean), hole_blocks),
        "texture": gradient_energy(out * mask) / max(gradient_energy(clean * mask), 1e-8),
    }


def colorization_report(out: Tensor, clean: Tensor) -> dict:
    """Luminance correlation of the samples with the input, and their colourfulness over the original's."""
    lum_in, lum_out = grayscale(clean.expand_as(out))[:, 0].flatten(), grayscale(out)[:, 0].flatten()
    return {
        "luma_corr": float(np.corrcoef(lum_in.numpy(), lum_out.numpy())[0, 1]),
        "colour_ratio": palette.colourfulness(out) / max(palette.colourfulness(clean), 1e-8),
    }


def jpeg_report(out: Tensor, clean: Tensor, cond: Tensor) -> dict:
    """PSNR against the original of the samples (one by one), of their mean and of the JPEG input."""
    one = float(np.mean([psnr(o[None], clean) for o in out]))
    return {"psnr_out": one, "psnr_mean": psnr(palette.posterior_mean(out), clean), "psnr_jpeg": psnr(cond, clean)}


def evaluate(n_images: int = 6, steps: int = 50, samples: int = 4, quality: int = 10, seed: int = 5) -> dict:
    """Every task on n_images held-out 64x64 crops; per task the mean of each measure over images."""
    crops = held_out_crops(n_images, palette.SIZE, seed=seed)
    box = to_pil(palette.centre_box()[0] * 2 - 1)
    rows: dict[str, list[dict]] = {t: [] for t in palette.TASKS}
    for i, x in enumerate(crops):
        img = to_pil(x)
        for task in palette.TASKS:
            job = palette.prepare(task, img, box if task == "inpainting" else None, "left", quality, seed=i)
            out = final(palette.restore(job, steps, samples, i)).x
            if task in ("inpainting", "uncropping"):
                rows[task].append(fill_report(out, job.clean, job.mask))
            elif task == "colorization":
                rows[task].append(colorization_report(out, job.clean))
            else:
                rows[task].append(jpeg_report(out, job.clean, job.cond))
    return {t: {k: float(np.mean([r[k] for r in rs])) for k in rs[0]} for t, rs in rows.items()}


def passes(r: dict) -> dict[str, bool]:
    """The issue's bars."""
    fill = {
        t: r[t]["known_db"] >= 33 and r[t]["block_mse"] < r[t]["block_mse_flat"] and r[t]["texture"] >= 0.5
        for t in ("inpainting", "uncropping")
    }
    return fill | {
        "colorization": r["colorization"]["luma_corr"] >= 0.95 and r["colorization"]["colour_ratio"] >= 1 / 3,
        # the restoration with the least squared error is the posterior mean, estimated by the samples' mean: a
        # single sample's expected squared error is twice it (palette.posterior_mean), so PSNR is judged on the mean
        "jpeg": r["jpeg"]["psnr_mean"] > r["jpeg"]["psnr_jpeg"],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--images", type=int, default=6)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--samples", type=int, default=4)
    p.add_argument("--quality", type=int, default=10)
    a = p.parse_args()
    r = evaluate(a.images, a.steps, a.samples, a.quality)
    ok = passes(r)
    for task, row in r.items():
        cells = ", ".join(f"{k} {v:.4g}" for k, v in row.items())
        print(f"{task:13s} {'PASS' if ok[task] else 'fail'}  {cells}")


if __name__ == "__main__":
    main()
