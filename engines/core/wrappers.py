"""Denoiser wrappers for image-to-image work: keep known pixels (Palette inpainting / uncropping) and process a
large canvas in overlapping tiles (SR3 beyond its training size)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from .diffusion import split_prediction
from .samplers import Denoiser
from .schedules import Schedule


def known_pixels(denoiser: Denoiser, y0: Tensor, mask: Tensor, schedule: Schedule) -> Denoiser:
    """Palette (Saharia et al. 2022, Sec. 4): the network sees the known region clean, y_t <- y_0 (1 - m) + y_t m,
    and the known region of x0_hat is y_0, so the final sample keeps every known pixel exactly.

    mask: 1 where pixels are missing (to generate), 0 where they are known; broadcastable to y0.
    """

    def net(x_t: Tensor, t: Tensor, cond: Any) -> Tensor:
        x_in = y0 * (1 - mask) + x_t * mask
        x0, _ = split_prediction(denoiser.net(x_in, t, cond), x_in, schedule.at(t), denoiser.parameterization)
        if denoiser.clip is not None:
            x0 = x0.clamp(*denoiser.clip)
        return y0 * (1 - mask) + x0 * mask

    return Denoiser(net, "x0", denoiser.clip)


def _window(size: int, overlap: int, device: torch.device) -> Tensor:
    """A separable weight that ramps up over `overlap` pixels at each edge: (size, size)."""
    w = torch.ones(size, device=device)
    if overlap > 0:
        ramp = torch.linspace(0, 1, overlap + 2, device=device)[1:-1]
        w[:overlap], w[-overlap:] = ramp, ramp.flip(0)
    return w[:, None] * w[None, :]


def _starts(length: int, tile: int, overlap: int) -> list[int]:
    if length <= tile:
        return [0]
    step = tile - overlap
    starts = list(range(0, length - tile, step)) + [length - tile]
    return sorted(set(starts))


def tiled(denoiser: Denoiser, tile: int, overlap: int) -> Denoiser:
    """Run the network on overlapping tile x tile windows of x_t (and of an image cond of the same size) and
    blend the predictions with ramped weights, so a model trained on small crops serves any canvas size."""

    def net(x_t: Tensor, t: Tensor, cond: Any) -> Tensor:
        B, C, H, W = x_t.shape
        if H <= tile and W <= tile:
            return denoiser.net(x_t, t, cond)
        out = torch.zeros_like(x_t)
        weight = torch.zeros(1, 1, H, W, device=x_t.device)
        win = _window(tile, overlap, x_t.device)
        for y in _starts(H, tile, overlap):
            for x in _starts(W, tile, overlap):
                sl = (slice(None), slice(None), slice(y, y + tile), slice(x, x + tile))
                c = cond[sl] if isinstance(cond, Tensor) and cond.dim() == 4 else cond
                out[sl] += denoiser.net(x_t[sl], t, c) * win
                weight[sl] += win
        return out / weight

    return Denoiser(net, denoiser.parameterization, denoiser.clip)
