"""The Annotated Diffusion Model (Rogge & Rasul, Hugging Face blog 2022), made interactive: schedules compared, the
forward process on any image, the network's parts, and a tiny DDPM trained live on the digits."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch
from PIL import Image
from torch import nn

from . import checks
from .core.diffusion import diffusion_loss, q_sample
from .core.nn import UNet2D, UNetConfig
from .core.samplers import Denoiser, final, sample_loop
from .core.schedules import SCHEDULES, make_schedule
from .core.train import TrainConfig, Trainer
from .data.digits import digits_batches
from .images import fit_square, from_pil, grid, load_upload, to_pil

MAX_T = 1000
FORWARD_SIZE = 128

# The live model: the blog's recipe (eps-prediction, Huber loss, linear schedule, Adam 1e-3) at 16x16, small enough
# that a minute of two-core training shows digits emerging; T = 1000 as in DDPM (sampling uses 20 DDIM steps).
LIVE_NET = UNetConfig(1, 1, 16, (1, 2), 1, (1,))
LIVE_T = 1000
MAX_LIVE_SECONDS = 180
LOSSES = ("huber", "l2", "l1")  # the post's Huber loss, L_simple, and L1


def schedule_curves(T: int = 1000) -> dict[str, dict[str, np.ndarray]]:
    """alpha_bar_t and log SNR_t of every schedule with T steps, for one comparison chart."""
    T = checks.integer("T", T, 2, MAX_T)
    out = {}
    for name in SCHEDULES:
        s = make_schedule(name, T)
        out[name] = {"alpha_bar": s.alpha_bar.numpy(), "log_snr": np.log(s.snr.numpy())}
    return out


def strip_times(T: int, k: int = 6) -> list[int]:
    """k timesteps spread from 0 to T-1 (the blog's strip at several t)."""
    return [int(round(v)) for v in np.linspace(0, T - 1, k)]


def forward_process(
    image, schedule: str = "linear", t: int = 100, T: int = 1000, seed: int = 0, size: int = FORWARD_SIZE
) -> tuple[Image.Image, Image.Image, list[int]]:
    """q(x_t | x_0) on an image (any mode or size): (x_t at t, a strip of x_t at several t, those t); one noise draw."""
    schedule = checks.choice("schedule", schedule, SCHEDULES)
    T = checks.integer("T", T, 2, MAX_T)
    t = checks.integer("t", t, 0, T - 1, " = T - 1")
    seed = checks.seed(seed)
    x0 = from_pil(fit_square(load_upload(image), size))[None]  # (1, 3, size, size)
    s = make_schedule(schedule, T)
    eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed))
    ts = strip_times(T)

    def noised(tt: int) -> Image.Image:
        return to_pil(q_sample(x0, float(s.alpha_bar[tt]), eps)[0])

    return noised(t), grid([noised(tt) for tt in ts], cols=len(ts), pad=2), ts


def network_parts(model: nn.Module) -> list[tuple[str, str, int]]:
    """(part, what it is, parameter count) for each top-level part of a network, and the total."""
    rows = []
    for name, child in model.named_children():
        n = sum(p.numel() for p in child.parameters())
        if n:
            kinds = sorted({type(m).__name__ for m in child.modules() if not list(m.children())})
            rows.append((name, ", ".join(kinds)[:80], n))
    rows.append(("total", "", sum(p.numel() for p in model.parameters())))
    return rows


@dataclass(frozen=True)
class LiveUpdate:
    step: int
    seconds: float
    losses: tuple[float, ...]
    samples: Image.Image | None  # a fresh grid of samples, when one was drawn at this update
    done: bool


def live_train(
    seconds: float = 60.0,
    loss: str = "huber",
    schedule: str = "linear",
    batch_size: int = 64,
    lr: float = 1e-3,
    preview_every: float = 15.0,
    n_preview: int = 16,
    seed: int = 0,
    max_steps: int | None = None,
) -> Iterator[LiveUpdate]:
    """Train a tiny DDPM on the digits for `seconds` (or `max_steps`), yielding the loss curve about twice a second
    and a grid of DDIM samples every `preview_every` seconds and at the end."""
    seconds = checks.number("training time", seconds, 1, MAX_LIVE_SECONDS, " seconds")
    loss = checks.choice("loss", loss, LOSSES)
    schedule = checks.choice("schedule", schedule, SCHEDULES)
    seed = checks.seed(seed)
    sched = make_schedule(schedule, LIVE_T)
    cfg = TrainConfig(
        steps=10**9, batch_size=int(batch_size), lr=lr, warmup=50, min_lr_frac=1.0, ema_decay=0.99, seed=seed
    )

    def loss_fn(model, x0, gen):
        return diffusion_loss(model, x0, sched, "eps", loss, None, gen)

    trainer = Trainer(UNet2D(LIVE_NET), loss_fn, digits_batches(cfg.batch_size, 16), cfg, channels_last=True)
    t0 = last_yield = last_preview = time.perf_counter()
    losses: list[float] = []
    for rec in trainer.steps():
        losses.append(rec.loss)
        now = time.perf_counter()
        done = now - t0 >= seconds or (max_steps is not None and rec.step >= max_steps)
        preview = None
        if done or now - last_preview >= preview_every:
            preview = preview_samples(trainer.ema.model, sched, n_preview, seed)
            last_preview = time.perf_counter()
        if done or preview is not None or now - last_yield >= 0.5:
            last_yield = now
            yield LiveUpdate(rec.step, now - t0, tuple(losses), preview, done)
        if done:
            return


@torch.inference_mode()
def preview_samples(model: nn.Module, schedule, n: int = 16, seed: int = 0, steps: int = 20) -> Image.Image:
    """A grid of n DDIM samples from the model being trained (the same seed each time, so progress is visible)."""
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    x_T = torch.randn(n, 1, 16, 16, generator=gen)
    x = final(sample_loop("ddim", Denoiser(lambda x, t, c: model(x, t), "eps"), x_T, schedule, steps)).x
    return grid([to_pil(xi) for xi in x], upscale=4, pad=2)
