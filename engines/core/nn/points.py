"""Point networks (LION, Zeng et al. 2022, at CPU scale): a PointNet encoder, per-point residual MLPs conditioned by
FiLM (LION's AdaGN) on a vector, the hierarchical point VAE built from them, and the two latent denoisers.

Point sets are (B, N, C), channels last, so every per-point layer is an nn.Linear. No voxel CUDA ops: LION's PVCNN
is replaced by per-point MLPs with a pooled global feature, which run on 2 cores.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .layers import sinusoidal_embedding


class _Config:
    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict):
        return cls(**d)


class PointBlock(nn.Module):
    """h + W2 silu(LN(W1 silu(LN(h))) (1 + s) + b), with (s, b) = FiLM(c) (LION's AdaGN); pooled: a max-pooled
    feature of the whole set is added after W1, so each point sees the shape: (B, N, C), (B, Cc) -> (B, N, C)."""

    def __init__(self, width: int, cond_dim: int, pooled: bool = False):
        super().__init__()
        self.norm1 = nn.LayerNorm(width)
        self.lin1 = nn.Linear(width, width)
        self.pool = nn.Linear(width, width) if pooled else None
        self.film = nn.Linear(cond_dim, 2 * width)
        self.norm2 = nn.LayerNorm(width)
        self.lin2 = nn.Linear(width, width)
        nn.init.zeros_(self.lin2.weight)
        nn.init.zeros_(self.lin2.bias)

    def forward(self, h: Tensor, c: Tensor) -> Tensor:
        x = self.lin1(F.silu(self.norm1(h)))
        if self.pool is not None:
            x = x + self.pool(x.amax(dim=1, keepdim=True))  # (B, 1, C) broadcast to every point
        scale, shift = self.film(c)[:, None].chunk(2, dim=-1)  # 2 x (B, 1, C)
        x = self.norm2(x) * (1 + scale) + shift
        return h + self.lin2(F.silu(x))


class PointMLP(nn.Module):
    """in -> width, `blocks` PointBlocks conditioned on c, -> out (zero-initialised): (B, N, in) -> (B, N, out)."""

    def __init__(self, c_in: int, c_out: int, width: int, blocks: int, cond_dim: int, pooled: bool = False):
        super().__init__()
        self.inp = nn.Linear(c_in, width)
        self.blocks = nn.ModuleList([PointBlock(width, cond_dim, pooled) for _ in range(blocks)])
        self.norm = nn.LayerNorm(width)
        self.out = nn.Linear(width, c_out)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: Tensor, c: Tensor) -> Tensor:
        h = self.inp(x)
        for blk in self.blocks:
            h = blk(h, c)
        return self.out(F.silu(self.norm(h)))


class PointNetEncoder(nn.Module):
    """PointNet (Qi et al. 2017): a shared per-point MLP, then max- and mean-pooling over the set, then an MLP:
    (B, N, 3) -> (B, out)."""

    def __init__(self, out: int, widths: tuple[int, ...] = (64, 128, 256)):
        super().__init__()
        layers, c = [], 3
        for w in widths:
            layers += [nn.Linear(c, w), nn.SiLU()]
            c = w
        self.point = nn.Sequential(*layers[:-1])
        self.head = nn.Sequential(nn.Linear(2 * c, c), nn.SiLU(), nn.Linear(c, out))

    def forward(self, x: Tensor) -> Tensor:
        f = self.point(x)  # (B, N, C)
        return self.head(torch.cat([f.amax(dim=1), f.mean(dim=1)], dim=-1))


@dataclass(frozen=True)
class PointVAEConfig(_Config):
    """LION's hierarchical VAE (Sec. 3.1): global latent z0 (dz numbers), point latent h0 (N x (3 + dh))."""

    dz: int = 64
    dh: int = 1
    width: int = 128
    enc_blocks: int = 3
    dec_blocks: int = 4
    log_sigma_offset: float = 6.0  # the point posterior starts with sigma = e^-6: the VAE starts near identity


class PointVAE(nn.Module):
    """q(z0 | x) by PointNet; q(h0 | x, z0) per point, FiLM on z0, its mean starting at (x, 0); p(x | h0, z0) per
    point, FiLM on z0, x_hat = h0[..., :3] + MLP (LION's skip from the latent points), so it starts as identity."""

    def __init__(self, cfg: PointVAEConfig):
        super().__init__()
        self.cfg = cfg
        self.dh_total = 3 + cfg.dh
        self.global_enc = PointNetEncoder(2 * cfg.dz)
        self.local_enc = PointMLP(3, 2 * self.dh_total, cfg.width, cfg.enc_blocks, cfg.dz)
        self.dec = PointMLP(self.dh_total, 3, cfg.width, cfg.dec_blocks, cfg.dz)

    def encode_global(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(mu_z, log_sigma_z) of q(z0 | x): (B, N, 3) -> 2 x (B, dz)."""
        mu, log_sigma = self.global_enc(x).chunk(2, dim=-1)
        return mu, log_sigma

    def encode_local(self, x: Tensor, z0: Tensor) -> tuple[Tensor, Tensor]:
        """(mu_h, log_sigma_h) of q(h0 | x, z0): (B, N, 3), (B, dz) -> 2 x (B, N, 3 + dh)."""
        out = self.local_enc(x, z0)
        d_mu, log_sigma = out.chunk(2, dim=-1)
        mu = F.pad(x, (0, self.cfg.dh)) + d_mu  # latent points start at the input points
        return mu, log_sigma - self.cfg.log_sigma_offset

    def decode(self, h0: Tensor, z0: Tensor) -> Tensor:
        """x = Dec(h0, z0): (B, N, 3 + dh), (B, dz) -> (B, N, 3)."""
        return h0[..., :3] + self.dec(h0, z0)

    def forward(self, x: Tensor, t: Tensor | None = None, **_) -> Tensor:
        """Reconstruction through the posterior means (for export and checks): (B, N, 3) -> (B, N, 3)."""
        mu_z, _ = self.encode_global(x)
        mu_h, _ = self.encode_local(x, mu_z)
        return self.decode(mu_h, mu_z)


@dataclass(frozen=True)
class VectorDenoiserConfig(_Config):
    """DDM_z (LION's PriorSEDrop, a ResNet-MLP) on the global latent, optionally class-conditional."""

    dim: int = 64
    width: int = 512
    blocks: int = 4
    emb_dim: int = 128
    num_classes: int = 0  # > 0: a class embedding, index num_classes = the null label (classifier-free guidance)
    dropout: float = 0.0


class _ResMLPBlock(nn.Module):
    def __init__(self, width: int, emb_dim: int, dropout: float):
        super().__init__()
        self.norm1, self.lin1 = nn.LayerNorm(width), nn.Linear(width, width)
        self.emb = nn.Linear(emb_dim, 2 * width)
        self.norm2, self.drop, self.lin2 = nn.LayerNorm(width), nn.Dropout(dropout), nn.Linear(width, width)
        nn.init.zeros_(self.lin2.weight)
        nn.init.zeros_(self.lin2.bias)

    def forward(self, h: Tensor, emb: Tensor) -> Tensor:
        x = self.lin1(F.silu(self.norm1(h)))
        scale, shift = self.emb(emb).chunk(2, dim=-1)
        x = self.norm2(x) * (1 + scale) + shift
        return h + self.lin2(self.drop(F.silu(x)))


class VectorDenoiser(nn.Module):
    """eps / v prediction for a vector x_t: (B, D), t (B,), y (B,) class or None -> (B, D)."""

    def __init__(self, cfg: VectorDenoiserConfig):
        super().__init__()
        self.cfg = cfg
        self.t_mlp = nn.Sequential(nn.Linear(cfg.emb_dim, cfg.emb_dim), nn.SiLU(), nn.Linear(cfg.emb_dim, cfg.emb_dim))
        self.class_emb = nn.Embedding(cfg.num_classes + 1, cfg.emb_dim) if cfg.num_classes else None
        self.inp = nn.Linear(cfg.dim, cfg.width)
        self.blocks = nn.ModuleList([_ResMLPBlock(cfg.width, cfg.emb_dim, cfg.dropout) for _ in range(cfg.blocks)])
        self.norm, self.out = nn.LayerNorm(cfg.width), nn.Linear(cfg.width, cfg.dim)

    def forward(self, x: Tensor, t: Tensor, y: Tensor | None = None, **_) -> Tensor:
        emb = self.t_mlp(sinusoidal_embedding(t, self.cfg.emb_dim))
        if self.class_emb is not None:
            label = torch.full_like(t, self.cfg.num_classes, dtype=torch.long) if y is None else y.long()
            emb = emb + self.class_emb(label)
        emb = F.silu(emb)
        h = self.inp(x)
        for blk in self.blocks:
            h = blk(h, emb)
        return self.out(F.silu(self.norm(h)))


@dataclass(frozen=True)
class PointDenoiserConfig(_Config):
    """DDM_h (LION's local prior) on the point latent, conditioned on z0; or, with cond_dim 0 and classes, a DDPM on
    raw points (Luo & Hu 2021's per-point network) for the point-space baseline."""

    channels: int = 4
    width: int = 128
    blocks: int = 4
    emb_dim: int = 128
    cond_dim: int = 64  # the global latent z0 it is conditioned on (0: none)
    num_classes: int = 0
    pooled: bool = False  # a max-pooled feature of the set in every block (the baseline needs shape context)


class PointDenoiser(nn.Module):
    """Per-point prediction for a point set x_t: (B, N, C), t (B,), z (B, cond_dim) or y (B,) -> (B, N, C)."""

    def __init__(self, cfg: PointDenoiserConfig):
        super().__init__()
        self.cfg = cfg
        self.t_mlp = nn.Sequential(nn.Linear(cfg.emb_dim, cfg.emb_dim), nn.SiLU(), nn.Linear(cfg.emb_dim, cfg.emb_dim))
        self.z_proj = nn.Linear(cfg.cond_dim, cfg.emb_dim) if cfg.cond_dim else None
        self.class_emb = nn.Embedding(cfg.num_classes + 1, cfg.emb_dim) if cfg.num_classes else None
        self.net = PointMLP(cfg.channels, cfg.channels, cfg.width, cfg.blocks, cfg.emb_dim, cfg.pooled)

    def forward(self, x: Tensor, t: Tensor, z: Tensor | None = None, y: Tensor | None = None, **_) -> Tensor:
        emb = self.t_mlp(sinusoidal_embedding(t, self.cfg.emb_dim))  # (B, E)
        if self.z_proj is not None and z is not None:
            emb = emb + self.z_proj(z)
        if self.class_emb is not None:
            label = torch.full_like(t, self.cfg.num_classes, dtype=torch.long) if y is None else y.long()
            emb = emb + self.class_emb(label)
        return self.net(x, F.silu(emb))
