"""Command line of the Annotated Diffusion engine.

With --input IMG: the forward process q(x_t | x_0): DIR/000.png is x_t at --t, DIR/strip.png x_t at several t.
With --toy moons|swissroll: the 2-D toy sampled; DIR/000.png is the final cloud, DIR/strip.png snapshots of the flow.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from . import annotated, toy2d
from .core.samplers import SAMPLERS
from .core.schedules import SCHEDULES
from .images import grid


def scatter_image(points: np.ndarray, size: int = 256, extent: float = 3.0, colour=(40, 90, 220)) -> Image.Image:
    """Draw a 2-D point cloud on a white square covering [-extent, extent]^2."""
    img = Image.new("RGB", (size, size), "white")
    d = ImageDraw.Draw(img)
    px = (points * np.array([1, -1]) / (2 * extent) + 0.5) * size
    for x, y in px:
        d.ellipse([x - 1.5, y - 1.5, x + 1.5, y + 1.5], fill=colour)
    return img


def cli_args(p) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--input", help="an image for the forward process")
    src.add_argument("--toy", choices=list(toy2d.TOYS), help="sample the 2-D toy instead")
    p.add_argument("--schedule", choices=list(SCHEDULES), default="linear")
    p.add_argument("--T", type=int, default=1000, help="number of diffusion steps of the forward process")
    p.add_argument("--t", type=int, default=250, help="the timestep to show, 0..T-1")
    p.add_argument("--sampler", choices=list(SAMPLERS), default="ddpm", help="(toy) sampler")
    p.add_argument("--steps", type=int, default=50, help="(toy) sampling steps")
    p.add_argument("--n", type=int, default=1000, help="(toy) number of points")
    p.add_argument("--seed", type=int, default=0)


def cli_main(a):
    if a.input:
        x_t, strip, _ = annotated.forward_process(a.input, a.schedule, a.t, a.T, a.seed)
        return [x_t], {"strip.png": strip}
    frames = [s.x.numpy() for s in toy2d.sample(a.toy, a.sampler, a.steps, a.n, a.seed)]
    picks = [frames[int(i)] for i in np.linspace(0, len(frames) - 1, 5)]
    return [scatter_image(frames[-1])], {"strip.png": grid([scatter_image(f, 160) for f in picks], cols=5, pad=2)}
