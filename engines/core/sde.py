"""The variance-preserving SDE with a data-dependent mean (Grad-TTS, Popov et al. 2021, Eq. 1-4):
dX_t = 1/2 beta_t (mu - X_t) dt + sqrt(beta_t) dW_t, beta_t linear from beta_0 to beta_1 on t in [0, 1]. Its
marginal given X_0 is Gaussian (Eq. 4); the process of X_t - mu is a VP diffusion with alpha_bar(t) = exp(-B(t))."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .schedules import Schedule


@dataclass(frozen=True)
class MeanRevertingVP:
    """beta_t = beta_0 + (beta_1 - beta_0) t, and B(t) = integral_0^t beta_s ds."""

    beta_0: float = 0.05
    beta_1: float = 20.0

    def beta(self, t: Tensor | float) -> Tensor | float:
        return self.beta_0 + (self.beta_1 - self.beta_0) * t

    def B(self, t: Tensor) -> Tensor:
        return self.beta_0 * t + 0.5 * (self.beta_1 - self.beta_0) * t**2

    def alpha_bar(self, t: Tensor) -> Tensor:
        """exp(-B(t)): how much of X_0 - mu survives, squared (the VP view)."""
        return torch.exp(-self.B(t))

    def marginal(self, x0: Tensor, mu: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        """Eq. 4: mean x0 e^{-B/2} + mu (1 - e^{-B/2}) and variance lambda_t = 1 - e^{-B} of X_t | X_0 (t: (B,))."""
        B = self.B(t).view(-1, *([1] * (x0.dim() - 1)))
        return x0 * torch.exp(-0.5 * B) + mu * (1 - torch.exp(-0.5 * B)), 1 - torch.exp(-B)

    def euler_step(self, x: Tensor, mu: Tensor, score: Tensor, t: float, h: float, noise: Tensor | None = None
                   ) -> Tensor:
        """One reverse step of size h from t: the probability-flow ODE (Eq. 8 with the 1/2 on the score) when noise is
        None, else the reverse SDE (Eq. 7) driven by that standard normal noise."""
        beta = self.beta(t)
        if noise is None:
            return x - 0.5 * (mu - x - score) * beta * h
        return x - (0.5 * (mu - x) - score) * beta * h - (beta * h) ** 0.5 * noise

    def chain(self, T: int = 1000) -> Schedule:
        """X_t - mu as a discrete VP chain for the core's samplers (DDIM, DPM-Solver++): alpha_bar[k] = exp(-B(t_k)) at
        t_k = (k + 1) / T, so step T - 1 is t = 1 and step 0 is t = 1 / T."""
        t = torch.arange(1, T + 1, dtype=torch.float64) / T
        return Schedule("grad-tts", torch.exp(-self.B(t)))
