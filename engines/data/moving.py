"""Moving shapes (DESIGN.md, Imagen Video): clips of one shapes-world object crossing a flat background in a straight
line at constant speed, captioned with the direction; deterministic by seed."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

from .shapes import COLOURS, SHAPES, Scene, ShapeObject, draw

DIRECTIONS = ("to the right", "to the left", "up", "down")
SIZES = {"small": 0.30, "large": 0.45}  # the large one is smaller than the still world's 55%, so it fits the path


@dataclass(frozen=True)
class Clip:
    """One moving-shapes scene: the object, its background, where its centre starts and ends, and the caption."""

    colour: str
    shape: str
    size: str
    background: str
    direction: str
    r: float  # half the side of the bounding square, fraction of the width
    start: tuple[float, float]  # the centre (x, y) at the first frame, fractions of the width (y down)
    end: tuple[float, float]  # ... and at the last
    caption: str
    jitter_seed: int  # the colour jitter, the same in every frame

    def centre(self, f: int, frames: int) -> tuple[float, float]:
        """The object's centre at frame f of `frames`: linear from start (f = 0) to end (f = frames - 1)."""
        a = f / max(1, frames - 1)
        return (self.start[0] + a * (self.end[0] - self.start[0]), self.start[1] + a * (self.end[1] - self.start[1]))


def caption_for(colour: str, shape: str, size: str | None, direction: str, background: str | None) -> str:
    """'a [small|large] <colour> <shape> moving <direction> [on a <colour> background]'."""
    parts = ["a"] + ([size] if size else []) + [colour, shape, "moving", direction]
    if background:
        parts.append(f"on a {background} background")
    return " ".join(parts)


def random_clip(rng: np.random.Generator) -> Clip:
    """A random clip of the spec: x (or y) from U(0.2, 0.3) to U(0.7, 0.8), the other coordinate U(0.4, 0.6)."""
    background = str(rng.choice(list(COLOURS)))
    colour = str(rng.choice([c for c in COLOURS if c != background]))
    shape = str(rng.choice(SHAPES))
    size = str(rng.choice(list(SIZES)))
    direction = str(rng.choice(DIRECTIONS))
    r = SIZES[size] / 2 * rng.uniform(0.92, 1.08)
    a, b, other = rng.uniform(0.2, 0.3), rng.uniform(0.7, 0.8), rng.uniform(0.4, 0.6)
    if direction == "to the left":
        a, b = b, a
    if direction in ("to the right", "to the left"):
        start, end = (a, other), (b, other)
    else:  # image y grows downwards: up goes from the bottom (y ~ 0.75) to the top (y ~ 0.25)
        start, end = ((other, 1 - a), (other, 1 - b)) if direction == "up" else ((other, a), (other, b))
    caption = caption_for(
        colour, shape, size if rng.random() < 0.7 else None, direction, background if rng.random() < 0.5 else None
    )
    return Clip(colour, shape, size, background, direction, float(r), start, end, caption, int(rng.integers(2**31)))


def clip_for(seed: int, index: int) -> Clip:
    """The index-th clip of the moving world with this seed."""
    return random_clip(np.random.default_rng([seed, index, 7]))


def render_clip(clip: Clip, frames: int, size: int) -> np.ndarray:
    """(frames, size, size, 3) uint8: each frame drawn by the shapes world's draw (4x supersampled)."""
    out = []
    for f in range(frames):
        cx, cy = clip.centre(f, frames)
        obj = ShapeObject(clip.colour, clip.shape, clip.size, "center", cx, cy, clip.r)
        scene = Scene(clip.background, (obj,), clip.caption)
        out.append(np.asarray(draw(scene, size, np.random.default_rng(clip.jitter_seed)), dtype=np.uint8))
    return np.stack(out)


@lru_cache(maxsize=4)
def clips(n: int, frames: int, size: int = 32, seed: int = 0) -> tuple[Tensor, tuple[Clip, ...]]:
    """The first n clips of this seed as uint8 (n, 3, frames, size, size), and their Clip records."""
    cs = tuple(clip_for(seed, i) for i in range(n))
    arr = np.stack([render_clip(c, frames, size) for c in cs])  # (n, F, H, W, 3)
    return torch.from_numpy(arr).permute(0, 4, 1, 2, 3).contiguous(), cs


def with_caption(clip: Clip, caption: str) -> Clip:
    return replace(clip, caption=caption)


def parse_motion(prompt: str) -> str | None:
    """The direction a prompt asks for ('to the right', ...), or None when it names no motion."""
    m = _MOTION.search(" ".join(prompt.lower().split()))
    if m is None:
        return None
    d = m.group(1)
    return d if d in DIRECTIONS else f"to the {d}"


_MOTION = re.compile(r"\bmov(?:ing|es|e)\b(?:\s+\w+)?\s*\b(to the right|to the left|right|left|up|down)\b")
