"""A diffusion recipe (schedule, T, parameterisation, loss, Min-SNR weighting) saved with each checkpoint, and the
one way to turn a trained network back into a Denoiser for the samplers."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Callable

import torch
from torch import Tensor

from . import checkpoint
from .diffusion import diffusion_loss
from .precision import fast
from .samplers import Denoiser
from .schedules import Schedule, make_schedule


@dataclass(frozen=True)
class Recipe:
    """How a model learns to denoise; stored as the checkpoint's 'diffusion' entry."""

    schedule: str = "cosine"
    T: int = 1000
    parameterization: str = "v"
    min_snr_gamma: float | None = 5.0
    loss: str = "l2"

    def to_dict(self) -> dict:
        return asdict(self)

    def make_schedule(self) -> Schedule:
        return make_schedule(self.schedule, self.T)

    def loss_fn(
        self, net: Callable[..., Tensor], x0: Tensor, schedule: Schedule, gen: torch.Generator, **cond: Any
    ) -> Tensor:
        """diffusion_loss with this recipe's target, loss and weighting."""
        return diffusion_loss(net, x0, schedule, self.parameterization, self.loss, self.min_snr_gamma, gen, **cond)


# The recipe that converges fastest on 2 CPU cores (DESIGN.md, measured): v-prediction, cosine, Min-SNR-5.
FAST = Recipe()


def load_denoiser(
    name: str,
    call: Callable[..., Tensor] | None = None,
    clip: tuple[float, float] | None = (-1.0, 1.0),
    channels_last: bool = True,
) -> tuple[Denoiser, Schedule, dict]:
    """(Denoiser, schedule, meta) of a shipped checkpoint; call(net, x, t, cond) adapts the cond to the network's
    keywords (default: the network ignores cond). The forward runs under bf16 autocast where that is fast.
    channels_last: measured faster from 32x32 up (guided shapes 39 vs 45 ms a step), slower at 16x16 (digits 51 vs
    44 ms)."""
    model, meta = checkpoint.load(name)
    model = model.to(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    net = fast(model)
    recipe = Recipe(**meta["diffusion"])
    f = (lambda x, t, c: net(x, t)) if call is None else (lambda x, t, c: call(net, x, t, c))
    return Denoiser(f, recipe.parameterization, clip), recipe.make_schedule(), meta


def noise_level_denoiser(
    name: str, schedule: Schedule, gamma_scale: float, parameterization: str | None = None, label: int | None = None
) -> Denoiser:
    """SR3 / Palette: a checkpoint whose network is told the noise level gamma = sqrt(alpha_bar_t) (times
    gamma_scale) of whatever schedule the sampler walks, not t; its cond is the image concatenated to x_t.
    parameterization defaults to the checkpoint's own ('eps' when it does not say); label (Palette's task) is
    passed as the class when the network has a class embedding."""
    model, meta = checkpoint.load(name)
    net = fast(model)
    sqrt_ab = schedule.alpha_bar.float().sqrt()
    use_label = label is not None and meta.get("config", {}).get("num_classes", 0) > 0

    def f(x: Tensor, t: Tensor, cond: Tensor) -> Tensor:
        y = torch.full((x.shape[0],), int(label), dtype=torch.long, device=x.device) if use_label else None
        return net(x, gamma_scale * sqrt_ab[t.cpu()].to(x.device), y=y, image=cond)

    return Denoiser(f, parameterization or meta.get("parameterization", "eps"))
