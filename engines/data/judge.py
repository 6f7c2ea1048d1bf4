"""An analytical judge of shapes-world images: background, then each object's colour, shape, size and position.

No learning, so it cannot be fooled the way a classifier used for guidance can: colours are the nearest palette
entry, the shape comes from three measurements of the object's fractional coverage (anti-aliased edges count
partly), size from its width, position from its centroid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .shapes import COLOURS, POSITIONS

PALETTE_NAMES = list(COLOURS)
PALETTE = np.array([COLOURS[c] for c in PALETTE_NAMES], dtype=np.float32)


@dataclass(frozen=True)
class Judged:
    colour: str
    shape: str
    size: str
    position: str
    cx: float
    cy: float
    area: float  # fraction of the image


def nearest_colour(rgb: np.ndarray) -> str:
    return PALETTE_NAMES[int(np.linalg.norm(PALETTE - rgb[None], axis=1).argmin())]


def shape_features(coverage: np.ndarray) -> dict[str, float]:
    """Features of one object's fractional coverage map (H, W) in [0, 1], measured on its bounding box.

    solidity: area / convex-hull area (a star's points leave gaps: ~0.6, the others ~0.9-1);
    taper: coverage of the top third over the bottom third (a triangle, apex up: ~0.3; circle, square: ~1);
    corners: coverage of the four corner cells of the box (square ~1, circle ~0.2).
    """
    from scipy.spatial import ConvexHull

    ys, xs = np.nonzero(coverage > 0.5)
    if len(ys) < 3:
        return {"solidity": 1.0, "taper": 1.0, "corners": 0.0}
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    box = coverage[y0:y1, x0:x1]
    h, w = box.shape
    corners_px = np.concatenate([np.stack([xs + dx, ys + dy], 1) for dx in (0, 1) for dy in (0, 1)])
    try:
        hull = ConvexHull(corners_px).volume
    except Exception:  # degenerate (a line of pixels)
        hull = float(h * w)
    third = max(1, h // 3)
    ch, cw = max(1, h // 4), max(1, w // 4)
    cells = [box[:ch, :cw], box[:ch, -cw:], box[-ch:, :cw], box[-ch:, -cw:]]
    return {
        "solidity": float(coverage.sum() / hull),
        "taper": float(box[:third].mean() / max(box[-third:].mean(), 1e-6)),
        "corners": float(np.mean([c.mean() for c in cells])),
    }


def classify_shape(f: dict[str, float]) -> str:
    """Rules calibrated on 800 rendered scenes at 32 and 64 px (see tests/test_judge.py)."""
    if f["solidity"] < 0.76:
        return "star"
    if f["taper"] < 0.6:
        return "triangle"
    return "square" if f["corners"] >= 0.6 else "circle"


def judge(img: np.ndarray, min_area: float = 0.01) -> tuple[str, list[Judged]]:
    """(background colour, objects largest first) of an (H, W, 3) uint8 or float 0..255 image."""
    im = np.asarray(img, dtype=np.float32)[..., :3]
    H, W = im.shape[:2]
    border = np.concatenate([im[0], im[-1], im[:, 0], im[:, -1]])
    bg = np.median(border, axis=0)
    dist = np.linalg.norm(im - bg, axis=2)
    mask = dist > 40
    labels, n = ndimage.label(mask)
    objects = []
    for k in range(1, n + 1):
        comp = labels == k
        if comp.sum() < min_area * H * W:
            continue
        core = ndimage.binary_erosion(comp) if comp.sum() > 12 else comp
        colour_rgb = np.median(im[core if core.any() else comp], axis=0)
        full = max(np.linalg.norm(colour_rgb - bg), 1e-3)
        grown = ndimage.binary_dilation(comp)
        coverage = np.where(grown, np.clip(dist / full, 0, 1), 0)
        ys, xs = np.nonzero(comp)
        cy, cx = (
            (coverage * np.arange(H)[:, None]).sum() / coverage.sum(),
            (coverage * np.arange(W)[None]).sum() / coverage.sum(),
        )
        cx, cy = (cx + 0.5) / W, (cy + 0.5) / H
        width = (xs.max() - xs.min() + 1) / W
        position = min(POSITIONS, key=lambda p: (POSITIONS[p][0] - cx) ** 2 + (POSITIONS[p][1] - cy) ** 2)
        objects.append(
            Judged(
                nearest_colour(colour_rgb),
                classify_shape(shape_features(coverage)),
                "large" if width > 0.43 else "small",
                position,
                float(cx),
                float(cy),
                float(coverage.sum() / (H * W)),
            )
        )
    objects.sort(key=lambda o: -o.area)
    return nearest_colour(bg), objects


def read_batch(x) -> list[tuple[str, Judged | None]]:
    """(background colour, largest object or None) of each image of a batch (B, 3, H, W) in [-1, 1]."""
    rgb = ((x.detach().float().clamp(-1, 1) + 1) * 127.5).permute(0, 2, 3, 1).cpu().numpy()
    return [(bg, objs[0] if objs else None) for bg, objs in map(judge, rgb)]


def main_objects(x) -> list[Judged | None]:
    """The judge's reading of each image of a batch (B, 3, H, W) in [-1, 1]: its largest object, or None."""
    return [obj for _, obj in read_batch(x)]
