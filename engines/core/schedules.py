"""Noise schedules as plain functions of t: each gives alpha_bar_t = prod_s (1 - beta_s) over T discrete steps."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

SCHEDULES = ("linear", "cosine", "sigmoid", "scaled_linear")


def linear_betas(T: int, beta_start: float = 1e-4, beta_end: float = 0.02) -> Tensor:
    """DDPM (Ho et al. 2020, Sec. 4): beta_t linear from 1e-4 to 0.02 over T=1000 steps (SR3: 1e-6 to 1e-2, T=2000)."""
    return torch.linspace(beta_start, beta_end, T, dtype=torch.float64)


def scaled_linear_betas(T: int, beta_start: float = 0.00085, beta_end: float = 0.012) -> Tensor:
    """Latent Diffusion's 'linear': beta_t = (linspace(sqrt(b0), sqrt(b1), T))^2."""
    return torch.linspace(beta_start**0.5, beta_end**0.5, T, dtype=torch.float64) ** 2


def cosine_betas(T: int, s: float = 0.008, max_beta: float = 0.999) -> Tensor:
    """Nichol & Dhariwal 2021, Eq. 17: alpha_bar(t) = cos^2(((t/T + s)/(1 + s)) pi/2), betas clipped at 0.999."""
    steps = torch.arange(T + 1, dtype=torch.float64) / T
    f = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
    alpha_bar = f / f[0]
    return (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(0, max_beta)


def sigmoid_betas(T: int, beta_start: float = 1e-4, beta_end: float = 0.02) -> Tensor:
    """The Annotated Diffusion post: beta_t = sigmoid(linspace(-6, 6, T)) (beta_end - beta_start) + beta_start."""
    return torch.sigmoid(torch.linspace(-6, 6, T, dtype=torch.float64)) * (beta_end - beta_start) + beta_start


_BETAS = {
    "linear": linear_betas,
    "cosine": cosine_betas,
    "sigmoid": sigmoid_betas,
    "scaled_linear": scaled_linear_betas,
}


def betas_for(name: str, T: int = 1000, **kw: float) -> Tensor:
    """beta_1..beta_T of the named schedule, float64; kw overrides its constants (beta_start, beta_end, s)."""
    if name not in _BETAS:
        raise ValueError(f"unknown schedule {name!r}; choose one of {', '.join(SCHEDULES)}")
    return _BETAS[name](T, **kw)


def log_snr_linear(t: Tensor) -> Tensor:
    """Imagen's continuous 'linear' log-SNR: lambda(t) = -log(expm1(1e-4 + 10 t^2)), t in [0, 1]."""
    return -torch.log(torch.expm1(1e-4 + 10 * t**2))


def log_snr_cosine(t: Tensor, s: float = 0.008) -> Tensor:
    """Continuous cosine log-SNR: lambda(t) = -log(cos((t+s)/(1+s) pi/2)^-2 - 1)."""
    return -torch.log((torch.cos((t + s) / (1 + s) * math.pi / 2) ** -2 - 1).clamp(min=1e-20))


def alpha_sigma_from_log_snr(log_snr: Tensor) -> tuple[Tensor, Tensor]:
    """alpha = sqrt(sigmoid(lambda)), sigma = sqrt(sigmoid(-lambda)), so alpha^2 + sigma^2 = 1."""
    return torch.sigmoid(log_snr).sqrt(), torch.sigmoid(-log_snr).sqrt()


@dataclass(frozen=True, eq=False)
class Schedule:
    """A discrete schedule: alpha_bar[t] for t = 0..T-1 (t = 0 is the least noisy step)."""

    name: str
    alpha_bar: Tensor  # (T,) float64

    @property
    def T(self) -> int:
        return int(self.alpha_bar.shape[0])

    @property
    def betas(self) -> Tensor:
        prev = torch.cat([torch.ones(1, dtype=self.alpha_bar.dtype), self.alpha_bar[:-1]])
        return 1 - self.alpha_bar / prev

    @property
    def snr(self) -> Tensor:
        """SNR(t) = alpha_bar / (1 - alpha_bar) (Kingma et al. 2021)."""
        return self.alpha_bar / (1 - self.alpha_bar)

    def at(self, t: Tensor) -> Tensor:
        """alpha_bar at integer timesteps t, as float32."""
        return self.alpha_bar.to(torch.float32)[t.long().cpu()].to(t.device)


def make_schedule(name: str = "linear", T: int = 1000, **kw: float) -> Schedule:
    """The named schedule with T steps (kw: its constants, for example beta_start / beta_end of 'linear')."""
    return Schedule(name, torch.cumprod(1 - betas_for(name, T, **kw), dim=0))
