"""Exponential moving average of weights (DDPM Sec. 4 / tpu_utils.make_ema), with a decay warm-up."""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """theta_ema <- d theta_ema + (1 - d) theta, d = min(decay, (1 + n) / (10 + n)); buffers are copied, not averaged."""

    def __init__(self, model: nn.Module, decay: float = 0.999):
        self.decay = decay
        self.num_updates = 0
        self.model = copy.deepcopy(model).eval().requires_grad_(False)

    def current_decay(self) -> float:
        n = self.num_updates
        return min(self.decay, (1 + n) / (10 + n))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        d = self.current_decay()
        for p_ema, p in zip(self.model.parameters(), model.parameters()):
            p_ema.lerp_(p.detach(), 1 - d)
        for b_ema, b in zip(self.model.buffers(), model.buffers()):
            b_ema.copy_(b)
        self.num_updates += 1

    def state_dict(self) -> dict:
        return {"decay": self.decay, "num_updates": self.num_updates, "model": self.model.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.decay = state["decay"]
        self.num_updates = state["num_updates"]
        self.model.load_state_dict(state["model"])
