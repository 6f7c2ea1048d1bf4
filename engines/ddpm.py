"""DDPM (Ho, Jain, Abbeel 2020): unconditional models on digits (16x16) and the shapes world (32x32), sampled live."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Iterator

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from . import checks
from .core import checkpoint
from .core.nn import UNet2D, UNetConfig
from .core.recipe import FAST, Recipe, load_denoiser
from .core.samplers import SAMPLERS, Denoiser, Step, final, sample_loop
from .core.schedules import Schedule
from .core.train import TrainConfig, Trainer
from .images import to_pil

MAX_STEPS = 1000


@dataclass(frozen=True)
class Dataset:
    name: str  # weights name
    size: int
    channels: int
    max_batch: int  # the most images one request may ask for on a 2-core machine


DATASETS = {
    "digits": Dataset("ddpm-digits", 16, 1, 256),
    "shapes": Dataset("ddpm-shapes", 32, 3, 64),
}

# The training recipe. DDPM's sampler and forward process are used as published; the network is trained with
# v-prediction, a cosine schedule and Min-SNR-5 weighting, which converge several times faster on 2 CPU cores
# (DESIGN.md, measured); the sampler turns v into the eps of Algorithm 2.
DIFFUSION = FAST
RECIPES: dict[str, tuple[UNetConfig, TrainConfig]] = {
    "digits": (
        UNetConfig(1, 1, 32, (1, 2, 2), 1, (2,)),
        TrainConfig(steps=2000, batch_size=128, lr=2e-3, warmup=200, ema_decay=0.999, save_every=250),
    ),
    "shapes": (
        UNetConfig(3, 3, 32, (1, 2, 2, 2), 1, (2, 3)),
        TrainConfig(steps=6000, batch_size=64, lr=2e-3, warmup=200, ema_decay=0.999, save_every=250),
    ),
}


def check_dataset(dataset: str) -> Dataset:
    """The Dataset of a name; ValueError naming the choices for anything else."""
    return DATASETS[checks.choice("dataset", dataset, DATASETS)]


def batch_fn(dataset: str, batch_size: int):
    """The training batches of a data set."""
    if dataset == "digits":
        from .data.digits import digits_batches

        return digits_batches(batch_size, DATASETS["digits"].size)
    from .data.shapes import shapes_batches

    return shapes_batches(batch_size, DATASETS["shapes"].size)


def make_trainer(dataset: str, steps: int | None = None, device: str = "cpu") -> tuple[Trainer, dict]:
    """A Trainer with the recipe for `dataset`, and the checkpoint meta that rebuilds its model."""
    net_cfg, cfg = RECIPES[dataset]
    if steps is not None:
        cfg = TrainConfig(**{**asdict(cfg), "steps": steps})
    schedule = DIFFUSION.make_schedule()

    def loss_fn(model, x0: Tensor, gen: torch.Generator) -> Tensor:
        return DIFFUSION.loss_fn(model, x0.to(device), schedule, gen)

    meta = {
        "arch": "UNet2D",
        "config": net_cfg.to_dict(),
        "diffusion": DIFFUSION.to_dict(),
        "data": {"dataset": dataset, "size": DATASETS[dataset].size},
    }
    torch.manual_seed(cfg.seed)  # the initial weights
    return Trainer(UNet2D(net_cfg), loss_fn, batch_fn(dataset, cfg.batch_size), cfg, device, channels_last=True), meta


def load(dataset: str) -> tuple[Denoiser, Schedule, dict]:
    """The shipped model of a data set as a Denoiser, with its schedule and meta (cached after the first call)."""
    spec = check_dataset(dataset)
    return load_denoiser(spec.name, channels_last=spec.size >= 32)


@dataclass(frozen=True)
class Request:
    """A checked sampling request: every value in its clean type."""

    spec: Dataset
    dataset: str
    sampler: str
    steps: int
    n: int
    eta: float
    seed: int


def validate(dataset: str, sampler: str, steps: int, n: int, eta: float = 0.0, seed: int = 0) -> Request:
    """Check a request; raise ValueError with a message a user can act on."""
    spec = check_dataset(dataset)
    return Request(
        spec,
        dataset,
        checks.choice("sampler", sampler, SAMPLERS),
        checks.integer("steps", steps, 1, MAX_STEPS),
        checks.integer("batch size", n, 1, spec.max_batch, f" for {dataset} on this machine"),
        checks.number("eta", eta, 0.0, 1.0),
        checks.seed(seed),
    )


def sample(
    dataset: str = "digits", sampler: str = "ddim", steps: int = 50, n: int = 16, seed: int = 0, eta: float = 0.0
) -> Iterator[Step]:
    """Yield every Step of sampling n images from x_T ~ N(0, I) drawn with `seed`; the last Step holds the images."""
    r = validate(dataset, sampler, steps, n, eta, seed)
    spec = r.spec
    denoiser, schedule, _ = load(dataset)
    gen = torch.Generator().manual_seed(r.seed)
    x_T = torch.randn(r.n, spec.channels, spec.size, spec.size, generator=gen)
    if spec.size >= 32:
        x_T = x_T.contiguous(memory_format=torch.channels_last)
    yield from sample_loop(r.sampler, denoiser, x_T, schedule, r.steps, eta=r.eta, generator=gen)


def images(x: Tensor) -> list[Image.Image]:
    """A batch in [-1, 1] -> PIL images."""
    return [to_pil(xi) for xi in x]


def run(dataset: str, sampler: str, steps: int, n: int, seed: int, eta: float = 0.0) -> list[Image.Image]:
    """Sample to completion and return the images."""
    return images(final(sample(dataset, sampler, steps, n, seed, eta)).x)


def schedule_curves(dataset: str) -> dict[str, np.ndarray]:
    """alpha_bar and log SNR of a data set's schedule, for the schedule chart."""
    spec = check_dataset(dataset)
    meta = checkpoint.read_meta(spec.name)
    s = Recipe(**meta["diffusion"]).make_schedule()
    return {"alpha_bar": s.alpha_bar.numpy(), "log_snr": np.log(s.snr.numpy())}


def cli_args(p) -> None:
    """Arguments of `python -m engines ddpm`."""
    p.add_argument("--dataset", choices=list(DATASETS), default="digits")
    p.add_argument("--sampler", choices=list(SAMPLERS), default="ddim")
    p.add_argument("--steps", type=int, default=50, help=f"sampling steps, 1..{MAX_STEPS}")
    p.add_argument("--eta", type=float, default=0.0, help="DDIM eta: 0 deterministic, 1 DDPM-like")
    p.add_argument("--n", type=int, default=16, help="number of images")
    p.add_argument("--seed", type=int, default=0)


def cli_main(a) -> list[Image.Image]:
    """Sample and return the images; the caller writes them as DIR/000.png ... and DIR/grid.png."""
    return run(a.dataset, a.sampler, a.steps, a.n, a.seed, a.eta)
