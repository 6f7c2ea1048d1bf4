"""A KL-regularised convolutional autoencoder (Rombach et al. 2022, Sec. 3.1): x (B, 3, H, W) -> z (B, c, H/f, W/f)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .layers import group_norm


@dataclass(frozen=True)
class AutoencoderConfig:
    in_channels: int = 3
    latent_channels: int = 4
    base_channels: int = 32
    channel_mult: tuple[int, ...] = (1, 2, 2)  # len - 1 downsamplings: f = 2^(len - 1)
    num_res_blocks: int = 1

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "AutoencoderConfig":
        d = dict(d)
        d["channel_mult"] = tuple(d["channel_mult"])
        return cls(**d)


class _Res(nn.Module):
    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.block = nn.Sequential(
            group_norm(c_in),
            nn.SiLU(),
            nn.Conv2d(c_in, c_out, 3, padding=1),
            group_norm(c_out),
            nn.SiLU(),
            nn.Conv2d(c_out, c_out, 3, padding=1),
        )
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.skip(x) + self.block(x)


class Autoencoder(nn.Module):
    """encode(x) -> (mean, logvar) of q(z|x); decode(z) -> x_hat. Downsampling factor f = 2^(len(channel_mult) - 1)."""

    def __init__(self, cfg: AutoencoderConfig):
        super().__init__()
        self.cfg = cfg
        C = cfg.base_channels
        chans = [C * m for m in cfg.channel_mult]
        enc: list[nn.Module] = [nn.Conv2d(cfg.in_channels, chans[0], 3, padding=1)]
        c = chans[0]
        for i, ch in enumerate(chans):
            for _ in range(cfg.num_res_blocks):
                enc.append(_Res(c, ch))
                c = ch
            if i < len(chans) - 1:
                enc.append(nn.Conv2d(c, c, 3, stride=2, padding=1))
        enc += [_Res(c, c), group_norm(c), nn.SiLU(), nn.Conv2d(c, 2 * cfg.latent_channels, 3, padding=1)]
        self.encoder = nn.Sequential(*enc)
        dec: list[nn.Module] = [nn.Conv2d(cfg.latent_channels, c, 3, padding=1), _Res(c, c)]
        for i, ch in reversed(list(enumerate(chans))):
            for _ in range(cfg.num_res_blocks + 1):
                dec.append(_Res(c, ch))
                c = ch
            if i > 0:
                dec += [nn.Upsample(scale_factor=2.0, mode="nearest"), nn.Conv2d(c, c, 3, padding=1)]
        dec += [group_norm(c), nn.SiLU(), nn.Conv2d(c, cfg.in_channels, 3, padding=1)]
        self.decoder = nn.Sequential(*dec)

    @property
    def factor(self) -> int:
        return 2 ** (len(self.cfg.channel_mult) - 1)

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        mean, logvar = self.encoder(x).chunk(2, dim=1)  # (B, c, H/f, W/f) each
        return mean, logvar.clamp(-30, 20)

    def decode(self, z: Tensor) -> Tensor:
        return self.decoder(z)

    def forward(self, x: Tensor, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """(x_hat, mean, logvar), sampling z = mean + sigma eps (the reparameterisation trick)."""
        mean, logvar = self.encode(x)
        eps = torch.randn(mean.shape, generator=generator).to(mean)
        return self.decode(mean + (0.5 * logvar).exp() * eps), mean, logvar


def kl_to_standard_normal(mean: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mean, exp(logvar)) || N(0, I)), summed over latent dimensions, averaged over the batch."""
    return 0.5 * (mean**2 + logvar.exp() - 1 - logvar).flatten(1).sum(1).mean()


def reconstruction_loss(x_hat: Tensor, x: Tensor) -> Tensor:
    """L1 + L2 on pixels (the paper adds LPIPS and a patch GAN; without pretrained networks we keep the pixel terms)."""
    return F.l1_loss(x_hat, x) + F.mse_loss(x_hat, x)
