"""Gaussian diffusion maths: q(x_t | x_0), the posterior q(x_{t-1} | x_t, x_0), eps / x0 / v conversions, losses."""

from __future__ import annotations

from typing import Callable, Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from .schedules import Schedule

Parameterization = Literal["eps", "x0", "v"]
PARAMETERIZATIONS = ("eps", "x0", "v")


def bcast(a: Tensor | float, x: Tensor) -> Tensor:
    """Reshape a per-example (B,) or scalar coefficient to broadcast against x of shape (B, ...)."""
    a = torch.as_tensor(a, dtype=x.dtype, device=x.device)
    return a.reshape(-1, *([1] * (x.dim() - 1))) if a.dim() > 0 else a


def q_sample(x0: Tensor, alpha_bar: Tensor | float, eps: Tensor) -> Tensor:
    """Ho et al. 2020, Eq. 4: x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps."""
    ab = bcast(alpha_bar, x0)
    return ab.sqrt() * x0 + (1 - ab).sqrt() * eps


def q_posterior(x0: Tensor, x_t: Tensor, ab_t: Tensor | float, ab_prev: Tensor | float) -> tuple[Tensor, Tensor]:
    """Ho et al. 2020, Eq. 6-7, for any pair of steps: mean and variance of q(x_prev | x_t, x_0).

    With alpha_t = ab_t / ab_prev and beta_t = 1 - alpha_t:
    mean = beta_t sqrt(ab_prev)/(1-ab_t) x_0 + (1-ab_prev) sqrt(alpha_t)/(1-ab_t) x_t,
    var  = beta_t (1-ab_prev)/(1-ab_t).
    """
    ab_t, ab_prev = bcast(ab_t, x_t), bcast(ab_prev, x_t)
    alpha_t = ab_t / ab_prev
    beta_t = 1 - alpha_t
    coef1 = beta_t * ab_prev.sqrt() / (1 - ab_t)
    coef2 = (1 - ab_prev) * alpha_t.sqrt() / (1 - ab_t)
    return coef1 * x0 + coef2 * x_t, beta_t * (1 - ab_prev) / (1 - ab_t)


def eps_to_x0(eps: Tensor, x_t: Tensor, alpha_bar: Tensor | float) -> Tensor:
    """x_0 = (x_t - sqrt(1 - alpha_bar) eps) / sqrt(alpha_bar)."""
    ab = bcast(alpha_bar, x_t)
    return (x_t - (1 - ab).sqrt() * eps) / ab.sqrt()


def x0_to_eps(x0: Tensor, x_t: Tensor, alpha_bar: Tensor | float) -> Tensor:
    """eps = (x_t - sqrt(alpha_bar) x_0) / sqrt(1 - alpha_bar)."""
    ab = bcast(alpha_bar, x_t)
    return (x_t - ab.sqrt() * x0) / (1 - ab).sqrt()


def v_target(x0: Tensor, eps: Tensor, alpha_bar: Tensor | float) -> Tensor:
    """Salimans & Ho 2022: v = sqrt(alpha_bar) eps - sqrt(1 - alpha_bar) x_0."""
    ab = bcast(alpha_bar, x0)
    return ab.sqrt() * eps - (1 - ab).sqrt() * x0


def v_to_x0(v: Tensor, x_t: Tensor, alpha_bar: Tensor | float) -> Tensor:
    """x_0 = sqrt(alpha_bar) x_t - sqrt(1 - alpha_bar) v."""
    ab = bcast(alpha_bar, x_t)
    return ab.sqrt() * x_t - (1 - ab).sqrt() * v


def v_to_eps(v: Tensor, x_t: Tensor, alpha_bar: Tensor | float) -> Tensor:
    """eps = sqrt(1 - alpha_bar) x_t + sqrt(alpha_bar) v."""
    ab = bcast(alpha_bar, x_t)
    return (1 - ab).sqrt() * x_t + ab.sqrt() * v


def split_prediction(
    pred: Tensor, x_t: Tensor, alpha_bar: Tensor | float, parameterization: str
) -> tuple[Tensor, Tensor]:
    """Turn a network output of any parameterisation into the pair (x0_hat, eps_hat)."""
    if parameterization == "eps":
        return eps_to_x0(pred, x_t, alpha_bar), pred
    if parameterization == "x0":
        return pred, x0_to_eps(pred, x_t, alpha_bar)
    if parameterization == "v":
        return v_to_x0(pred, x_t, alpha_bar), v_to_eps(pred, x_t, alpha_bar)
    raise ValueError(f"unknown parameterization {parameterization!r}; choose eps, x0 or v")


