"""Samplers as generators: each yields a Step at every iteration; the last Step's x is the sample.

All samplers share one contract (DESIGN.md): `for step in sampler(denoiser, x_T, schedule, steps, ...)`.
A Denoiser is a function (x_t, t, cond) -> prediction with its parameterisation stated; wrappers (guidance,
thresholding, known-pixel replacement) are Denoisers too, so every sampler gets them for free.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np
import torch
from torch import Tensor

from .diffusion import bcast, q_posterior, split_prediction
from .schedules import Schedule

SAMPLERS = ("ddpm", "ddim", "dpm++")


@dataclass(frozen=True)
class Step:
    """One sampler iteration: step `index` of `total`, at training timestep t, giving the new x and the predicted x_0."""

    index: int
    total: int
    t: int
    x: Tensor  # x_{t_next}: the state after this step (the final sample after the last step)
    x0: Tensor  # the denoiser's x_0 estimate at t


@dataclass(frozen=True)
class Denoiser:
    """A network wrapped as (x_t, t, cond) -> prediction, with its parameterisation ('eps', 'x0' or 'v')."""

    net: Callable[[Tensor, Tensor, Any], Tensor]
    parameterization: str = "eps"
    clip: tuple[float, float] | None = (-1.0, 1.0)  # static thresholding of x0_hat; None for unbounded data
    extras: dict = field(default_factory=dict)

    def __call__(self, x_t: Tensor, t: Tensor, cond: Any = None) -> Tensor:
        return self.net(x_t, t, cond)

    def predict(self, x_t: Tensor, t: int, alpha_bar: Tensor, cond: Any = None) -> tuple[Tensor, Tensor]:
        """(x0_hat, eps_hat) at integer timestep t; x0_hat clipped if clip is set, eps_hat made consistent with it."""
        t_batch = torch.full((x_t.shape[0],), int(t), dtype=torch.long, device=x_t.device)
        pred = self.net(x_t, t_batch, cond)
        x0, eps = split_prediction(pred, x_t, alpha_bar, self.parameterization)
        if self.clip is not None:
            x0 = x0.clamp(*self.clip)
            ab = bcast(alpha_bar, x_t)
            eps = (x_t - ab.sqrt() * x0) / (1 - ab).sqrt()
        return x0, eps


def timesteps(T: int, steps: int, schedule: Schedule | None = None, start: int | None = None) -> list[int]:
    """`steps` training timesteps from `start` (default T-1) down to 0 (respacing, Nichol & Dhariwal 2021, Sec. 4); one
    step is `start` alone.

    Evenly spaced in t; or, given a schedule, evenly spaced in log-SNR lambda_t (the spacing Lu et al. 2022
    recommend for DPM-Solver at low resolution); steps that would repeat are moved apart by one. A start below T-1
    begins part-way, from an x_start that is data diffused to that step (SDEdit, Meng et al. 2022; LION's
    diffuse-denoise).
    """
    top = T - 1 if start is None else int(start)
    if not 0 <= top <= T - 1:
        raise ValueError(f"the start step must be between 0 and {T - 1}, got {start}")
    if not 1 <= steps <= top + 1:
        raise ValueError(f"steps must be between 1 and {top + 1}, got {steps}")
    if steps == 1:  # one step starts from the noise itself
        return [top]
    if schedule is None or steps < 3:
        return [int(t) for t in np.unique(np.round(np.linspace(0, top, steps)).astype(int))[::-1]]
    lam = np.log(schedule.snr.numpy())[: top + 1]  # decreasing in t
    t_of_lam = np.interp(np.linspace(lam[-1], lam[0], steps), lam[::-1], np.arange(top + 1)[::-1])
    t = np.round(t_of_lam[::-1]).astype(int)  # ascending, 0 .. top, with repeats where lambda is steep
    t[0] = 0
    for k in range(1, steps):  # make strictly increasing from the clean end ...
        t[k] = max(t[k], t[k - 1] + 1)
    t[-1] = top
    for k in range(steps - 2, -1, -1):  # ... and fit under top from the noisy end
        t[k] = min(t[k], t[k + 1] - 1)
    return [int(v) for v in t[::-1]]


def _alpha_bars(schedule: Schedule, ts: list[int], x: Tensor) -> tuple[list[Tensor], list[Tensor]]:
    """alpha_bar at each t_i and at the next step (1.0 after the last step: the clean data)."""
    ab = schedule.alpha_bar.to(torch.float32)
    cur = [ab[t].to(x.device) for t in ts]
    nxt = cur[1:] + [torch.tensor(1.0, device=x.device)]
    return cur, nxt


def _noise(x: Tensor, generator: torch.Generator | None) -> Tensor:
    return torch.randn(x.shape, generator=generator, device="cpu", dtype=x.dtype).to(x.device)


@torch.no_grad()
def ddpm(
    denoiser: Denoiser,
    x_T: Tensor,
    schedule: Schedule,
    steps: int | None = None,
    cond: Any = None,
    variance: str = "fixedlarge",
    generator: torch.Generator | None = None,
    start: int | None = None,
) -> Iterator[Step]:
    """Ho et al. 2020, Algorithm 2 on a respaced chain: x_{t-1} = mu_theta(x_t, t) + sigma_t z (z = 0 at the end).

    variance: 'fixedlarge' sigma^2 = beta_t or 'fixedsmall' sigma^2 = beta_tilde_t, of the respaced chain.
    start: x_T is at that step instead of T-1 (see timesteps).
    """
    ts = timesteps(schedule.T, steps or schedule.T, start=start)
    cur, nxt = _alpha_bars(schedule, ts, x_T)
    x = x_T
    for i, t in enumerate(ts):
        x0, _ = denoiser.predict(x, t, cur[i], cond)
        mean, var_small = q_posterior(x0, x, cur[i], nxt[i])
        if i < len(ts) - 1:
            var = var_small if variance == "fixedsmall" else (1 - cur[i] / nxt[i])
            x = mean + bcast(var, x).sqrt() * _noise(x, generator)
        else:
            x = mean
        yield Step(i, len(ts), t, x, x0)


@torch.no_grad()
def ddim(
    denoiser: Denoiser,
    x_T: Tensor,
    schedule: Schedule,
    steps: int = 50,
    cond: Any = None,
    eta: float = 0.0,
    generator: torch.Generator | None = None,
    start: int | None = None,
    grid: list[int] | None = None,
) -> Iterator[Step]:
    """Song et al. 2021, Eq. 12: x_next = sqrt(ab_next) x0_hat + sqrt(1 - ab_next - sigma^2) eps_hat + sigma z,

    sigma = eta sqrt((1 - ab_next)/(1 - ab_t)) sqrt(1 - ab_t/ab_next); eta = 0 is deterministic, eta = 1 is DDPM.
    start: x_T is at that step instead of T-1 (see timesteps). grid: the timesteps to walk, given (a distilled
    student's, distill.halving_grid), instead of `steps` respaced ones.
    """
    ts = timesteps(schedule.T, steps, start=start) if grid is None else [int(t) for t in grid]
    cur, nxt = _alpha_bars(schedule, ts, x_T)
    x = x_T
    for i, t in enumerate(ts):
        x0, eps = denoiser.predict(x, t, cur[i], cond)
        a, a_next = cur[i], nxt[i]
        sigma = eta * ((1 - a_next) / (1 - a) * (1 - a / a_next)).clamp(min=0).sqrt()
        c = (1 - a_next - sigma**2).clamp(min=0).sqrt()
        x = a_next.sqrt() * x0 + c * eps
        if eta > 0 and i < len(ts) - 1:
            x = x + sigma * _noise(x, generator)
        yield Step(i, len(ts), t, x, x0)


@torch.no_grad()
def ddim_invert(denoiser: Denoiser, x_0: Tensor, schedule: Schedule, steps: int = 50, cond: Any = None) -> Tensor:
    """DDIM inversion (Song et al. 2021, Sec. 4.3): the eta = 0 update run upwards, from x_0 to x at t = T-1.

    Each step predicts at the current noise level and moves to the next: x_next = sqrt(ab_next) x0_hat +
    sqrt(1 - ab_next) eps_hat. The first step evaluates the clean x_0 at t = 0 (alpha_bar_0 ~ 1).
    """
    ts_up = timesteps(schedule.T, steps)[::-1]
    ab = schedule.alpha_bar.to(torch.float32).to(x_0.device)
    x = x_0
    for i, t in enumerate(ts_up):
        t_eval = ts_up[i - 1] if i > 0 else t
        x0, eps = denoiser.predict(x, t_eval, ab[t_eval], cond)
        x = ab[t].sqrt() * x0 + (1 - ab[t]).sqrt() * eps
    return x


@torch.no_grad()
def dpmpp_2m(
    denoiser: Denoiser,
    x_T: Tensor,
    schedule: Schedule,
    steps: int = 20,
    cond: Any = None,
    generator: torch.Generator | None = None,
    start: int | None = None,
) -> Iterator[Step]:
    """Lu et al. 2022 (DPM-Solver++), Algorithm 2, multistep second order in data prediction.

    lambda = log(alpha/sigma), h = lambda_next - lambda_t, r = h_prev / h,
    D = (1 + 1/(2r)) x0_t - 1/(2r) x0_prev, x_next = (sigma_next/sigma_t) x - alpha_next (e^{-h} - 1) D.
    The first step and the last (to sigma = 0) are first order; steps are spaced evenly in lambda.
    """
    ts = timesteps(schedule.T, steps, schedule, start)
    cur, nxt = _alpha_bars(schedule, ts, x_T)
    x = x_T
    x0_prev, h_prev = None, None
    for i, t in enumerate(ts):
        x0, _ = denoiser.predict(x, t, cur[i], cond)
        a_t, a_n = cur[i], nxt[i]
        if i == len(ts) - 1:  # to the clean data: sigma_next = 0, so x_next = D (first order)
            x = x0
        else:
            alpha_t, sigma_t = a_t.sqrt(), (1 - a_t).sqrt()
            alpha_n, sigma_n = a_n.sqrt(), (1 - a_n).sqrt()
            h = torch.log(alpha_n / sigma_n) - torch.log(alpha_t / sigma_t)
            if x0_prev is None:
                D = x0
            else:
                r = h_prev / h
                D = (1 + 1 / (2 * r)) * x0 - (1 / (2 * r)) * x0_prev
            x = (sigma_n / sigma_t) * x - alpha_n * torch.expm1(-h) * D
            x0_prev, h_prev = x0, h
        yield Step(i, len(ts), t, x, x0)


def sample_loop(
    name: str,
    denoiser: Denoiser,
    x_T: Tensor,
    schedule: Schedule,
    steps: int,
    cond: Any = None,
    eta: float = 0.0,
    generator: torch.Generator | None = None,
    variance: str = "fixedlarge",
    start: int | None = None,
    grid: list[int] | None = None,
) -> Iterator[Step]:
    """Dispatch by name: 'ddpm' (ancestral, respaced, with `variance`), 'ddim' (with eta) or 'dpm++' (DPM-Solver++ 2M).

    Each sampler is a @torch.no_grad() generator, which torch enters and leaves around every step: callers that stream
    it must not wrap it in a grad-mode context of their own, which would stay on across each yield in the thread that
    ran the step (Gradio resumes a generator on any worker thread; tests/test_grad_mode.py). start: begin part-way,
    from x_T diffused to that step. grid: DDIM's explicit timesteps."""
    if grid is not None and name != "ddim":
        raise ValueError("an explicit timestep grid (a distilled model's) is walked by DDIM only")
    if name == "ddpm":
        return ddpm(denoiser, x_T, schedule, steps, cond, variance=variance, generator=generator, start=start)
    if name == "ddim":
        return ddim(denoiser, x_T, schedule, steps, cond, eta=eta, generator=generator, start=start, grid=grid)
    if name in ("dpm++", "dpmpp", "dpm++2m"):
        return dpmpp_2m(denoiser, x_T, schedule, steps, cond, generator=generator, start=start)
    raise ValueError(f"unknown sampler {name!r}; choose one of {', '.join(SAMPLERS)}")


def final(steps: Iterator, kind: type | None = None):
    """Drain a sampler and return its last item: a Step, or, with kind, the engine's result of that type that its
    generator yields after the steps (LION's Shapes, Grad-TTS's Speech)."""
    last = None
    for last in steps:
        pass
    if last is None:
        raise ValueError("the sampler yielded no steps")
    if kind is not None and not isinstance(last, kind):
        raise ValueError(f"the sampler produced no {kind.__name__.lower()}")
    return last
