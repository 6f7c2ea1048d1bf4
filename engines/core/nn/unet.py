"""UNet2D (Ronneberger et al. 2015, as in DDPM / ADM) with hooks for class, image, text and noise-level conditioning."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .layers import CrossAttention, Downsample, ResBlock, SelfAttention, Upsample, group_norm, sinusoidal_embedding


@dataclass(frozen=True)
class UNetConfig:
    """Everything needed to rebuild a UNet2D; saved as JSON next to its weights."""

    in_channels: int = 1
    out_channels: int = 1
    base_channels: int = 32
    channel_mult: tuple[int, ...] = (1, 2)
    num_res_blocks: int = 1
    attn_levels: tuple[int, ...] = (1,)  # resolution levels (0 = full size) with self-attention; mid always has it
    heads: int = 4
    dropout: float = 0.0
    num_classes: int = 0  # > 0: class embedding added to the time embedding, index num_classes = null label
    cond_channels: int = 0  # > 0: an image concatenated to x_t (SR3, Palette, cascaded super-resolution)
    context_dim: int = 0  # > 0: cross-attention on token embeddings at the attention levels (Imagen, LDM)
    pooled_dim: int = 0  # > 0: a pooled text embedding added to the time embedding (Imagen)
    aug_embed: bool = False  # a second scalar (noise-augmentation level) embedded and added (Imagen SR)
    cond_stats: bool = False  # the conditioning image's per-channel mean and std added to the embedding (Palette)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "UNetConfig":
        d = dict(d)
        for k in ("channel_mult", "attn_levels"):
            if k in d:
                d[k] = tuple(d[k])
        return cls(**d)


class _Level(nn.Module):
    """One resolution level: a residual block, then optional self-attention and cross-attention."""

    def __init__(self, c_in: int, c_out: int, emb_dim: int, cfg: UNetConfig, attn: bool):
        super().__init__()
        self.res = ResBlock(c_in, c_out, emb_dim, cfg.dropout)
        self.attn = SelfAttention(c_out, cfg.heads) if attn else None
        self.cross = CrossAttention(c_out, cfg.context_dim, cfg.heads) if attn and cfg.context_dim else None

    def forward(self, h: Tensor, emb: Tensor, context: Tensor | None, mask: Tensor | None) -> Tensor:
        h = self.res(h, emb)
        if self.attn is not None:
            h = self.attn(h)
        if self.cross is not None and context is not None:
            h = self.cross(h, context, mask)
        return h


class UNet2D(nn.Module):
    """eps/x0/v network: (B, in, H, W), t (B,) -> (B, out, H, W); H and W divisible by 2^(levels-1)."""

    def __init__(self, cfg: UNetConfig):
        super().__init__()
        self.cfg = cfg
        C = cfg.base_channels
        emb_dim = 4 * C
        self.time_mlp = nn.Sequential(nn.Linear(C, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.class_emb = nn.Embedding(cfg.num_classes + 1, emb_dim) if cfg.num_classes else None
        self.pooled_proj = nn.Linear(cfg.pooled_dim, emb_dim) if cfg.pooled_dim else None
        self.aug_mlp = (
            nn.Sequential(nn.Linear(C, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim)) if cfg.aug_embed else None
        )
        self.cond_stats_proj = nn.Linear(2 * cfg.cond_channels, emb_dim) if cfg.cond_stats else None
        self.null_context = nn.Parameter(torch.zeros(1, 1, cfg.context_dim)) if cfg.context_dim else None

        self.conv_in = nn.Conv2d(cfg.in_channels + cfg.cond_channels, C, 3, padding=1)
        chans = [C * m for m in cfg.channel_mult]
        self.down = nn.ModuleList()
        skips = [C]
        c = C
        for lvl, ch in enumerate(chans):
            for _ in range(cfg.num_res_blocks):
                self.down.append(_Level(c, ch, emb_dim, cfg, lvl in cfg.attn_levels))
                c = ch
                skips.append(c)
            if lvl < len(chans) - 1:
                self.down.append(Downsample(c))
                skips.append(c)
        self.mid = nn.ModuleList([_Level(c, c, emb_dim, cfg, True), _Level(c, c, emb_dim, cfg, False)])
        self.up = nn.ModuleList()
        for lvl, ch in reversed(list(enumerate(chans))):
            for _ in range(cfg.num_res_blocks + 1):
                self.up.append(_Level(c + skips.pop(), ch, emb_dim, cfg, lvl in cfg.attn_levels))
                c = ch
            if lvl > 0:
                self.up.append(Upsample(c))
        self.norm_out = group_norm(c)
        self.conv_out = nn.Conv2d(c, cfg.out_channels, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    def embed(self, t: Tensor, y: Tensor | None, pooled: Tensor | None, aug: Tensor | None, B: int) -> Tensor:
        """The conditioning vector: MLP(sinusoid(t)) + class / pooled-text / augmentation-level embeddings."""
        C = self.cfg.base_channels
        emb = self.time_mlp(sinusoidal_embedding(t.expand(B) if t.dim() == 0 else t, C))
        if self.class_emb is not None:
            if y is None:
                y = torch.full((B,), self.cfg.num_classes, dtype=torch.long, device=emb.device)
            emb = emb + self.class_emb(y)
        if self.pooled_proj is not None and pooled is not None:
            emb = emb + self.pooled_proj(pooled)
        if self.aug_mlp is not None:
            aug = torch.zeros(B, device=emb.device) if aug is None else aug
            emb = emb + self.aug_mlp(sinusoidal_embedding(aug, C))
        return emb

    def forward(
        self,
        x: Tensor,
        t: Tensor,
        y: Tensor | None = None,
        image: Tensor | None = None,
        context: Tensor | None = None,
        context_mask: Tensor | None = None,
        pooled: Tensor | None = None,
        aug: Tensor | None = None,
    ) -> Tensor:
        B = x.shape[0]
        emb = self.embed(t, y, pooled, aug, B)
        if self.cfg.cond_channels:
            if image is None:
                raise ValueError("this UNet is image-conditioned: pass image=(B, cond_channels, H, W)")
            x = torch.cat([x, image], dim=1)  # (B, in + cond, H, W)
            if self.cond_stats_proj is not None:
                emb = emb + self.cond_stats_proj(torch.cat([image.mean((2, 3)), image.std((2, 3))], dim=1))
        if self.null_context is not None and context is None:
            context = self.null_context.expand(B, 1, -1)
        h = self.conv_in(x)
        hs = [h]
        for m in self.down:
            h = m(h) if isinstance(m, Downsample) else m(h, emb, context, context_mask)
            hs.append(h)
        for m in self.mid:
            h = m(h, emb, context, context_mask)
        for m in self.up:
            if isinstance(m, Upsample):
                h = m(h)
            else:
                h = m(torch.cat([h, hs.pop()], dim=1), emb, context, context_mask)
        return self.conv_out(F.silu(self.norm_out(h)))
