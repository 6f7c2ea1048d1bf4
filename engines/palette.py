"""Palette (Saharia et al. 2022, Image-to-Image Diffusion Models): one multi-task model for colorization,
inpainting, uncropping and JPEG restoration, conditioned by concatenation, trained with an L2 loss; the network is
told which task it is doing (a task embedding added to the noise-level embedding). JPEG restoration also has a
specialist, as the paper compares, used by default when its weights are present."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from typing import Iterator

import numpy as np
import torch
from torch import Tensor

from . import checks
from .core import checkpoint
from .core.diffusion import noise_level_loss
from .core.nn import UNet2D, UNetConfig
from .core.recipe import noise_level_denoiser
from .core.samplers import SAMPLERS, Denoiser, Step, final, sample_loop
from .core.schedules import Schedule, make_schedule
from .core.train import TrainConfig, Trainer
from .core.wrappers import known_pixels
from .data.degrade import SIDES, TASKS, corrupt, random_jpeg_pairs, random_training_pairs, side_mask
from .data.photos import COLOUR_TRAIN, crop_batches
from .images import fit_square, from_pil, load_upload, to_pil

MODEL = "palette-photos"
SIZE = 64
MAX_SAMPLES = 8
MAX_STEPS = 1000
TRAIN_SCHEDULE = {"name": "linear", "T": 2000, "beta_start": 1e-6, "beta_end": 1e-2}  # Palette's training config
TEST_SCHEDULE = {"name": "linear", "T": 1000, "beta_start": 1e-4, "beta_end": 0.09}  # ... and its test config
# Sampling walks the training schedule: the net is told gamma, so any schedule works, but 50 steps of the test one
# spend about half their steps below the lowest noise level seen in training. Measured on 6 held-out crops at 50
# steps: inpainting block error 0.054 (test schedule 0.087, flat mean 0.074), colourfulness 0.32 of the original's
# (0.19); uncropping worse (0.203 vs 0.163) and JPEG no better (25.6 vs 25.8 dB).
SAMPLE_SCHEDULE = TRAIN_SCHEDULE
# num_classes = the task. Without it, measured at 1,500 steps: restoring held-out JPEGs from pure noise kept half the
# condition's colourfulness (53 of 103) and lost 6 dB to the input; a greyish JPEG and a colorization input look
# alike, so the net hedged between copying colour and inventing it (told the task: 21.3 dB, from 19.8 dB).
# cond_stats (the condition's mean and std in the embedding, in case GroupNorm hid the global colour from the
# noise-aware layers) made no measurable difference at 1,500 steps (21.5 dB; 35-80% of a mean-colour shift of the
# condition reached the output either way); the shipped weights were trained with it, so it stays.
NET = UNetConfig(3, 3, 32, (1, 2, 2, 2), 1, (2, 3), num_classes=len(TASKS), cond_channels=3, cond_stats=True)
TRAIN = TrainConfig(steps=5000, batch_size=12, lr=1e-3, warmup=200, ema_decay=0.999, save_every=250)
# Palette regresses eps; here the net predicts v = gamma eps - sqrt(1 - gamma^2) y_0 (Salimans & Ho 2022), same L2
# and conditioning. Measured: after 1,750 steps the eps net reached 14 dB on JPEG restoration (its input: 27 dB),
# because at high noise x_0 = (y_t - sqrt(1 - gamma^2) eps) / gamma magnifies every eps error by 1 / gamma, and the
# global colour is decided there; v reads the condition directly at high noise.
PARAMETERIZATION = "v"
VARIANCE = "fixedsmall"  # ancestral sampling with the posterior variance beta~_t, as Palette's reference code does
GAMMA_SCALE = 1000.0


# JPEG restoration has a model of its own (Palette compares specialists with the multi-task model). It diffuses the
# residual r = s (y_0 - x) of the clean image over its JPEG x, scaled by s = RESIDUAL_SCALE to about the images'
# variance (the residual's std is 0.08-0.13 at quality 30-5): unscaled, it drowns in the noise at all but the lowest
# noise levels, where 50 steps of the schedule put only a handful of steps. Measured (JPEG only, 500 steps, held-out
# quality 10, one sample): diffusing y_0 23.7 dB, the residual 25.0 dB (probes), scaled by 5 25.7 dB against 25.2
# unscaled (otherwise as shipped); the JPEG input: 27.0 dB.
JPEG_MODEL = "palette-jpeg"
RESIDUAL_SCALE = 5.0
JPEG_NET = UNetConfig(3, 3, 32, (1, 2, 2, 2), 1, (2, 3), cond_channels=3)
JPEG_TRAIN = TrainConfig(steps=5000, batch_size=12, lr=1e-3, warmup=200, ema_decay=0.999, save_every=250)


def _schedule(s: dict) -> Schedule:
    return make_schedule(s["name"], s["T"], beta_start=s["beta_start"], beta_end=s["beta_end"])


@lru_cache(maxsize=1)
def _train_schedule() -> Schedule:
    return _schedule(TRAIN_SCHEDULE)


def _loss(
    model,
    target: Tensor,
    cond: Tensor,
    gen: torch.Generator,
    device: str,
    y: Tensor | None = None,
    mask: Tensor | None = None,
) -> Tensor:
    """Palette's L2 noise-level loss on the training schedule, the condition concatenated; for the multi-task model
    y (the task) and the mask (its masked L2)."""
    return noise_level_loss(
        lambda x, g, image: model(x, GAMMA_SCALE * g, image=image, **({} if y is None else {"y": y.to(device)})),
        target.to(device),
        _train_schedule(),
        "l2",
        gen,
        mask=None if mask is None else mask.to(device),
        parameterization=PARAMETERIZATION,
        image=cond.to(device),
    )


def _trainer(net: UNetConfig, train: TrainConfig, steps: int | None, device: str, loss_fn, meta: dict):
    """A Trainer of a Palette UNet on crops of the colour photos, and its checkpoint meta."""
    cfg = train if steps is None else TrainConfig(**{**asdict(train), "steps": steps})
    torch.manual_seed(cfg.seed)
    meta = {
        "arch": "UNet2D",
        "config": net.to_dict(),
        "train_schedule": TRAIN_SCHEDULE,
        "gamma_scale": GAMMA_SCALE,
        "parameterization": PARAMETERIZATION,
        **meta,
    }
    batches = crop_batches(cfg.batch_size, SIZE, COLOUR_TRAIN)
    return Trainer(UNet2D(net), loss_fn, batches, cfg, device, channels_last=True), meta


def make_trainer(steps: int | None = None, device: str = "cpu") -> tuple[Trainer, dict]:
    """Each training example gets a random task; the loss scores only the pixels to generate (Palette's masked L2)."""

    def loss_fn(model, x0: Tensor, gen: torch.Generator) -> Tensor:
        x0, cond, mask, task = random_training_pairs(x0, gen)
        return _loss(model, x0, cond, gen, device, y=task, mask=mask)

    return _trainer(NET, TRAIN, steps, device, loss_fn, {"test_schedule": TEST_SCHEDULE, "tasks": list(TASKS)})


def make_jpeg_trainer(
    steps: int | None = None, device: str = "cpu", scale: float = RESIDUAL_SCALE
) -> tuple[Trainer, dict]:
    """The JPEG specialist: the same L2 noise-level loss and concatenated condition, on the scaled residual."""

    def loss_fn(model, x0: Tensor, gen: torch.Generator) -> Tensor:
        y0, cond = random_jpeg_pairs(x0, gen)
        return _loss(model, scale * (y0 - cond), cond, gen, device)  # r_0 = s (y_0 - x): what diffuses

    return _trainer(JPEG_NET, JPEG_TRAIN, steps, device, loss_fn, {"residual_scale": scale, "tasks": ["jpeg"]})


def model_for(task: str, multitask: bool = False) -> str:
    """The checkpoint that restores a task: the JPEG specialist for JPEGs when its weights are here and the
    multi-task model is not asked for; the multi-task model otherwise."""
    return JPEG_MODEL if task == "jpeg" and not multitask and checkpoint.available(JPEG_MODEL) else MODEL


def load(task: str, multitask: bool = False) -> tuple[Denoiser, Schedule, float | None]:
    """The model for one task as a Denoiser on SAMPLE_SCHEDULE (the net is told sqrt(alpha_bar_t) of it, and the
    task), and the residual scale s when it diffuses s (y_0 - x): the JPEG specialist, when its weights are here and
    the multi-task model is not asked for."""
    sched = _schedule(SAMPLE_SCHEDULE)
    if model_for(task, multitask) == JPEG_MODEL:
        s = float(checkpoint.read_meta(JPEG_MODEL)["residual_scale"])
        den = noise_level_denoiser(JPEG_MODEL, sched, GAMMA_SCALE)
        return replace(den, clip=(-2 * s, 2 * s)), sched, s  # |y_0 - x| <= 2
    return noise_level_denoiser(MODEL, sched, GAMMA_SCALE, label=TASKS.index(task)), sched, None


def load_mask(mask, size: int = SIZE) -> Tensor:
    """A user mask (any image; white = missing) as (1, 1, size, size) of 0/1, cropped and resized exactly as the
    image is, so a mask of another size still lines up."""
    m = fit_square(load_upload(mask), size).convert("L")
    return torch.from_numpy((np.asarray(m, dtype=np.float32) > 127).astype(np.float32))[None, None]


@dataclass(frozen=True)
class Job:
    task: str
    clean: Tensor | None  # (1, 3, 64, 64) when the input was a clean image we degraded ourselves
    cond: Tensor  # (1, 3, 64, 64): what the model is conditioned on
    mask: Tensor  # (1, 1, 64, 64): 1 = pixels to generate
    known: Tensor | None  # (1, 3, 64, 64): the known pixels (inpainting / uncropping)


def prepare(
    task: str, image, mask=None, side: str = "right", quality: int = 15, degrade: bool = True, seed: int = 0
) -> Job:
    """Turn an input into Palette's conditioning. With degrade=True the input is a clean image that is corrupted
    here (so the original is known); otherwise it is already grey / JPEG-damaged, and holes come from the mask."""
    task = checks.choice("task", task, TASKS)
    side = checks.choice("uncropping side", side, SIDES)
    quality = checks.integer("JPEG quality", quality, 5, 30)
    degrade = checks.flag("degrade the input", degrade)
    gen = torch.Generator().manual_seed(checks.seed(seed))
    x = from_pil(fit_square(load_upload(image), SIZE))[None]
    if task in ("inpainting", "uncropping"):
        m = load_mask(mask) if (task == "inpainting" and mask is not None) else None
        if task == "uncropping":
            m = side_mask(SIZE, side)[None] if m is None else m
        if m is None:
            raise ValueError("inpainting needs a mask: paint the hole, or pick a preset mask")
        if m.sum() == 0:
            raise ValueError("the mask has no hole: paint (white) the region to fill")
        cond, mask_t = corrupt(x, task, m, gen=gen)
        return Job(task, x, cond, mask_t, x)
    if not degrade:
        cond = x if task == "jpeg" else corrupt(x, "colorization")[0]  # a colour upload is greyed for colorization
        return Job(task, None, cond, torch.ones(1, 1, SIZE, SIZE), None)
    cond, mask_t = corrupt(x, task, quality=quality)
    return Job(task, x, cond, mask_t, None)


def restore(
    job: Job, steps: int = 50, n: int = 1, seed: int = 0, sampler: str = "ddpm", multitask: bool = False
) -> Iterator[Step]:
    """Yield every Step of n samples for one conditioning (n > 1 shows the diversity Palette stresses); multitask:
    JPEG restoration by the multi-task model instead of the specialist."""
    steps = checks.integer("steps", steps, 1, MAX_STEPS)
    n = checks.integer("number of samples", n, 1, MAX_SAMPLES)
    seed = checks.seed(seed)
    sampler = checks.choice("sampler", sampler, SAMPLERS)
    multitask = checks.flag("the multi-task model for JPEG", multitask)
    denoiser, sched, scale = load(job.task, multitask)
    cond = job.cond.expand(n, -1, -1, -1).contiguous()
    if job.known is not None:
        denoiser = known_pixels(denoiser, job.known.expand(n, -1, -1, -1), job.mask.expand(n, -1, -1, -1), sched)
    gen = torch.Generator().manual_seed(seed)
    x_T = torch.randn(n, 3, SIZE, SIZE, generator=gen)
    for s in sample_loop(sampler, denoiser, x_T, sched, steps, cond, generator=gen, variance=VARIANCE):
        if scale is not None:  # r_t -> y = x + r / s: the JPEG input plus the residual, noisy until the end
            last = s.index == s.total - 1
            y = cond + s.x / scale
            s = replace(s, x=y.clamp(-1, 1) if last else y, x0=(cond + s.x0 / scale).clamp(-1, 1))
        yield s


def posterior_mean(x: Tensor) -> Tensor:
    """(n, 3, H, W) samples of one input -> (1, 3, H, W) their mean: an estimate of E[y_0 | x], the restoration
    with the least squared error. A single sample's expected squared error is twice the mean's (the sample and the
    original are two draws from the same posterior), so PSNR favours the mean and the eye the samples."""
    return x.mean(0, keepdim=True)


def colourfulness(x: Tensor) -> float:
    """Hasler & Suesstrunk 2003 colourfulness of an image batch in [-1, 1] (0 for grey)."""
    rgb = (x.clamp(-1, 1) + 1) * 127.5
    rg = rgb[:, 0] - rgb[:, 1]
    yb = 0.5 * (rgb[:, 0] + rgb[:, 1]) - rgb[:, 2]
    return float((rg.std() ** 2 + yb.std() ** 2).sqrt() + 0.3 * (rg.mean() ** 2 + yb.mean() ** 2).sqrt())


def cli_args(p) -> None:
    """Arguments of `python -m engines palette`."""
    p.add_argument("--task", choices=list(TASKS), required=True)
    p.add_argument(
        "--input", required=True, help="a clean image (degraded here), or with --as-is an already degraded one"
    )
    p.add_argument("--mask", help="inpainting: an image, white where pixels are missing (default: the centre box)")
    p.add_argument("--side", choices=list(SIDES), default="right", help="uncropping: the side to extend")
    p.add_argument("--quality", type=int, default=15, help="jpeg: the JPEG quality to restore from, 5..30")
    p.add_argument("--as-is", action="store_true", help="the input is already grey / JPEG-damaged")
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--n", type=int, default=1, help="samples; with more than one, their mean too (mean.png)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--multitask", action="store_true", help="jpeg: the multi-task model instead of the specialist")


def centre_box(size: int = SIZE) -> Tensor:
    """The default inpainting hole: the centre quarter of the image, (1, 1, size, size)."""
    m = torch.zeros(1, 1, size, size)
    m[..., size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = 1
    return m


def cli_main(a):
    mask = a.mask if a.mask or a.task != "inpainting" else to_pil(centre_box()[0] * 2 - 1)
    job = prepare(a.task, a.input, mask, a.side, a.quality, not a.as_is, a.seed)
    x = final(restore(job, a.steps, a.n, a.seed, multitask=a.multitask)).x
    extra = {"input.png": to_pil(job.cond[0] if job.known is None else (job.known * (1 - job.mask) + job.mask)[0])}
    if len(x) > 1:
        extra["mean.png"] = to_pil(posterior_mean(x)[0])
    return [to_pil(xi) for xi in x], extra
