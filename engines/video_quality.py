"""Imagen Video's figures on moving shapes, judged per frame by the shapes world's analytical judge: colour and shape
right per frame, the clip moving the asked way (a steady trend of the object's centre), the object keeping its colour
and shape; for the teacher and the distilled bases, and the clips' own data as the ceiling.

`python -m engines.video_quality --out docs/video_quality.json` (each configuration on the same prompts and seeds)."""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from .data import moving
from .data.judge import judge
from .data.shapes import COLOURS, SHAPES

MIN_TRAVEL = 0.3  # the fitted centre must travel at least this share of the width the asked way (the data: 0.4-0.6)
MIN_R2 = 0.8  # ... along a straight trend (R^2 of the linear fit)
MAX_DRIFT = 0.15  # ... and the other coordinate move less than this
AXIS = {"to the right": (0, 1), "to the left": (0, -1), "up": (1, -1), "down": (1, 1)}


def prompts(per_direction: int = 9, seed: int = 0) -> list[tuple[str, str, str, str]]:
    """(prompt, colour, shape, direction): every colour and shape with each direction, 'a <colour> <shape> moving
    <direction>', cycling so that each direction gets `per_direction` prompts."""
    rng = np.random.default_rng(seed)
    out = []
    for d in moving.DIRECTIONS:
        for k in range(per_direction):
            c = list(COLOURS)[k % len(COLOURS)]
            s = SHAPES[(k + int(rng.integers(len(SHAPES)))) % len(SHAPES)]
            out.append((f"a {c} {s} moving {d}", c, s, d))
    return out


def judge_clip(frames: np.ndarray, colour: str, shape: str, direction: str) -> dict:
    """A clip (F, H, W, 3) uint8 against its prompt: per-frame colour and shape, motion, and consistency."""
    reads = [judge(f) for f in frames]
    objs = [objs[0] if objs else None for _, objs in reads]
    colours = [o.colour if o else None for o in objs]
    shapes = [o.shape if o else None for o in objs]
    seen = [o for o in objs if o is not None]
    moved = False
    travel = 0.0
    if len(seen) >= len(objs) // 2 + 1:
        f = np.array([i for i, o in enumerate(objs) if o is not None], dtype=float) / max(1, len(objs) - 1)
        axis, sign = AXIS[direction]
        pos = np.array([(o.cx, o.cy)[axis] for o in seen])
        other = np.array([(o.cx, o.cy)[1 - axis] for o in seen])
        slope, icpt = np.polyfit(f, pos, 1)
        resid = pos - (slope * f + icpt)
        r2 = 1 - resid.var() / max(pos.var(), 1e-9)
        travel = float(sign * slope)
        moved = travel >= MIN_TRAVEL and r2 >= MIN_R2 and float(other.max() - other.min()) <= MAX_DRIFT
    return {
        "colour": float(np.mean([c == colour for c in colours])),
        "shape": float(np.mean([s == shape for s in shapes])),
        "moving": bool(moved),
        "travel": travel,
        "consistent": bool(len(seen) == len(objs) and len(set(colours)) == 1 and len(set(shapes)) == 1),
    }


def summarise(rows: list[dict]) -> dict:
    return {
        "clips": len(rows),
        "colour": round(100 * float(np.mean([r["colour"] for r in rows])), 1),
        "shape": round(100 * float(np.mean([r["shape"] for r in rows])), 1),
        "moving": round(100 * float(np.mean([r["moving"] for r in rows])), 1),
        "consistent": round(100 * float(np.mean([r["consistent"] for r in rows])), 1),
    }


def data_ceiling(n: int = 144, frames: int = 16) -> dict:
    """The judge on the spec's own clips (another seed than training): what a perfect model would score."""
    x, cs = moving.clips(n, frames, 32, seed=11)
    rows = [judge_clip(x[i].permute(1, 2, 3, 0).numpy(), c.colour, c.shape, c.direction) for i, c in enumerate(cs)]
    return summarise(rows)


def sr_check(n: int = 24, steps: int | None = None, seed: int = 11) -> dict:
    """Each SR stage alone on clips of another seed, from the true low-resolution input, PSNR (dB) against the truth:
    temporal SR against frame repetition and the average of the neighbouring frames; spatial SR against bilinear."""
    from . import video
    from .data.captions import prompt_cond
    from .sr3 import psnr
    from .video_train import TSR, SSR, lowres, repeat_frames, upsample

    steps = steps or video.SR_STEPS
    x, cs = moving.clips(n, 16, 32, seed=seed)
    x = x.float() / 127.5 - 1  # (n, 3, 16, 32, 32)
    cond = prompt_cond([c.caption for c in cs])
    gen = torch.Generator().manual_seed(0)
    low16 = lowres(x)  # (n, 3, 16, 16, 16): the temporal SR's target
    even = low16[:, :, ::2]
    blend = repeat_frames(even).clone()
    blend[:, :, 1:-1:2] = (even[:, :, :-1] + even[:, :, 1:]) / 2  # the frame between two known ones: their average
    with torch.inference_mode():
        tsr = [s for s in video._sr(TSR, even, cond, steps, gen, "tsr")][-1].step.x
        ssr = [s for s in video._sr(SSR, low16, cond, steps, gen, "ssr")][-1].step.x
    odd = slice(1, None, 2)  # the frames temporal SR makes up
    return {
        "tsr_new_frames": round(psnr(tsr[:, :, odd], low16[:, :, odd]), 2),
        "repetition_new_frames": round(psnr(repeat_frames(even)[:, :, odd], low16[:, :, odd]), 2),
        "average_new_frames": round(psnr(blend[:, :, odd], low16[:, :, odd]), 2),
        "ssr": round(psnr(ssr, x), 2),
        "bilinear": round(psnr(upsample(low16), x), 2),
        "steps": steps,
        "clips": n,
    }


def evaluate(base: str, steps: int, per_direction: int = 9, seeds: int = 2, stages: int = 3,
             scale: float | None = None) -> dict:
    """The cascade (or its first `stages`) on the prompt set, `seeds` clips each; per-configuration figures and time."""
    from . import video

    rows, secs, confusion = [], [], Counter()
    for prompt, colour, shape, direction in prompts(per_direction):
        t0 = time.perf_counter()
        res = None
        kw = {} if scale is None else {"scale": scale}
        for res in video.generate(prompt, base, steps, n=seeds, seed=0, stages=stages, **kw):
            pass
        secs.append((time.perf_counter() - t0) / seeds)
        for x in res.x:
            r = judge_clip(video.frames_uint8(x), colour, shape, direction)
            rows.append(r)
            confusion[(direction, "moving" if r["moving"] else "not")] += 1
    return {**summarise(rows), "seconds_per_clip": round(float(np.mean(secs)), 2), "base": base, "steps": steps,
            "stages": stages}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m engines.video_quality", description=__doc__)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--per-direction", type=int, default=9)
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--configs", default="teacher:32,distilled:8,distilled:4,distilled:2")
    p.add_argument("--stages", type=int, default=3)
    a = p.parse_args(argv)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    report = {"data": data_ceiling(), "sr": sr_check()}
    print("data", report["data"], "\nsr", report["sr"], flush=True)
    for cfgs in a.configs.split(","):
        base, steps = cfgs.split(":")
        report[cfgs] = evaluate(base, int(steps), a.per_direction, a.seeds, a.stages)
        print(cfgs, report[cfgs], flush=True)
        a.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
