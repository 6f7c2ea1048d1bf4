"""A noise-aware classifier p_phi(y | x_t, t): the UNet's encoder half with attention pooling to logits (ADM, Sec. 4)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .layers import Downsample, ResBlock, SelfAttention, group_norm, sinusoidal_embedding


@dataclass(frozen=True)
class ClassifierConfig:
    in_channels: int = 3
    base_channels: int = 32
    channel_mult: tuple[int, ...] = (1, 2, 2, 2)
    num_res_blocks: int = 1
    attn_levels: tuple[int, ...] = (2, 3)
    num_classes: int = 36
    heads: int = 4

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ClassifierConfig":
        d = dict(d)
        for k in ("channel_mult", "attn_levels"):
            d[k] = tuple(d[k])
        return cls(**d)


class NoisyClassifier(nn.Module):
    """(B, C, H, W) noisy images and their timesteps t (B,) -> (B, num_classes) logits."""

    def __init__(self, cfg: ClassifierConfig):
        super().__init__()
        self.cfg = cfg
        C = cfg.base_channels
        emb = 4 * C
        self.time_mlp = nn.Sequential(nn.Linear(C, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.conv_in = nn.Conv2d(cfg.in_channels, C, 3, padding=1)
        self.blocks = nn.ModuleList()
        c = C
        for lvl, m in enumerate(cfg.channel_mult):
            for _ in range(cfg.num_res_blocks):
                self.blocks.append(ResBlock(c, C * m, emb))
                c = C * m
                if lvl in cfg.attn_levels:
                    self.blocks.append(SelfAttention(c, cfg.heads))
            if lvl < len(cfg.channel_mult) - 1:
                self.blocks.append(Downsample(c))
        self.norm = group_norm(c)
        self.pool_query = nn.Parameter(torch.zeros(1, c, 1))  # attention pooling over positions
        self.head = nn.Linear(c, cfg.num_classes)

    def forward(self, x: Tensor, t: Tensor) -> Tensor:
        emb = self.time_mlp(sinusoidal_embedding(t, self.cfg.base_channels))
        h = self.conv_in(x)
        for b in self.blocks:
            h = b(h, emb) if isinstance(b, ResBlock) else b(h)
        h = F.silu(self.norm(h)).flatten(2)  # (B, c, HW)
        w = (self.pool_query * h).sum(1, keepdim=True).softmax(dim=-1)  # (B, 1, HW)
        return self.head((h * w).sum(-1))  # (B, num_classes)
