"""Sample-quality checks used by the tests and the benchmark: a digit judge and a shapes-world judge."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

from .data.digits import load_digits_tensor, to_8x8
from .data.shapes import COLOURS

CONFIDENT = 0.8


NOT_A_DIGIT = 10


@lru_cache(maxsize=1)
def digit_classifier():
    """An MLP classifier fitted on all 1,797 real digits, seen through the same 16x16 -> 8x8 round trip as samples,
    plus an eleventh class, 'not a digit', of 1,500 noise images, so that noise, blanks and blur are not read
    confidently as digits (a plain MLP is >= 80% confident on 68% of pure-noise images; this one on none).

    Held out 30% of the real digits: >= 80% confident (and right) on 95.7% of them.
    """
    from sklearn.neural_network import MLPClassifier

    x, y = load_digits_tensor(16)
    g = torch.Generator().manual_seed(0)
    n = 1500
    noise = torch.randn(n, 1, 16, 16, generator=g) * (0.3 + 1.2 * torch.rand(n, 1, 1, 1, generator=g))
    X = np.concatenate([to_8x8(x), to_8x8(noise.clamp(-1, 1))])
    Y = np.concatenate([y.numpy(), np.full(n, NOT_A_DIGIT)])
    return MLPClassifier((128,), max_iter=2000, random_state=0).fit(X, Y)


def digit_report(x: Tensor) -> dict:
    """For a batch of 16x16 digit samples in [-1, 1]: how many the classifier reads confidently as a digit, and
    the counts of each digit among them."""
    p = digit_classifier().predict_proba(to_8x8(x))
    labels = p.argmax(1)
    confident = (p.max(1) >= CONFIDENT) & (labels != NOT_A_DIGIT)
    counts = np.bincount(labels[labels != NOT_A_DIGIT], minlength=10)[:10]
    return {
        "confident": float(confident.mean()),
        "labels": labels.tolist(),
        "counts": counts.tolist(),
        "min_count": int(counts.min()),
        "max_count": int(counts.max()),
    }


PALETTE = np.array(list(COLOURS.values()), dtype=np.float32)


def shapes_report(x: Tensor, tol: float = 45.0, min_area: float = 0.008, min_flat: float = 0.9) -> dict:
    """For shapes-world-like samples (B, 3, H, W) in [-1, 1]: flat palette colours, one or two shapes on a background?

    flat: share of pixels within `tol` (RGB distance) of a palette colour (anti-aliased edges are the rest);
    regions: palette colours covering at least `min_area` of the image (background + objects);
    clean: flat >= min_flat and 2 <= regions <= 3. Real shapes-world images: 98% clean; blurred (3x3) ones 33%; noise 0%.
    """
    rgb = ((x.detach().float().clamp(-1, 1) + 1) * 127.5).permute(0, 2, 3, 1).reshape(x.shape[0], -1, 3).cpu().numpy()
    flat, regions = [], []
    for px in rgb:
        d = np.linalg.norm(px[:, None] - PALETTE[None], axis=2)  # (H*W, 9)
        near = d.min(1) < tol
        share = np.bincount(d.argmin(1)[near], minlength=len(PALETTE)) / len(px)
        flat.append(float(near.mean()))
        regions.append(int((share >= min_area).sum()))
    clean = [f >= min_flat and 2 <= r <= 3 for f, r in zip(flat, regions)]
    return {"flat": flat, "regions": regions, "clean": clean, "clean_frac": float(np.mean(clean))}
