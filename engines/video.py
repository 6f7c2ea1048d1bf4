"""Imagen Video (Ho et al. 2022): a cascade of video diffusion models on moving shapes. A text-conditional base draws
8 frames at 16x16 (temporal self-attention), temporal SR makes them 16 frames (temporal convolutions, frame
repetition as its condition) and spatial SR 32x32; the SR stages see their input through noise-conditioning
augmentation. The base is the guided teacher at any step count, or a progressively distilled student at 8, 4 or 2."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterator

import numpy as np
import torch
from torch import Tensor

from . import checks
from .core import text
from .core.distill import halving_grid
from .core.guidance import classifier_free
from .core.recipe import load_denoiser
from .core.samplers import Denoiser, Step, sample_loop
from .core.schedules import Schedule
from .data import moving
from .data.captions import null_text, prompt_cond
from .data.shapes import COLOURS, SHAPES
from .files import ClipFile, GifFile, VideoFile
from .imagen import AUG_SCALE
from .video_train import (
    BASE,
    BASE_FRAMES,
    BASE_SIZE,
    FRAMES,
    GUIDANCE,
    SSR,
    STUDENT_STEPS,
    TEACHER_STEPS,
    TSR,
    augment_video,
    repeat_frames,
    student_name,
    upsample,
)

BASES = ("teacher", "distilled")
MAX_STEPS = 256
MAX_CLIPS = 4
MAX_SCALE = 20.0
SR_STEPS = 8  # DDIM steps of each SR stage (they copy most of their condition: measured in docs/video.md)
AUG_LEVEL = 0.05  # the SR stages' noise-conditioning augmentation at sampling (trained on U[0, 0.5])
FPS = 8  # 16 frames: a 2-second clip
VIEW_SCALE = 4  # the MP4 and GIF are upscaled 4x (nearest), so a player shows the 32x32 frames crisply
KNOWN_WORDS = frozenset(
    {"a", "an", "the", "small", "large", "moving", "moves", "move", "to", "right", "left", "up", "down", "on",
     "background", "of", "in"} | set(COLOURS) | set(SHAPES)
)
EXAMPLE = "a red circle moving to the right"


@dataclass(frozen=True)
class Request:
    prompt: str
    direction: str
    base: str
    steps: int
    scale: float
    n: int
    seed: int
    sr_steps: int


@dataclass(frozen=True)
class StageStep:
    """One sampler step of one stage ('base', 'tsr' or 'ssr'); step.x is (n, 3, F, H, W) in [-1, 1]."""

    stage: str
    step: Step


@dataclass(frozen=True)
class Clips:
    """The cascade's result: x (n, 3, 16, 32, 32) in [-1, 1], each stage's output and its seconds."""

    request: Request
    x: Tensor
    stages: dict[str, Tensor] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def check(prompt: str, base: str = "distilled", steps: int = 8, scale: float = GUIDANCE, n: int = 1, seed: int = 0,
          sr_steps: int = SR_STEPS) -> Request:
    """A checked request; ValueError with a message a user can act on."""
    p = checks.prompt(prompt, text.MAX_CHARS, "the prompt", EXAMPLE,
                      empty=f"the prompt is empty: name a shape and its motion, e.g. {EXAMPLE!r}")
    unknown = [w for w in re.findall(r"[a-z]+|[^a-z\s,.;:!?'\"-]+", p.lower()) if w not in KNOWN_WORDS]
    if unknown:
        raise ValueError(
            f"the prompt must use words the video model knows, not {', '.join(repr(w) for w in unknown[:5])}: the "
            f"colours {', '.join(COLOURS)}, the shapes {', '.join(SHAPES)}, small / large, 'moving to the right', "
            f"'to the left', 'up' or 'down', and 'on a <colour> background', e.g. {EXAMPLE!r}")
    direction = moving.parse_motion(p)
    if direction is None:
        raise ValueError("the prompt must say where the shape goes: 'moving to the right', 'moving to the left', "
                         f"'moving up' or 'moving down', e.g. {EXAMPLE!r}")
    base = checks.choice("base model", base, BASES)
    if base == "distilled":
        if steps not in STUDENT_STEPS or isinstance(steps, bool):
            raise ValueError(f"steps must be {', '.join(map(str, STUDENT_STEPS))} for the distilled base (one student "
                             f"per step count), got {checks.shown(steps)}; the teacher takes any from 1 to {MAX_STEPS}")
        steps = int(steps)
    else:
        steps = checks.integer("steps", steps, 1, MAX_STEPS)
    return Request(p, direction, base, steps, checks.number("guidance scale", scale, 0, MAX_SCALE), checks.integer(
        "number of clips", n, 1, MAX_CLIPS), checks.seed(seed),
        checks.integer("super-resolution steps", sr_steps, 1, MAX_STEPS))


def _call(net, x, t, c):
    return net(x, t, **c)


@lru_cache(maxsize=8)
def _model(name: str) -> tuple[Denoiser, Schedule]:
    den, schedule, _ = load_denoiser(name, _call, channels_last=False)
    return den, schedule


def base_denoiser(base: str, steps: int, scale: float) -> tuple[Denoiser, Schedule, list[int]]:
    """The base stage: the teacher guided at `scale` (two passes a step) or the distilled student for `steps` (one pass,
    guidance at GUIDANCE baked in), with the DDIM grid it walks (distill.halving_grid: nested for every round)."""
    if base == "teacher":
        den, sched = _model(BASE)
        return classifier_free(den, null_text, scale), sched, halving_grid(sched.T, steps)
    den, sched = _model(student_name(steps))
    return den, sched, halving_grid(sched.T, steps)


def _sr(name: str, low: Tensor, cond: dict, steps: int, gen: torch.Generator, stage: str) -> Iterator[StageStep]:
    """An SR stage: its condition is the low-resolution video noised to AUG_LEVEL (the model is told the level)."""
    n = low.shape[0]
    aug = torch.full((n,), AUG_LEVEL)
    c = augment_video(low, aug, gen)
    c = repeat_frames(c) if name == TSR else upsample(c)  # (n, 3, 16, 16, 16) or (n, 3, 16, 32, 32)
    den, sched = _model(name)
    x = torch.randn(n, 3, FRAMES, c.shape[-2], c.shape[-1], generator=gen)
    for s in sample_loop("ddim", den, x, sched, steps, {**cond, "image": c, "aug": AUG_SCALE * aug}, generator=gen):
        yield StageStep(stage, s)


def generate(prompt: str, base: str = "distilled", steps: int = 8, scale: float = GUIDANCE, n: int = 1, seed: int = 0,
             sr_steps: int = SR_STEPS, stages: int = 3) -> Iterator[StageStep | Clips]:
    """Yield a StageStep at every step of the base (8 x 16x16), temporal SR (16 x 16x16) and spatial SR
    (16 x 32x32); then the Clips. stages < 3 stops early (tests, the base's own figures)."""
    r = check(prompt, base, steps, scale, n, seed, sr_steps)
    gen = torch.Generator().manual_seed(r.seed)
    e = prompt_cond([r.prompt])
    cond = {k: v.expand(r.n, *v.shape[1:]) for k, v in e.items()}
    out: dict[str, Tensor] = {}
    secs: dict[str, float] = {}
    t0 = time.perf_counter()
    den, sched, grid = base_denoiser(r.base, r.steps, r.scale)
    x = torch.randn(r.n, 3, BASE_FRAMES, BASE_SIZE, BASE_SIZE, generator=gen)
    for s in sample_loop("ddim", den, x, sched, r.steps, cond, generator=gen, grid=grid):
        yield StageStep("base", s)
    out["base"], secs["base"] = s.x, time.perf_counter() - t0
    x = s.x
    for name, stage in ((TSR, "tsr"), (SSR, "ssr"))[: max(0, stages - 1)]:
        t0 = time.perf_counter()
        for ss in _sr(name, x, cond, r.sr_steps, gen, stage):
            yield ss
        x = out[stage] = ss.step.x
        secs[stage] = time.perf_counter() - t0
    yield Clips(r, x, out, secs)


def frames_uint8(x: Tensor, scale: int = 1) -> np.ndarray:
    """One clip (3, F, H, W) in [-1, 1] -> (F, H*scale, W*scale, 3) uint8 (nearest upscaling)."""
    a = ((x.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 3, 0).numpy()
    return a.repeat(scale, axis=1).repeat(scale, axis=2) if scale > 1 else a


def video_file(x: Tensor):
    """A clip as an MP4 (files.VideoFile), 4x upscaled, FPS frames a second."""
    return VideoFile(frames_uint8(x, VIEW_SCALE), FPS)


def gif_file(x: Tensor):
    """A clip as a looping GIF beside the MP4."""
    return GifFile(frames_uint8(x, VIEW_SCALE), FPS)


def cli_args(p) -> None:
    """Arguments of `python -m engines video`."""
    p.add_argument("--prompt", required=True, help=f"e.g. {EXAMPLE!r}")
    p.add_argument("--base", default="distilled", choices=BASES, help="the distilled base or its guided teacher")
    p.add_argument("--steps", type=int, default=None,
                   help=f"base steps (distilled: {', '.join(map(str, STUDENT_STEPS))}; teacher: 1 to {MAX_STEPS}, "
                        f"default {TEACHER_STEPS}); default 8 for the distilled base")
    p.add_argument("--scale", type=float, default=GUIDANCE, help="the teacher's guidance scale")
    p.add_argument("--sr-steps", type=int, default=SR_STEPS, help="steps of each super-resolution stage")
    p.add_argument("--n", type=int, default=1, help=f"clips (1 to {MAX_CLIPS})")
    p.add_argument("--seed", type=int, default=0)


def cli_main(a):
    """Each clip as DIR/000.mp4 and its frames DIR/000/00.png ... 15.png."""
    steps = a.steps if a.steps is not None else (8 if a.base == "distilled" else TEACHER_STEPS)
    res = None
    for res in generate(a.prompt, a.base, steps, a.scale, a.n, a.seed, a.sr_steps):
        pass
    return [ClipFile(video_file(x), frames_uint8(x)) for x in res.x]