def target_for(parameterization: str, x0: Tensor, eps: Tensor, alpha_bar: Tensor | float) -> Tensor:
    """What the network regresses: eps (DDPM), x_0, or v."""
    if parameterization == "eps":
        return eps
    if parameterization == "x0":
        return x0
    if parameterization == "v":
        return v_target(x0, eps, alpha_bar)
    raise ValueError(f"unknown parameterization {parameterization!r}; choose eps, x0 or v")


def min_snr_weight(snr: Tensor, parameterization: str, gamma: float | None) -> Tensor:
    """Hang et al. 2023 (Min-SNR-gamma): the per-t loss weight min(SNR, gamma) / SNR, expressed for each target."""
    if gamma is None:
        return torch.ones_like(snr)
    clipped = snr.clamp(max=gamma)
    if parameterization == "eps":
        return clipped / snr
    if parameterization == "v":
        return clipped / (snr + 1)
    return clipped


def elementwise_loss(pred: Tensor, target: Tensor, kind: str = "l2") -> Tensor:
    """Per-example loss, mean over all but the batch axis: l2 (L_simple), l1, or huber (the Annotated post)."""
    if kind == "l2":
        e = F.mse_loss(pred, target, reduction="none")
    elif kind == "l1":
        e = F.l1_loss(pred, target, reduction="none")
    elif kind == "huber":
        e = F.smooth_l1_loss(pred, target, reduction="none")
    else:
        raise ValueError(f"unknown loss {kind!r}; choose l2, l1 or huber")
    return e.flatten(1).mean(1)


def diffusion_loss(
    net: Callable[..., Tensor],
    x0: Tensor,
    schedule: Schedule,
    parameterization: str = "eps",
    loss: str = "l2",
    min_snr_gamma: float | None = None,
    generator: torch.Generator | None = None,
    **cond,
) -> Tensor:
    """Ho et al. 2020, Algorithm 1 (L_simple), with optional v / x0 targets and Min-SNR weighting.

    t ~ U{0..T-1}, eps ~ N(0, I), x_t = q_sample(x_0, t, eps); regress the target from net(x_t, t, **cond).
    """
    B = x0.shape[0]
    t = torch.randint(0, schedule.T, (B,), generator=generator, device="cpu").to(x0.device)
    eps = torch.randn(x0.shape, generator=generator, device="cpu").to(x0.device)
    ab = schedule.at(t)
    x_t = q_sample(x0, ab, eps)
    pred = net(x_t, t, **cond)
    per_example = elementwise_loss(pred, target_for(parameterization, x0, eps, ab), loss)
    w = min_snr_weight(ab / (1 - ab), parameterization, min_snr_gamma)
    return (w * per_example).mean()


def noise_level_loss(
    net: Callable[..., Tensor],
    x0: Tensor,
    schedule: Schedule,
    loss: str = "l1",
    generator: torch.Generator | None = None,
    mask: Tensor | None = None,
    parameterization: str = "eps",
    **cond,
) -> Tensor:
    """SR3 (Saharia et al. 2021, Sec. 2.4) / WaveGrad: condition on a continuous noise level, not on t.

    t ~ U{0..T-1}, gamma ~ U(sqrt(alpha_bar_t), sqrt(alpha_bar_{t-1})) (alpha_bar_{-1} = 1),
    x = gamma x_0 + sqrt(1 - gamma^2) eps; regress eps (or v = gamma eps - sqrt(1 - gamma^2) x_0) from
    net(x, gamma, **cond).
    With a mask (1 = to generate), Palette's variant: the known region of x is x_0 itself and only the masked
    region's eps is scored, L(m * eps, m * eps_hat).
    """
    B = x0.shape[0]
    sqrt_ab = torch.cat([torch.ones(1), schedule.alpha_bar.float().sqrt()])  # index t+1 -> sqrt(alpha_bar_t)
    t = torch.randint(0, schedule.T, (B,), generator=generator)
    u = torch.rand(B, generator=generator)
    gamma = (sqrt_ab[t + 1] + u * (sqrt_ab[t] - sqrt_ab[t + 1])).to(x0.device)
    eps = torch.randn(x0.shape, generator=generator).to(x0.device)
    g = bcast(gamma, x0)
    x = g * x0 + (1 - g**2).sqrt() * eps
    target = target_for(parameterization, x0, eps, g**2)
    if mask is None:
        return elementwise_loss(net(x, gamma, **cond), target, loss).mean()
    x = x * mask + x0 * (1 - mask)
    return elementwise_loss(net(x, gamma, **cond) * mask, target * mask, loss).mean()
