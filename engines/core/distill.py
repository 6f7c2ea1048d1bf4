"""Progressive distillation (Salimans & Ho 2022, Algorithm 2): a student learns to take in one DDIM step what its
teacher takes in two, so each round halves the sampling steps; and guidance distillation (Meng et al. 2023, stage 1):
a single-pass student learns the classifier-free guided teacher's prediction. Shape-agnostic (images or videos)."""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor

from .diffusion import bcast, split_prediction
from .schedules import Schedule

# x0_hat(z_t, t, cond) of a teacher, t a (B,) long tensor of training timesteps, x0_hat already clipped as its sampler
X0Fn = Callable[[Tensor, Tensor, Any], Tensor]


def halving_grid(T: int, steps: int) -> list[int]:
    """The timesteps of an N-step sampler whose grid holds every second step of the 2N-step one: t_i = round((T-1) i/N)
    for i = N .. 1, the last step going to the clean data (alpha_bar = 1). Nested for every power of two."""
    if steps < 1 or steps > T:
        raise ValueError(f"steps must be between 1 and {T}, got {steps}")
    return [int(round((T - 1) * i / steps)) for i in range(steps, 0, -1)]


def alpha_bar_at(schedule: Schedule, t: Tensor) -> Tensor:
    """alpha_bar at training timesteps t (B,), and 1.0 (the clean end) where t < 0."""
    ab = schedule.alpha_bar.to(torch.float32)[t.clamp(min=0).cpu()].to(t.device)
    return torch.where(t < 0, torch.ones_like(ab), ab)


def ddim_move(z_t: Tensor, x0: Tensor, ab_t: Tensor, ab_s: Tensor) -> Tensor:
    """Song et al. 2021, Eq. 12 with eta = 0: z_s = alpha_s x0 + (sigma_s / sigma_t)(z_t - alpha_t x0)."""
    a_t, a_s = bcast(ab_t, z_t).sqrt(), bcast(ab_s, z_t).sqrt()
    s_t, s_s = bcast(1 - ab_t, z_t).sqrt(), bcast(1 - ab_s, z_t).sqrt()
    return a_s * x0 + s_s / s_t * (z_t - a_t * x0)


def two_step_target(z_t: Tensor, z_s: Tensor, ab_t: Tensor, ab_s: Tensor) -> Tensor:
    """Salimans & Ho 2022, Alg. 2: the x~ whose single DDIM step from z_t lands on the teacher's z_s,
    x~ = (z_s - (sigma_s / sigma_t) z_t) / (alpha_s - (sigma_s / sigma_t) alpha_t)."""
    a_t, a_s = bcast(ab_t, z_t).sqrt(), bcast(ab_s, z_t).sqrt()
    r = bcast(1 - ab_s, z_t).sqrt() / bcast(1 - ab_t, z_t).sqrt()
    return (z_s - r * z_t) / (a_s - r * a_t)


def teacher_two_steps(teacher: X0Fn, z_t: Tensor, t: Tensor, t_mid: Tensor, t_next: Tensor, schedule: Schedule,
                      cond: Any) -> Tensor:
    """Two DDIM steps of the teacher, t -> t_mid -> t_next (t_next < 0: the clean end), and the student's target x~."""
    ab_t, ab_m, ab_n = (alpha_bar_at(schedule, s) for s in (t, t_mid, t_next))
    z_m = ddim_move(z_t, teacher(z_t, t, cond), ab_t, ab_m)
    z_n = ddim_move(z_m, teacher(z_m, t_mid, cond), ab_m, ab_n)
    return two_step_target(z_t, z_n, ab_t, ab_n)


def truncated_snr_weight(ab: Tensor) -> Tensor:
    """Salimans & Ho 2022, Sec. 4: the x-space loss weighted by max(SNR, 1) ('truncated SNR')."""
    return (ab / (1 - ab)).clamp(min=1.0)


def distill_loss(
    student: Callable[..., Tensor],
    parameterization: str,
    teacher: X0Fn,
    x0: Tensor,
    schedule: Schedule,
    student_steps: int | None,
    gen: torch.Generator,
    cond: dict,
    teacher_cond: Any = None,
) -> Tensor:
    """One distillation loss on data x0 (B, ...): z_t = alpha_t x0 + sigma_t eps at a step t of the student's grid,
    the target x~ from the teacher (two steps of the 2N grid; or, student_steps None, the guided teacher's own x0_hat
    at any t: guidance distillation), weighted || x~ - x0_hat_student ||^2 with truncated SNR.
    student(z_t, t, **cond) is the network; teacher_cond is what the teacher is given (default: cond)."""
    B = x0.shape[0]
    if student_steps is None:
        t = torch.randint(0, schedule.T, (B,), generator=gen)
    else:
        grid = torch.tensor(halving_grid(schedule.T, 2 * student_steps) + [-1])  # the teacher's 2N steps, then clean
        i = 2 * torch.randint(0, student_steps, (B,), generator=gen)  # the student's steps are every second one
        t, t_mid, t_next = grid[i], grid[i + 1], grid[i + 2]
    t = t.to(x0.device)
    ab = alpha_bar_at(schedule, t)
    eps = torch.randn(x0.shape, generator=gen).to(x0.device)
    z_t = bcast(ab, x0).sqrt() * x0 + bcast(1 - ab, x0).sqrt() * eps
    tc = cond if teacher_cond is None else teacher_cond
    with torch.no_grad():
        if student_steps is None:
            target = teacher(z_t, t, tc)
        else:
            target = teacher_two_steps(teacher, z_t, t, t_mid.to(x0.device), t_next.to(x0.device), schedule, tc)
    x0_hat, _ = split_prediction(student(z_t, t, **cond), z_t, ab, parameterization)
    per_example = (x0_hat - target).pow(2).flatten(1).mean(1)
    return (truncated_snr_weight(ab) * per_example).mean()


def x0_fn(net: Callable[[Tensor, Tensor, Any], Tensor], parameterization: str, schedule: Schedule,
          clip: tuple[float, float] | None = (-1.0, 1.0)) -> X0Fn:
    """A denoiser's net (x_t, t, cond) -> prediction as the teacher's x0_hat at per-example timesteps (clipped as
    Denoiser.predict clips)."""

    def f(z: Tensor, t: Tensor, cond: Any) -> Tensor:
        x0, _ = split_prediction(net(z, t, cond), z, alpha_bar_at(schedule, t), parameterization)
        return x0.clamp(*clip) if clip is not None else x0

    return f
