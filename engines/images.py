"""Tensor <-> image helpers shared by the engines: PIL conversion, grids, strips, GIFs, safe loading of uploads."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

MAX_UPLOAD_PIXELS = 50_000_000


def to_pil(x: Tensor) -> Image.Image:
    """(C, H, W) in [-1, 1] -> PIL (L for one channel, RGB for three)."""
    a = ((x.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    if a.shape[0] == 1:
        return Image.fromarray(a[0].numpy(), "L")
    return Image.fromarray(a.permute(1, 2, 0).numpy(), "RGB")


def from_pil(img: Image.Image, channels: int = 3) -> Tensor:
    """PIL image -> (C, H, W) in [-1, 1], converted to L or RGB."""
    img = img.convert("L" if channels == 1 else "RGB")
    a = torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).float() / 127.5 - 1
    return a[None] if channels == 1 else a.permute(2, 0, 1)


def grid(
    imgs: list[Image.Image],
    cols: int | None = None,
    upscale: int = 1,
    pad: int = 1,
    bg: tuple[int, int, int] = (255, 255, 255),
) -> Image.Image:
    """Tile images (all the same size) into a grid, nearest-neighbour upscaled, with `pad` pixels between tiles."""
    if not imgs:
        raise ValueError("no images to tile")
    cols = cols or math.ceil(math.sqrt(len(imgs)))
    rows = math.ceil(len(imgs) / cols)
    w, h = imgs[0].size[0] * upscale, imgs[0].size[1] * upscale
    out = Image.new("RGB", (cols * w + (cols - 1) * pad, rows * h + (rows - 1) * pad), bg)
    for i, im in enumerate(imgs):
        im = im.convert("RGB")
        if upscale != 1:
            im = im.resize((w, h), Image.Resampling.NEAREST)
        out.paste(im, ((i % cols) * (w + pad), (i // cols) * (h + pad)))
    return out


def batch_grid(x: Tensor, upscale: int = 1, cols: int | None = None) -> Image.Image:
    """A batch (B, C, H, W) in [-1, 1] as one grid image."""
    return grid([to_pil(xi) for xi in x], cols=cols, upscale=upscale)


def save_gif(frames: list[Image.Image], path: str | Path, duration_ms: int = 80, hold_last_ms: int = 1200) -> Path:
    """Write an animated GIF that loops, holding the last frame a little longer."""
    path = Path(path)
    durations = [duration_ms] * (len(frames) - 1) + [hold_last_ms]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=durations, loop=0, optimize=False)
    return path


def load_upload(img: Image.Image | np.ndarray | str | Path | None) -> Image.Image:
    """Any uploaded image (path, array or PIL; any mode or size) as an RGB PIL image; ValueError if it is not one."""
    if img is None:
        raise ValueError("no image given: upload one or pick an example")
    if isinstance(img, (str, Path)):
        try:
            with Image.open(img) as f:
                if f.width * f.height > MAX_UPLOAD_PIXELS:
                    raise ValueError(
                        f"image too large ({f.width}x{f.height}); the limit is {MAX_UPLOAD_PIXELS:,} pixels"
                    )
                img = f.copy()
        except (OSError, Image.DecompressionBombError) as e:
            raise ValueError(f"that file is not an image this app can read ({e.__class__.__name__})") from e
    elif isinstance(img, np.ndarray):
        a = img
        if a.dtype != np.uint8:
            a = np.clip(a * (255 if a.max() <= 1.0 else 1), 0, 255).astype(np.uint8)
        img = Image.fromarray(a)
    if img.mode in ("RGBA", "LA", "P", "PA"):
        rgba = img.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(bg, rgba)
    return img.convert("RGB")


def fit_square(img: Image.Image, size: int) -> Image.Image:
    """Centre-crop to a square and resize to size x size (area-averaging when shrinking)."""
    w, h = img.size
    s = min(w, h)
    img = img.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s))
    if s > 4 * size:  # cheap first pass for huge uploads
        img = img.reduce(s // (2 * size))
    return img.resize((size, size), Image.Resampling.LANCZOS)
