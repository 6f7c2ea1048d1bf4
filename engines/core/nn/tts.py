"""Grad-TTS's text side (Popov et al. 2021, Sec. 3; `Speech-Backbones/Grad-TTS/model/text_encoder.py`) at CPU
scale: a phoneme encoder (embedding, a convolutional pre-net, a Transformer encoder) whose projection is mu-tilde,
the frame-level mean of the prior, per token; and a duration predictor on the encoder's detached output."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass(frozen=True)
class PhonemeEncoderConfig:
    n_vocab: int = 80  # phonemes plus the interspersed blank
    n_feats: int = 80  # mel bins: mu-tilde has one number per bin
    hidden: int = 128
    filter: int = 256  # the Transformer's feed-forward width
    heads: int = 2
    layers: int = 3
    kernel: int = 3
    dropout: float = 0.1
    dur_filter: int = 128

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "PhonemeEncoderConfig":
        return cls(**d)


def sequence_mask(lengths: Tensor, max_len: int | None = None) -> Tensor:
    """(B,) lengths -> (B, T) bool, True inside each sequence."""
    T = int(max_len if max_len is not None else lengths.max())
    return torch.arange(T, device=lengths.device)[None] < lengths[:, None]


class _ConvNorm(nn.Module):
    """conv -> ReLU -> LayerNorm over channels -> dropout, on (B, C, T) with padding zeroed."""

    def __init__(self, c_in: int, c_out: int, kernel: int, dropout: float):
        super().__init__()
        self.conv = nn.Conv1d(c_in, c_out, kernel, padding=kernel // 2)
        self.norm = nn.LayerNorm(c_out)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        h = F.relu(self.conv(x * mask))
        return self.drop(self.norm(h.transpose(1, 2)).transpose(1, 2)) * mask


class DurationPredictor(nn.Module):
    """log-duration per token from the encoder's (detached) hidden states: (B, C, Tx) -> (B, 1, Tx)."""

    def __init__(self, c_in: int, filter: int, kernel: int, dropout: float):
        super().__init__()
        self.a = _ConvNorm(c_in, filter, kernel, dropout)
        self.b = _ConvNorm(filter, filter, kernel, dropout)
        self.proj = nn.Conv1d(filter, 1, 1)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        return self.proj(self.b(self.a(x, mask), mask)) * mask


class PhonemeEncoder(nn.Module):
    """ids (B, Tx), lengths (B,) -> mu-tilde (B, n_feats, Tx), log-durations (B, 1, Tx), mask (B, 1, Tx)."""

    def __init__(self, cfg: PhonemeEncoderConfig):
        super().__init__()
        self.cfg = cfg
        self.emb = nn.Embedding(cfg.n_vocab, cfg.hidden)
        nn.init.normal_(self.emb.weight, 0.0, cfg.hidden**-0.5)
        self.prenet = nn.ModuleList([_ConvNorm(cfg.hidden, cfg.hidden, 5, 0.5) for _ in range(3)])
        layer = nn.TransformerEncoderLayer(cfg.hidden, cfg.heads, cfg.filter, cfg.dropout, batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, cfg.layers, enable_nested_tensor=False)
        self.proj_mu = nn.Conv1d(cfg.hidden, cfg.n_feats, 1)
        self.duration = DurationPredictor(cfg.hidden, cfg.dur_filter, cfg.kernel, cfg.dropout)

    def positions(self, T: int, device) -> Tensor:
        """Sinusoidal positions (T, hidden), scaled small next to the embeddings."""
        pos = torch.arange(T, device=device, dtype=torch.float32)[:, None]
        div = torch.exp(torch.arange(0, self.cfg.hidden, 2, device=device) * (-math.log(10000.0) / self.cfg.hidden))
        pe = torch.zeros(T, self.cfg.hidden, device=device)
        pe[:, 0::2], pe[:, 1::2] = torch.sin(pos * div), torch.cos(pos * div)
        return pe

    def forward(self, ids: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        mask = sequence_mask(lengths, ids.shape[1])[:, None].float()  # (B, 1, Tx)
        x = (self.emb(ids) * math.sqrt(self.cfg.hidden)).transpose(1, 2)  # (B, C, Tx)
        for block in self.prenet:
            x = x + block(x, mask)  # residual pre-net
        h = x.transpose(1, 2) + self.positions(ids.shape[1], ids.device)  # (B, Tx, C)
        h = self.encoder(h, src_key_padding_mask=~mask[:, 0].bool()).transpose(1, 2) * mask  # (B, C, Tx)
        mu = self.proj_mu(h) * mask  # (B, n_feats, Tx)
        logw = self.duration(h.detach(), mask)  # stop-gradient into the encoder, as the paper
        return mu, logw, mask


@dataclass(frozen=True)
class GradTTSConfig:
    """The phoneme encoder and the decoder, a UNet2D over (mel bin x frame) with mu stacked as a second channel."""

    encoder: PhonemeEncoderConfig = PhonemeEncoderConfig()
    decoder: dict | None = None  # a UNetConfig as a dict (in 1, out 1, cond 1)
    t_scale: float = 1000.0  # t in [0, 1] is embedded as 1000 t (Grad-TTS's pe_scale)

    def to_dict(self) -> dict:
        return {"encoder": self.encoder.to_dict(), "decoder": self.decoder, "t_scale": self.t_scale}

    @classmethod
    def from_dict(cls, d: dict) -> "GradTTSConfig":
        return cls(PhonemeEncoderConfig.from_dict(d["encoder"]), d["decoder"], d.get("t_scale", 1000.0))


class GradTTS(nn.Module):
    """The encoder (text -> mu-tilde, log-durations) and the decoder, an eps network for X_t given mu:
    eps_hat = decoder(X_t, t; mu), whose score is -eps_hat / sqrt(lambda_t)."""

    def __init__(self, cfg: GradTTSConfig):
        super().__init__()
        from .unet import UNet2D, UNetConfig

        self.cfg = cfg
        self.encoder = PhonemeEncoder(cfg.encoder)
        self.decoder = UNet2D(UNetConfig.from_dict(cfg.decoder))

    def eps(self, x_t: Tensor, t: Tensor, mu: Tensor, decoder=None) -> Tensor:
        """(B, n_feats, T) noisy mel, t (B,) in [0, 1], mu (B, n_feats, T) -> (B, n_feats, T) predicted noise.
        decoder: the U-Net's forward to call instead of self.decoder (an inference runtime's, precision.fast)."""
        return (decoder or self.decoder)(x_t[:, None], t * self.cfg.t_scale, image=mu[:, None])[:, 0]

    def forward(self, x: Tensor, t: Tensor, mu: Tensor | None = None, **_) -> Tensor:
        return self.eps(x, t, mu)
