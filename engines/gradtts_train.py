"""Grad-TTS training (Popov et al. 2021, Sec. 3.3; `Speech-Backbones/Grad-TTS/model/tts.py:compute_loss`) on the
espeak corpus (engines.data.speech): Monotonic Alignment Search between the encoder's mu-tilde and the mel frames
(detached), then L_dur (MSE on log-durations), L_enc (the prior's Gaussian log-likelihood; without it no alignment
forms) and L_diff (denoising score matching on random 2-second crops of the forward SDE)."""

from __future__ import annotations

import math
from dataclasses import asdict, replace

import numpy as np
import torch
from torch import Tensor

from .core.mas import maximum_path
from .core.nn.tts import GradTTS, GradTTSConfig, PhonemeEncoderConfig, sequence_mask
from .core.nn.unet import UNetConfig
from .core.sde import MeanRevertingVP
from .core.train import TrainConfig, Trainer

MODEL = "gradtts-espeak"
# The terminal distribution of the forward SDE: "data" is the paper's N(mu, I); "standard" is the ablation's plain
# N(0, I), the same decoder (still conditioned on mu) diffusing towards 0 instead of mu (Popov et al. 2021, Sec. 4).
PRIORS = {MODEL: "data", "gradtts-espeak-plain": "standard"}
SDE = MeanRevertingVP(0.05, 20.0)  # the paper's beta_0, beta_1
# The decoder trains on random crops of OUT_FRAMES frames (1.5 s; the paper: 2 s) of the first DECODER_BATCH
# utterances of each batch: the U-Net is 90% of a step's time (measured: 2.5 s of 2.7 s for 16 x 172 frames)
OUT_FRAMES, DECODER_BATCH = 128, 8
DECODER = UNetConfig(1, 1, 16, (1, 2, 4), 1, (), heads=2, cond_channels=1)
TRAIN = TrainConfig(steps=6000, batch_size=16, lr=1e-3, warmup=200, ema_decay=0.999, save_every=250)
T_EPS = 1e-5


def config(n_phonemes: int) -> GradTTSConfig:
    """The network for an inventory of n_phonemes (plus the blank)."""
    return GradTTSConfig(PhonemeEncoderConfig(n_vocab=n_phonemes + 1), DECODER.to_dict())


def intersperse(ids: np.ndarray, blank: int) -> np.ndarray:
    """[p1, p2, ...] -> [blank, p1, blank, p2, ..., blank] (Grad-TTS's add_blank)."""
    out = np.full(2 * len(ids) + 1, blank, dtype=np.int64)
    out[1::2] = ids
    return out


def collate(ids: list[np.ndarray], mels: list[np.ndarray] | None = None) -> dict[str, Tensor]:
    """Pad a batch: ids (B, Tx), x_lengths (B,), and with mels: y (B, F, Ty), y_lengths (B,)."""
    x_len = torch.tensor([len(i) for i in ids])
    x = torch.zeros(len(ids), int(x_len.max()), dtype=torch.long)
    for b, i in enumerate(ids):
        x[b, : len(i)] = torch.from_numpy(i)
    out = {"ids": x, "x_lengths": x_len}
    if mels is not None:
        y_len = torch.tensor([m.shape[1] for m in mels])
        y = torch.zeros(len(mels), mels[0].shape[0], int(y_len.max()))
        for b, m in enumerate(mels):
            y[b, :, : m.shape[1]] = torch.from_numpy(m)
        out |= {"y": y, "y_lengths": y_len}
    return out


def log_prior(mu_x: Tensor, y: Tensor) -> Tensor:
    """log N(y_j; mu_i, I) for every token i and frame j: (B, F, Tx), (B, F, Ty) -> (B, Tx, Ty)."""
    F_ = mu_x.shape[1]
    return (-0.5 * (y**2).sum(1)[:, None] + torch.einsum("bfi,bfj->bij", mu_x, y)
            - 0.5 * (mu_x**2).sum(1)[..., None] - 0.5 * F_ * math.log(2 * math.pi))


