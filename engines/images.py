"""Tensor <-> image helpers shared by the engines: PIL conversion, grids, strips, GIFs, safe loading of uploads."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

MAX_UPLOAD_PIXELS = 50_000_000
MAX_SIDE = 2048  # uploads are reduced to this on their long side: every engine works at 256 pixels or less
MIN_SIDE = 4


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


def _eight_bit(img: Image.Image) -> Image.Image:
    """16-bit and 32-bit greyscale (I;16, I, F) scaled to 8-bit L; PIL's own convert would clip them to white."""
    a = np.asarray(img, dtype=np.float64)
    top = 65535.0 if a.max(initial=0) > 255 else 255.0
    return Image.fromarray(np.clip(a / top * 255, 0, 255).round().astype(np.uint8), "L")


def _open(path: str | Path, max_side: int) -> Image.Image:
    """Decode an image file, at most about max_side pixels on its long side (JPEGs decode reduced; others are
    reduced right after decoding); ValueError with what to do for anything that is not a readable image."""
    try:
        with Image.open(path) as f:
            if f.width * f.height > MAX_UPLOAD_PIXELS:
                raise ValueError(
                    f"image too large ({f.width}x{f.height}); the limit is {MAX_UPLOAD_PIXELS:,} pixels: "
                    "downscale it first"
                )
            size = f.size
            f.draft("RGB", (max_side, max_side))  # JPEG only: decode at 1/2, 1/4 or 1/8 scale
            img = f.copy()  # decodes: a truncated file fails here
    except FileNotFoundError as e:
        raise ValueError(f"no such image file: {Path(path).name}; upload it again or pick an example") from e
    except Image.DecompressionBombError as e:
        raise ValueError(f"image too large; the limit is {MAX_UPLOAD_PIXELS:,} pixels: downscale it first") from e
    except Image.UnidentifiedImageError as e:
        raise ValueError(
            "that file is not an image this app can read: upload a PNG, JPEG, WebP, GIF or BMP picture"
        ) from e
    except (OSError, SyntaxError, EOFError) as e:  # truncated or corrupt data inside a known format
        raise ValueError(
            f"that file is not an image this app can read: it looks damaged or cut short ({e.__class__.__name__}); "
            "upload the picture again, or save it as PNG or JPEG"
        ) from e
    img.info["original_size"] = size
    return img


def load_upload(img: Image.Image | np.ndarray | str | Path | None, max_side: int = MAX_SIDE) -> Image.Image:
    """Any uploaded image (path, array or PIL; any mode, bit depth or size) as an RGB PIL image of at most about
    max_side pixels on its long side (reduced by an integer factor; img.info["original_size"] keeps the upload's
    size); ValueError with what to do if it is not one, or smaller than MIN_SIDE pixels."""
    if img is None:
        raise ValueError("no image given: upload one or pick an example")
    if isinstance(img, (str, Path)):
        img = _open(img, max_side)
    elif isinstance(img, np.ndarray):
        try:
            a = img if img.dtype == np.uint8 else np.clip(img * (255 if img.max() <= 1.0 else 1), 0, 255)
            img = Image.fromarray(a.astype(np.uint8))
        except (TypeError, ValueError) as e:
            raise ValueError(f"that array is not an image (shape {img.shape}, {img.dtype})") from e
    elif not isinstance(img, Image.Image):
        raise ValueError(f"the image must be an uploaded picture, got {type(img).__name__}")
    size = img.info.get("original_size", img.size)
    if min(img.size) < MIN_SIDE:
        raise ValueError(f"the image is {img.width}x{img.height} pixels; give one at least {MIN_SIDE}x{MIN_SIDE}")
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        img = _eight_bit(img)
    if max(img.size) > max_side:
        img = img.convert("RGBA" if "A" in img.getbands() or img.mode in ("P", "PA") else "RGB")
        img = img.reduce(math.ceil(max(img.size) / max_side))
    if img.mode in ("RGBA", "LA", "P", "PA"):
        rgba = img.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(bg, rgba)
    out = img.convert("RGB")
    out.info["original_size"] = size
    return out


def fit_square(img: Image.Image, size: int) -> Image.Image:
    """Centre-crop to a square and resize to size x size (area-averaging when shrinking)."""
    w, h = img.size
    s = min(w, h)
    img = img.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s))
    if s > 4 * size:  # cheap first pass for huge uploads
        img = img.reduce(s // (2 * size))
    return img.resize((size, size), Image.Resampling.LANCZOS)


def heatmap(a: np.ndarray, height: int | None = None, flip: bool = True) -> Image.Image:
    """A 2-D array (rows x columns, e.g. mel bins x frames) as a viridis-like RGB image, low rows at the bottom."""
    x = np.asarray(a, dtype=np.float32)
    lo, hi = np.percentile(x, 1), np.percentile(x, 99.5)
    v = np.clip((x - lo) / max(hi - lo, 1e-8), 0, 1)
    stops = np.array([[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]], np.float32)
    pos = v * (len(stops) - 1)
    i = np.minimum(pos.astype(int), len(stops) - 2)
    rgb = stops[i] + (stops[i + 1] - stops[i]) * (pos - i)[..., None]  # (rows, cols, 3)
    img = Image.fromarray((rgb[::-1] if flip else rgb).astype(np.uint8), "RGB")
    return img if height is None else img.resize((img.width, height), Image.NEAREST)
