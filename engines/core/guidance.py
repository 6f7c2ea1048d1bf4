"""Guidance as wrappers of a Denoiser, so every sampler gets them for free: classifier-free guidance (Ho & Salimans
2022), classifier guidance (Dhariwal & Nichol 2021) and dynamic thresholding (Saharia et al. 2022)."""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor

from .diffusion import bcast, split_prediction
from .samplers import Denoiser
from .schedules import Schedule


def cat_cond(a: Any, b: Any) -> Any:
    """Concatenate two conditionings along the batch axis: tensors, dicts of tensors (or None entries), or None."""
    if a is None and b is None:
        return None
    if isinstance(a, Tensor):
        return torch.cat([a, b], dim=0)
    if isinstance(a, dict):
        return {k: cat_cond(a[k], b[k]) for k in a}
    raise TypeError(f"cannot batch a conditioning of type {type(a).__name__}")


def classifier_free(denoiser: Denoiser, null_cond: Callable[[Any], Any], scale: float) -> Denoiser:
    """Ho & Salimans 2022, Eq. 6, in the Imagen / LDM convention: pred = pred_u + s (pred_c - pred_u).

    s = 1 + w of the paper: s = 0 is the unconditional model, s = 1 the conditional one, s > 1 guides.
    Both predictions come from one doubled batch. null_cond(cond) builds the 'no condition' for a batch.
    The combination is linear, so it is the same in eps, x0 or v: the parameterisation is kept.
    """

    def net(x_t: Tensor, t: Tensor, cond: Any) -> Tensor:
        if scale == 1.0:
            return denoiser.net(x_t, t, cond)
        if scale == 0.0:
            return denoiser.net(x_t, t, null_cond(cond))
        both = denoiser.net(torch.cat([x_t, x_t]), torch.cat([t, t]), cat_cond(cond, null_cond(cond)))
        pred_c, pred_u = both.chunk(2)
        return pred_u + scale * (pred_c - pred_u)

    return Denoiser(net, denoiser.parameterization, denoiser.clip)


def classifier_guidance(
    denoiser: Denoiser, log_prob: Callable[[Tensor, Tensor, Any], Tensor], schedule: Schedule, scale: float
) -> Denoiser:
    """Dhariwal & Nichol 2021, Algorithm 2 / Eq. 14 (condition_score): eps' = eps - sqrt(1 - alpha_bar_t) s grad log p(y|x_t).

    log_prob(x_t, t, cond) -> (B,) log p_phi(y | x_t) of a noise-aware classifier; the result is an eps-denoiser.
    """

    def net(x_t: Tensor, t: Tensor, cond: Any) -> Tensor:
        ab = schedule.at(t)
        _, eps = split_prediction(denoiser.net(x_t, t, cond), x_t, ab, denoiser.parameterization)
        if scale == 0.0:
            return eps
        with torch.enable_grad():
            x_in = x_t.detach().requires_grad_(True)
            grad = torch.autograd.grad(log_prob(x_in, t, cond).sum(), x_in)[0]
        return eps - bcast((1 - ab).sqrt(), x_t) * scale * grad

    return Denoiser(net, "eps", denoiser.clip)


def dynamic_threshold(x0: Tensor, p: float = 0.995) -> Tensor:
    """Saharia et al. 2022, Sec. 2.3: s = max(1, percentile_p(|x0_hat|)) per sample; x0_hat <- clip(x0_hat, -s, s) / s."""
    s = torch.quantile(x0.detach().abs().flatten(1).float(), p, dim=1).clamp(min=1.0)
    s = bcast(s, x0)
    return x0.clamp(-s, s) / s


def thresholded(denoiser: Denoiser, schedule: Schedule, p: float | None) -> Denoiser:
    """Wrap a denoiser so its x0_hat is dynamically thresholded at percentile p (None: static clipping to [-1, 1])."""
    if p is None:
        return denoiser

    def net(x_t: Tensor, t: Tensor, cond: Any) -> Tensor:
        x0, _ = split_prediction(denoiser.net(x_t, t, cond), x_t, schedule.at(t), denoiser.parameterization)
        return dynamic_threshold(x0, p)

    return Denoiser(net, "x0", clip=None)
