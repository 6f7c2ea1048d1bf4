"""The shapes world (DESIGN.md): procedural scenes of flat-coloured shapes with captions, deterministic by seed."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import Tensor

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "orange": (245, 140, 20),
    "yellow": (235, 215, 40),
    "green": (40, 165, 70),
    "blue": (40, 90, 220),
    "purple": (140, 60, 180),
    "white": (240, 240, 240),
    "black": (25, 25, 25),
    "gray": (128, 128, 128),
}
SHAPES = ("circle", "square", "triangle", "star")
SIZES = {"small": 0.30, "large": 0.55}
POSITIONS = {  # centre as fractions of the width: a quarter of the width from the named edge
    "center": (0.5, 0.5),
    "left": (0.25, 0.5),
    "right": (0.75, 0.5),
    "top": (0.5, 0.25),
    "bottom": (0.5, 0.75),
}
POSITION_PHRASES = {
    "center": "in the center",
    "left": "on the left",
    "right": "on the right",
    "top": "at the top",
    "bottom": "at the bottom",
}
RELATIONS = {"left": "to the left of", "right": "to the right of", "above": "above", "below": "below"}
CLASSES = tuple(f"{c} {s}" for c in COLOURS for s in SHAPES)  # one class per (colour, shape): 36
SUPERSAMPLE = 4


@dataclass(frozen=True)
class ShapeObject:
    colour: str
    shape: str
    size: str
    position: str
    cx: float  # centre, fraction of width
    cy: float
    r: float  # half the side of the bounding square, fraction of width


@dataclass(frozen=True)
class Scene:
    background: str
    objects: tuple[ShapeObject, ...]
    caption: str

    @property
    def label(self) -> int:
        """Class index of the first object, 'colour shape' (for class-conditional models)."""
        o = self.objects[0]
        return CLASSES.index(f"{o.colour} {o.shape}")


def _jitter(rgb: tuple[int, int, int], rng: np.random.Generator, amount: int = 15) -> tuple[int, ...]:
    return tuple(int(np.clip(c + rng.integers(-amount, amount + 1), 0, 255)) for c in rgb)


def _polygon(shape: str, cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    if shape == "square":
        return [(cx - r, cy - r), (cx + r, cy - r), (cx + r, cy + r), (cx - r, cy + r)]
    if shape == "triangle":  # apex up, base at the bottom of the bounding square
        return [(cx, cy - r), (cx + r, cy + r), (cx - r, cy + r)]
    if shape == "star":  # five points, inner radius 0.45 of the outer
        pts = []
        for k in range(10):
            a = -math.pi / 2 + k * math.pi / 5
            rr = r if k % 2 == 0 else 0.45 * r
            pts.append((cx + rr * math.cos(a), cy + rr * math.sin(a) * 1.0 + 0.08 * r))
        return pts
    raise ValueError(shape)


def draw(scene: Scene, size: int, rng: np.random.Generator | None = None) -> Image.Image:
    """Render a scene at size x size: drawn at 4x and downsampled, so edges are anti-aliased."""
    rng = rng or np.random.default_rng(0)
    S = size * SUPERSAMPLE
    img = Image.new("RGB", (S, S), _jitter(COLOURS[scene.background], rng))
    d = ImageDraw.Draw(img)
    for o in scene.objects:
        fill = _jitter(COLOURS[o.colour], rng)
        cx, cy, r = o.cx * S, o.cy * S, o.r * S
        if o.shape == "circle":
            d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
        else:
            d.polygon(_polygon(o.shape, cx, cy, r), fill=fill)
    return img.resize((size, size), Image.Resampling.BOX)


def _object(
    rng: np.random.Generator, avoid: set[str], size: str, position: str, centre: tuple[float, float]
) -> ShapeObject:
    colour = str(rng.choice([c for c in COLOURS if c not in avoid]))
    shape = str(rng.choice(SHAPES))
    r = SIZES[size] / 2 * rng.uniform(0.92, 1.08)
    cx = float(np.clip(centre[0] + rng.uniform(-0.04, 0.04), r, 1 - r))
    cy = float(np.clip(centre[1] + rng.uniform(-0.04, 0.04), r, 1 - r))
    return ShapeObject(colour, shape, size, position, cx, cy, r)


def _caption_one(o: ShapeObject, background: str, rng: np.random.Generator) -> str:
    parts = ["a"]
    if rng.random() < 0.7:
        parts.append(o.size)
    parts += [o.colour, o.shape]
    if rng.random() < 0.7:
        parts.append(POSITION_PHRASES[o.position])
    if rng.random() < 0.5:
        parts.append(f"on a {background} background")
    return " ".join(parts)


def random_scene(rng: np.random.Generator, p_two: float = 0.2) -> Scene:
    """A random scene: usually one object; with probability p_two two small ones side by side or stacked."""
    background = str(rng.choice(list(COLOURS)))
    if rng.random() < p_two:
        rel = str(rng.choice(list(RELATIONS)))
        if rel in ("left", "right"):
            a_pos, b_pos = ("left", "right") if rel == "left" else ("right", "left")
        else:
            a_pos, b_pos = ("top", "bottom") if rel == "above" else ("bottom", "top")
        a = _object(rng, {background}, "small", a_pos, POSITIONS[a_pos])
        b = _object(rng, {background, a.colour}, "small", b_pos, POSITIONS[b_pos])
        caption = f"a {a.colour} {a.shape} {RELATIONS[rel]} a {b.colour} {b.shape}"
        return Scene(background, (a, b), caption)
    size = str(rng.choice(list(SIZES)))
    position = "center" if size == "large" and rng.random() < 0.5 else str(rng.choice(list(POSITIONS)))
    o = _object(rng, {background}, size, position, POSITIONS[position])
    return Scene(background, (o,), _caption_one(o, background, rng))


def scene_for(seed: int, index: int, p_two: float = 0.2) -> tuple[Scene, np.random.Generator]:
    """The index-th scene of the world with this seed (and the generator that then jitters its colours)."""
    rng = np.random.default_rng([seed, index])
    return random_scene(rng, p_two), rng


def render(seed: int, index: int, size: int = 32, p_two: float = 0.2) -> tuple[Image.Image, Scene]:
    """The index-th image of the world with this seed, and its scene (caption, objects, background)."""
    scene, rng = scene_for(seed, index, p_two)
    return draw(scene, size, rng), scene


def to_tensor(images: list[Image.Image]) -> Tensor:
    """PIL RGB images -> (N, 3, H, W) float in [-1, 1]."""
    arr = np.stack([np.asarray(im.convert("RGB"), dtype=np.uint8) for im in images])
    return torch.from_numpy(arr).permute(0, 3, 1, 2).float() / 127.5 - 1


@lru_cache(maxsize=4)
def dataset(n: int, size: int = 32, seed: int = 0, p_two: float = 0.2) -> tuple[Tensor, tuple[Scene, ...]]:
    """The first n images of the world with this seed as a uint8 tensor (n, 3, size, size), and their scenes."""
    imgs, scenes = [], []
    for i in range(n):
        im, sc = render(seed, i, size, p_two)
        imgs.append(np.asarray(im, dtype=np.uint8))
        scenes.append(sc)
    return torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).contiguous(), tuple(scenes)


def shapes_batches(batch_size: int, size: int = 32, n: int = 20000, seed: int = 0):
    """A batch function for the training loop: fn(step, generator) -> (batch_size, 3, size, size) in [-1, 1]."""
    images, _ = dataset(n, size, seed)

    def fn(step: int, gen: torch.Generator) -> Tensor:
        return images[torch.randint(0, n, (batch_size,), generator=gen)].float() / 127.5 - 1

    return fn
