"""2-D toy diffusion (the Annotated Diffusion tab): an MLP denoiser that carries a cloud of noise onto two moons or a
swiss roll, and the learned denoising direction on a grid, for drawing as arrows."""

from __future__ import annotations

from dataclasses import asdict
from functools import lru_cache
from typing import Iterator

import numpy as np
import torch
from torch import Tensor

from . import checks
from .core.nn import MLPConfig, MLPDenoiser
from .core.recipe import Recipe, load_denoiser
from .core.samplers import SAMPLERS, Denoiser, Step, sample_loop
from .core.schedules import Schedule
from .core.train import TrainConfig, Trainer

TOYS = ("moons", "swissroll")
DIFFUSION = Recipe("linear", 1000, "eps", None, "l2")  # DDPM as published: L_simple on eps
NET = MLPConfig(dim=2, hidden=128, layers=3, emb_dim=32)
TRAIN = TrainConfig(steps=4000, batch_size=512, lr=2e-3, warmup=100, ema_decay=0.995, save_every=1000)
MAX_POINTS = 5000
MAX_STEPS = 1000  # the schedule's T


def check_toy(name: str) -> str:
    """The name of a toy data set; ValueError naming the choices for anything else."""
    return checks.choice("toy data set", name, TOYS)


@lru_cache(maxsize=4)
def _standardiser(name: str) -> tuple[np.ndarray, np.ndarray]:
    raw = _raw(name, 20000, 12345)
    return raw.mean(0), raw.std(0).mean() * np.ones(2)


def _raw(name: str, n: int, seed: int) -> np.ndarray:
    from sklearn.datasets import make_moons, make_swiss_roll

    if name == "moons":
        return make_moons(n, noise=0.05, random_state=seed)[0]
    x, _ = make_swiss_roll(n, noise=0.3, random_state=seed)
    return x[:, [0, 2]]


def data(name: str, n: int = 2000, seed: int = 0) -> np.ndarray:
    """n points of the toy data set, standardised to zero mean and about unit spread: (n, 2) float32."""
    check_toy(name)
    mu, sd = _standardiser(name)
    return ((_raw(name, n, seed) - mu) / sd).astype(np.float32)


def make_trainer(name: str, steps: int | None = None, device: str = "cpu") -> tuple[Trainer, dict]:
    """A Trainer for the MLP denoiser on a toy set (L_simple, eps-prediction, linear schedule, as in DDPM)."""
    check_toy(name)
    cfg = TRAIN if steps is None else TrainConfig(**{**asdict(TRAIN), "steps": steps})
    schedule = DIFFUSION.make_schedule()
    pool = torch.from_numpy(data(name, 50000, 0))

    def batch_fn(step: int, gen: torch.Generator) -> Tensor:
        return pool[torch.randint(0, pool.shape[0], (cfg.batch_size,), generator=gen)]

    def loss_fn(model, x0: Tensor, gen: torch.Generator) -> Tensor:
        return DIFFUSION.loss_fn(model, x0.to(device), schedule, gen)

    meta = {"arch": "MLPDenoiser", "config": NET.to_dict(), "diffusion": DIFFUSION.to_dict(), "data": {"dataset": name}}
    torch.manual_seed(cfg.seed)  # the initial weights
    return Trainer(MLPDenoiser(NET), loss_fn, batch_fn, cfg, device), meta


def load(name: str) -> tuple[Denoiser, Schedule]:
    """The shipped toy denoiser (no x0 clipping: the data are not bounded to [-1, 1])."""
    denoiser, schedule, _ = load_denoiser(f"toy-{check_toy(name)}", clip=None)
    return denoiser, schedule


def sample(
    name: str = "moons", sampler: str = "ddpm", steps: int = 50, n: int = 1000, seed: int = 0, eta: float = 0.0
) -> Iterator[Step]:
    """Yield every Step while n points flow from N(0, I) to the data."""
    check_toy(name)
    sampler = checks.choice("sampler", sampler, SAMPLERS)
    steps = checks.integer("steps", steps, 1, MAX_STEPS)
    n = checks.integer("number of points", n, 1, MAX_POINTS)
    seed, eta = checks.seed(seed), checks.number("eta", eta, 0.0, 1.0)
    denoiser, schedule = load(name)
    gen = torch.Generator().manual_seed(seed)
    x_T = torch.randn(n, 2, generator=gen)
    yield from sample_loop(sampler, denoiser, x_T, schedule, steps, eta=eta, generator=gen)


@torch.inference_mode()
def direction_field(name: str, t: int, extent: float = 3.0, k: int = 15) -> tuple[np.ndarray, np.ndarray]:
    """On a k x k grid over [-extent, extent]^2: points (k*k, 2) and the denoising direction x0_hat - x_t at step t.

    x0_hat - x_t is proportional to the learned score plus a shrink towards the origin (Tweedie's formula).
    """
    denoiser, schedule = load(name)
    g = np.linspace(-extent, extent, k, dtype=np.float32)
    pts = torch.from_numpy(np.stack(np.meshgrid(g, g), -1).reshape(-1, 2))
    x0, _ = denoiser.predict(pts, int(t), schedule.at(torch.tensor([int(t)]))[0])
    return pts.numpy(), (x0 - pts).numpy()


def nearest_data_distance(points: np.ndarray, name: str) -> float:
    """Mean distance from each point to the nearest point of a dense sample of the data (a sample-quality proxy)."""
    ref = torch.from_numpy(data(name, 5000, 1))
    return float(torch.cdist(torch.from_numpy(points).float(), ref).min(1).values.mean())
