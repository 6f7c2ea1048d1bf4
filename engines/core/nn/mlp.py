"""A small MLP denoiser for 2-D toy data (two moons, swiss roll): (B, 2), t (B,) -> (B, 2)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch.nn.functional as F
from torch import Tensor, nn

from .layers import sinusoidal_embedding


@dataclass(frozen=True)
class MLPConfig:
    dim: int = 2
    hidden: int = 128
    layers: int = 3
    emb_dim: int = 32

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "MLPConfig":
        return cls(**d)


class MLPDenoiser(nn.Module):
    """Residual MLP; the sinusoidal t embedding is added to every hidden layer (tiny-diffusion style)."""

    def __init__(self, cfg: MLPConfig):
        super().__init__()
        self.cfg = cfg
        self.inp = nn.Linear(cfg.dim, cfg.hidden)
        self.t_proj = nn.Sequential(nn.Linear(cfg.emb_dim, cfg.hidden), nn.SiLU(), nn.Linear(cfg.hidden, cfg.hidden))
        self.blocks = nn.ModuleList([nn.Linear(cfg.hidden, cfg.hidden) for _ in range(cfg.layers)])
        self.out = nn.Linear(cfg.hidden, cfg.dim)

    def forward(self, x: Tensor, t: Tensor, **_: object) -> Tensor:
        temb = self.t_proj(sinusoidal_embedding(t, self.cfg.emb_dim))  # (B, hidden)
        h = self.inp(x)
        for blk in self.blocks:
            h = h + blk(F.silu(h + temb))
        return self.out(F.silu(h))