def losses(model: GradTTS, b: dict[str, Tensor], gen: torch.Generator, prior: str = "data") -> dict[str, Tensor]:
    """L_dur, L_enc, L_diff of one batch, and the alignment MAS found: {'dur', 'prior', 'diff', 'attn'}. prior
    "standard" diffuses the mel towards N(0, I) instead of N(mu, I)."""
    mu_x, logw, x_mask = model.encoder(b["ids"], b["x_lengths"])  # (B, F, Tx), (B, 1, Tx), (B, 1, Tx)
    y, y_len = b["y"], b["y_lengths"]
    y_mask = sequence_mask(y_len, y.shape[-1])[:, None].float()  # (B, 1, Ty)
    with torch.no_grad():
        lp = log_prior(mu_x, y).masked_fill(~(x_mask.transpose(1, 2) * y_mask).bool(), -1e9)
        attn = maximum_path(lp, b["x_lengths"], y_len)  # (B, Tx, Ty), 0/1
    logw_ = torch.log(1e-8 + attn.sum(-1))[:, None] * x_mask
    dur = ((logw - logw_) ** 2).sum() / b["x_lengths"].sum()
    mu_y = torch.einsum("bfi,bij->bfj", mu_x, attn)  # (B, F, Ty): each frame's token mean
    F_ = y.shape[1]
    enc = (0.5 * ((y - mu_y) ** 2 + math.log(2 * math.pi)) * y_mask).sum() / (y_mask.sum() * F_)
    # random crops of OUT_FRAMES for the decoder (shorter utterances are padded and masked)
    k = min(DECODER_BATCH, y.shape[0])
    starts = [int(torch.randint(0, max(1, int(n) - OUT_FRAMES + 1), (1,), generator=gen)) for n in y_len[:k]]
    pad = max(0, OUT_FRAMES - y.shape[-1])
    yp, mp, maskp = (torch.nn.functional.pad(a[:k], (0, pad)) for a in (y, mu_y, y_mask))
    y_c = torch.stack([yp[i, :, s : s + OUT_FRAMES] for i, s in enumerate(starts)])  # (B, F, OUT)
    mu_c = torch.stack([mp[i, :, s : s + OUT_FRAMES] for i, s in enumerate(starts)])
    m_c = torch.stack([maskp[i, :, s : s + OUT_FRAMES] for i, s in enumerate(starts)])  # (B, 1, OUT)
    t = torch.rand(k, generator=gen).clamp(T_EPS, 1 - T_EPS)
    if prior not in ("data", "standard"):
        raise ValueError(f"prior is 'data' or 'standard', not {prior!r}")
    mean, var = SDE.marginal(y_c, mu_c if prior == "data" else torch.zeros_like(mu_c), t)
    z = torch.randn(y_c.shape, generator=gen)
    x_t = (mean + var.sqrt() * z) * m_c
    eps_hat = model.eps(x_t, t, mu_c) * m_c
    diff = ((eps_hat - z * m_c) ** 2).sum() / (m_c.sum() * F_)
    return {"dur": dur, "prior": enc, "diff": diff, "attn": attn}


def make_trainer(steps: int | None = None, device: str = "cpu", prior: str = "data") -> tuple[Trainer, dict]:
    """The trainer over the corpus's training sentences (random batches of whole utterances); prior as losses()."""
    from .data import speech

    cfg = TRAIN if steps is None else replace(TRAIN, steps=steps)
    c = speech.corpus()
    blank = len(c.inventory)
    train_idx = np.flatnonzero(~c.held_out)
    ids = [intersperse(i, blank) for i in c.ids]

    def batches(step: int, gen: torch.Generator) -> dict[str, Tensor]:
        pick = train_idx[torch.randint(0, len(train_idx), (cfg.batch_size,), generator=gen).numpy()]
        return collate([ids[i] for i in pick], [c.mels[i] for i in pick])

    def loss_fn(model: GradTTS, b: dict[str, Tensor], gen: torch.Generator) -> Tensor:
        parts = losses(model, b, gen, prior)
        return parts["dur"] + parts["prior"] + parts["diff"]

    torch.manual_seed(cfg.seed)
    net = config(len(c.inventory))
    meta = {"arch": "GradTTS", "config": net.to_dict(), "inventory": list(c.inventory), "blank": blank,
            "sde": asdict(SDE), "prior": prior, "out_frames": OUT_FRAMES, "training_sizes": asdict(cfg),
            "data": {"corpus": "engines.data.speech", "sentences": int((~c.held_out).sum()),
                     "held_out": int(c.held_out.sum())}}
    return Trainer(GradTTS(net), loss_fn, batches, cfg, device), meta
