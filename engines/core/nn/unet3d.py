"""The space-time factorised video U-Net (Ho et al. 2022, "Video Diffusion Models" Sec. 3; Imagen Video Sec. 2.2):
the UNet2D's blocks run on every frame, and after each block a temporal layer mixes frames at every pixel, either
self-attention with a relative-position bias (the base) or a convolution over time (the super-resolution stages).
A one-frame video skips the temporal layers, so images train as videos with time masked out (joint training)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .layers import Downsample, Upsample, attention, group_norm
from .unet import UNet2D, UNetConfig, _Level


@dataclass(frozen=True)
class UNet3DConfig(UNetConfig):
    """A UNetConfig plus the temporal layers: 'attention' (relative positions) or 'conv' (kernel `temporal_kernel`)."""

    temporal: str = "attention"
    temporal_kernel: int = 3
    max_frames: int = 32  # the relative-position table covers offsets -(max_frames-1) .. max_frames-1
    # a learnt embedding of each frame's index added to the conditioning vector (our addition, zero-initialised):
    # with relative positions alone a clip and its reversal look alike to every frame, and the base moved its shapes
    # the asked way only by chance (docs/video.md)
    frame_embedding: bool = False


class TemporalAttention(nn.Module):
    """Self-attention over the F frames at each pixel, softmax(q k^T / sqrt(d) + b[i - j]) v, residual and zero-initialised:
    (B*F, C, H, W) -> same."""

    def __init__(self, ch: int, heads: int, max_frames: int):
        super().__init__()
        self.heads, self.max_frames = heads, max_frames
        self.norm = group_norm(ch)
        self.qkv = nn.Linear(ch, 3 * ch)
        self.out = nn.Linear(ch, ch)
        self.rel_bias = nn.Embedding(2 * max_frames - 1, heads)  # Shaw et al. 2018 / T5-style bias per offset
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, h: Tensor, frames: int) -> Tensor:
        BF, C, H, W = h.shape
        B, d = BF // frames, C // self.heads
        x = self.norm(h).reshape(B, frames, C, H * W).permute(0, 3, 1, 2).reshape(B * H * W, frames, C)
        q, k, v = self.qkv(x).reshape(-1, frames, 3, self.heads, d).permute(2, 0, 3, 1, 4)  # 3 x (BHW, heads, F, d)
        pos = torch.arange(frames, device=h.device)
        rel = (pos[:, None] - pos[None, :]).clamp(-self.max_frames + 1, self.max_frames - 1) + self.max_frames - 1
        bias = self.rel_bias(rel).permute(2, 0, 1).to(q.dtype)  # (heads, F, F)
        o = attention(q, k, v, bias[None])  # (BHW, heads, F, d)
        o = self.out(o.transpose(1, 2).reshape(-1, frames, C))  # (BHW, F, C)
        o = o.reshape(B, H * W, frames, C).permute(0, 2, 3, 1).reshape(BF, C, H, W)
        return h + o


class TemporalConv(nn.Module):
    """A convolution over time at each pixel (kernel k, zero padding at the clip's ends), residual and zero-initialised:
    (B*F, C, H, W) -> same."""

    def __init__(self, ch: int, kernel: int):
        super().__init__()
        self.norm = group_norm(ch)
        self.conv = nn.Conv2d(ch, ch, (kernel, 1), padding=(kernel // 2, 0))
        nn.init.zeros_(self.conv.weight)
        nn.init.zeros_(self.conv.bias)

    def forward(self, h: Tensor, frames: int) -> Tensor:
        BF, C, H, W = h.shape
        B = BF // frames
        x = F.silu(self.norm(h)).reshape(B, frames, C, H * W).transpose(1, 2)  # (B, C, F, HW)
        o = self.conv(x).transpose(1, 2).reshape(BF, C, H, W)
        return h + o


class UNet3D(UNet2D):
    """Video denoiser: (B, in, F, H, W), t (B,) -> (B, out, F, H, W); the conditioning video `image` is (B, cond, F, H, W),
    text and embeddings are per clip (shared by its frames)."""

    def __init__(self, cfg: UNet3DConfig):
        super().__init__(cfg)
        if cfg.temporal not in ("attention", "conv"):
            raise ValueError(f"temporal must be 'attention' or 'conv', got {cfg.temporal!r}")

        def temporal(level: _Level) -> nn.Module:
            ch = level.res.conv2.out_channels
            if cfg.temporal == "attention":
                return TemporalAttention(ch, cfg.heads, cfg.max_frames)
            return TemporalConv(ch, cfg.temporal_kernel)

        self.t_down = nn.ModuleList([temporal(m) if isinstance(m, _Level) else nn.Identity() for m in self.down])
        self.t_mid = nn.ModuleList([temporal(m) for m in self.mid])
        self.t_up = nn.ModuleList([temporal(m) if isinstance(m, _Level) else nn.Identity() for m in self.up])
        self.frame_emb = None
        if cfg.frame_embedding:
            self.frame_emb = nn.Embedding(cfg.max_frames, self.time_mlp[-1].out_features)
            nn.init.zeros_(self.frame_emb.weight)

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
        B, _, Fr, H, W = x.shape
        if Fr > self.cfg.max_frames:
            raise ValueError(f"at most {self.cfg.max_frames} frames, got {Fr}")
        emb = self.embed(t, y, pooled, aug, B).repeat_interleave(Fr, 0)  # (B*F, E)
        if self.frame_emb is not None and Fr > 1:  # frame f of every clip gets e_f; a one-frame video (an image) none
            emb = emb + self.frame_emb(torch.arange(Fr, device=x.device)).repeat(B, 1)  # (B*F, E)
        fold = lambda v: v.transpose(1, 2).reshape(B * Fr, v.shape[1], H, W)  # (B, C, F, H, W) -> (B*F, C, H, W)
        h = fold(x)
        if self.cfg.cond_channels:
            if image is None:
                raise ValueError("this UNet3D is video-conditioned: pass image=(B, cond_channels, F, H, W)")
            h = torch.cat([h, fold(image)], dim=1)
        if self.null_context is not None and context is None:
            context = self.null_context.expand(B, 1, -1)
        if context is not None:
            context = context.repeat_interleave(Fr, 0)  # (B*F, L, D)
            context_mask = None if context_mask is None else context_mask.repeat_interleave(Fr, 0)
        use_time = Fr > 1  # a single frame is an image: the temporal layers are masked out

        def block(m: nn.Module, tm: nn.Module, h: Tensor) -> Tensor:
            if isinstance(m, (Downsample, Upsample)):
                return m(h)
            h = m(h, emb, context, context_mask)
            return tm(h, Fr) if use_time else h

        h = self.conv_in(h)
        hs = [h]
        for m, tm in zip(self.down, self.t_down):
            h = block(m, tm, h)
            hs.append(h)
        for m, tm in zip(self.mid, self.t_mid):
            h = block(m, tm, h)
        for m, tm in zip(self.up, self.t_up):
            h = block(m, tm, h if isinstance(m, Upsample) else torch.cat([h, hs.pop()], dim=1))
        out = self.conv_out(F.silu(self.norm_out(h)))  # (B*F, out, H, W)
        return out.reshape(B, Fr, -1, H, W).transpose(1, 2)  # (B, out, F, H, W)
