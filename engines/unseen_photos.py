"""The Palette and SR3 tabs on photos they never saw: 64x64 crops of the held-out photos and of photos inside other
wheels (engines.data.photos.EXTERNAL), each measured the way a visitor's eye and PSNR judge it. Uncropping: the
hole's PSNR for one sample, for the mean of the samples and for a flat fill with the known half's mean colour.
JPEG at quality 10: one sample, the mean, the input, and the share of single samples below the input. SR3 from
16x16: the output's gradient energy over the original's (bicubic's too) and PSNR.
`python -m engines.unseen_photos` prints the table docs/palette.md and docs/sr3.md quote."""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch import Tensor

from . import palette, sr3
from .core.samplers import final
from .data.photos import EXTERNAL, HELD_OUT, available, random_crops
from .images import to_pil

SIZE = 64


def _hole_db(x: Tensor, clean: Tensor, mask: Tensor) -> float:
    """PSNR over the masked pixels (peak-to-peak 2) of (1, 3, H, W) x against clean."""
    m = mask.expand_as(x).bool()
    return 10 * float(np.log10(4.0 / float((x - clean)[m].pow(2).mean().clamp_min(1e-10))))


def crops(names: tuple[str, ...], per_photo: int, seed: int = 0) -> list[tuple[str, Tensor]]:
    """per_photo random 64x64 crops of each named photo: [(name, (3, 64, 64))]."""
    out = []
    for i, n in enumerate(names):
        for c in random_crops(per_photo, SIZE, torch.Generator().manual_seed(seed + 1000 * i), (n,)):
            out.append((n, c))
    return out


def uncrop_row(x: Tensor, samples: int, steps: int, seed: int) -> dict:
    """The left half of one crop regenerated: hole PSNR of each sample, of their mean, of the flat mean colour."""
    job = palette.prepare("uncropping", to_pil(x), None, "left", seed=seed)
    out = final(palette.restore(job, steps, samples, seed)).x  # (samples, 3, 64, 64)
    keep = 1 - job.mask
    flat = job.clean * keep + (job.clean * keep).sum((2, 3), keepdim=True) / keep.sum() * job.mask
    return {
        "uncrop_sample_db": float(np.mean([_hole_db(o[None], job.clean, job.mask) for o in out])),
        "uncrop_mean_db": _hole_db(palette.posterior_mean(out), job.clean, job.mask),
        "uncrop_flat_db": _hole_db(flat, job.clean, job.mask),
    }


def jpeg_row(x: Tensor, samples: int, steps: int, seed: int, quality: int = 10) -> dict:
    """JPEG restoration of one crop by the specialist: PSNR of each sample, of their mean and of the input."""
    job = palette.prepare("jpeg", to_pil(x), quality=quality, seed=seed)
    out = final(palette.restore(job, steps, samples, seed)).x
    one = [sr3.psnr(o[None], job.clean) for o in out]
    inp = sr3.psnr(job.cond, job.clean)
    return {
        "jpeg_sample_db": float(np.mean(one)),
        "jpeg_mean_db": sr3.psnr(palette.posterior_mean(out), job.clean),
        "jpeg_input_db": inp,
        "jpeg_samples_below_input": float(np.mean([o < inp for o in one])),
    }


def sr3_row(x: Tensor, steps: int, seed: int) -> dict:
    """4x super-resolution of one crop's 16x16 downsampling: detail (gradient energy) and PSNR against the crop."""
    hr = x[None]
    lr = sr3.downsample(hr)
    sr = final(sr3.upscale(to_pil(lr[0]), steps, seed)).x
    r = sr3.report(sr, lr, hr)
    g = max(r["grad_original"], 1e-8)
    return {
        "sr3_grad_ratio": r["grad_sr3"] / g,
        "bicubic_grad_ratio": r["grad_bicubic"] / g,
        "sr3_db": r["psnr_sr3"],
        "bicubic_db": r["psnr_bicubic"],
        "sr3_consistency_db": r["consistency_db"],
    }


def evaluate(names: tuple[str, ...], per_photo: int = 4, samples: int = 4, steps: int = 50) -> dict[str, dict]:
    """Every measure, averaged per photo and over all crops: {photo or 'all': {measure: value}}."""
    rows: dict[str, list[dict]] = {}
    for i, (name, x) in enumerate(crops(names, per_photo)):
        r = uncrop_row(x, samples, steps, i) | jpeg_row(x, samples, steps, i) | sr3_row(x, steps, i)
        rows.setdefault(name, []).append(r)
    table = {n: {k: float(np.mean([r[k] for r in rs])) for k in rs[0]} for n, rs in rows.items()}
    every = [r for rs in rows.values() for r in rs]
    table["all"] = {k: float(np.mean([r[k] for r in every])) for k in every[0]}
    return table


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--photos", nargs="*", default=list(HELD_OUT + tuple(EXTERNAL)))
    p.add_argument("--per-photo", type=int, default=4)
    p.add_argument("--samples", type=int, default=4)
    p.add_argument("--steps", type=int, default=50)
    a = p.parse_args()
    names = available(tuple(a.photos))
    missing = sorted(set(a.photos) - set(names))
    if missing:
        print(f"skipped (package not installed): {', '.join(missing)}")
    t0 = time.perf_counter()
    table = evaluate(names, a.per_photo, a.samples, a.steps)
    keys = list(table["all"])
    print("| photo | " + " | ".join(keys) + " |")
    print("|---" * (len(keys) + 1) + "|")
    for n, row in table.items():
        print(f"| {n} | " + " | ".join(f"{row[k]:.3g}" for k in keys) + " |")
    print(f"{sum(1 for _ in crops(names, a.per_photo))} crops, {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
