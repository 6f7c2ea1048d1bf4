"""Building blocks of the UNet: timestep embedding, FiLM residual blocks, self- and cross-attention, resampling."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def sinusoidal_embedding(t: Tensor, dim: int, max_period: float = 10000.0) -> Tensor:
    """Transformer sinusoids of a (B,) float or integer t (Vaswani et al. 2017; DDPM Sec. 4): (B,) -> (B, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def attention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None) -> Tensor:
    """softmax(q k^T / sqrt(d)) v over (B, heads, N, d), mask True where a key takes part. PyTorch's fused kernel:
    measured on 1 thread against the product written out, 1,540 positions (Grad-TTS's middle) 4.6 against 39 ms in
    float32 and 2.7 against 4.9 ms in bf16; 256 positions 0.23 against 0.29 ms (the written-out softmax ran in float32
    under bf16 autocast). Its inputs made contiguous first: on the transposed views the attention blocks pass, it took
    49 ms (bf16) instead of 2.8 ms."""
    return F.scaled_dot_product_attention(q.contiguous(), k.contiguous(), v.contiguous(), attn_mask=mask)


def group_norm(ch: int) -> nn.GroupNorm:
    return nn.GroupNorm(min(8, ch), ch)


class ResBlock(nn.Module):
    """GroupNorm-SiLU-Conv twice, with the embedding entering as FiLM: h = norm(h) (1 + scale) + shift (ADM AdaGN)."""

    def __init__(self, c_in: int, c_out: int, emb_dim: int, dropout: float = 0.0):
        super().__init__()
        self.norm1 = group_norm(c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb_dim, 2 * c_out)
        self.norm2 = group_norm(c_out)
        self.drop = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.emb(F.silu(emb))[:, :, None, None].chunk(2, dim=1)
        h = self.norm2(h) * (1 + scale) + shift
        h = self.conv2(self.drop(F.silu(h)))
        return self.skip(x) + h


class SelfAttention(nn.Module):
    """Multi-head self-attention over the H*W positions, residual: (B, C, H, W) -> (B, C, H, W)."""

    def __init__(self, ch: int, heads: int = 4):
        super().__init__()
        self.heads = heads
        self.norm = group_norm(ch)
        self.qkv = nn.Conv2d(ch, 3 * ch, 1)
        self.out = nn.Conv2d(ch, ch, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: Tensor) -> Tensor:
        B, C, H, W = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(B, 3, self.heads, C // self.heads, H * W).unbind(1)
        # (B, heads, d, HW) -> (B, heads, HW, d)
        h = attention(q.transpose(-1, -2), k.transpose(-1, -2), v.transpose(-1, -2))
        h = h.transpose(-1, -2).reshape(B, C, H, W)
        return x + self.out(h)


class CrossAttention(nn.Module):
    """Rombach et al. 2022, Eq. 3: Q = W_Q phi(z), K = W_K tau(y), V = W_V tau(y), residual: (B, C, H, W) -> same."""

    def __init__(self, ch: int, context_dim: int, heads: int = 4):
        super().__init__()
        self.heads = heads
        self.norm = group_norm(ch)
        self.q = nn.Conv2d(ch, ch, 1)
        self.kv = nn.Linear(context_dim, 2 * ch)
        self.out = nn.Conv2d(ch, ch, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: Tensor, context: Tensor, mask: Tensor | None = None) -> Tensor:
        B, C, H, W = x.shape
        d = C // self.heads
        q = self.q(self.norm(x)).reshape(B, self.heads, d, H * W).transpose(-1, -2)  # (B, h, HW, d)
        k, v = self.kv(context).reshape(B, -1, 2, self.heads, d).permute(2, 0, 3, 1, 4)  # 2 x (B, h, L, d)
        attn_mask = None if mask is None else mask[:, None, None, :].bool()  # (B, 1, 1, L)
        h = attention(q, k, v, attn_mask)  # (B, h, HW, d)
        return x + self.out(h.transpose(-1, -2).reshape(B, C, H, W))


class Downsample(nn.Module):
    """Strided 3x3 convolution: (B, C, H, W) -> (B, C, H/2, W/2)."""

    def __init__(self, ch: int):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, stride=2, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x)


class Upsample(nn.Module):
    """Nearest-neighbour x2 then a 3x3 convolution: (B, C, H, W) -> (B, C, 2H, 2W)."""

    def __init__(self, ch: int):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))
