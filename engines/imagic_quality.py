"""Did an Imagic edit do what the text asks and keep the rest? The analytical shapes judge reads the input and the
edit: the object's colour and shape should be the target's, the background, place and size the input's.
`python -m engines.imagic_quality` runs the issue's example (a yellow square on purple -> "a green square") and prints
the time and the judge's reading at every eta of the strip."""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from .data.judge import read_batch
from .data.shapes import COLOURS, SHAPES

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "imagic_yellow_square.png"
MAX_SHIFT, AREA_RANGE = 0.1, (2 / 3, 3 / 2)  # "about the same place and size": centre within a tenth of the width


def named(target: str) -> dict[str, str | None]:
    """The colour and shape words a target text names (None where it names none)."""
    words = re.findall(r"[a-z]+", target.lower())
    return {
        "colour": next((w for w in words if w in COLOURS), None),
        "shape": next((w.removesuffix("s") for w in words if w.removesuffix("s") in SHAPES), None),
    }


def compare(x_in: Tensor, x_edit: Tensor, target: str) -> dict:
    """The judge's reading of input and edit, and whether the edit meets the bar (the named attributes changed to
    the target's, the background kept, the object within MAX_SHIFT of its place and AREA_RANGE of its size)."""
    (bg_in, o_in), (bg_out, o_out) = read_batch(torch.stack([x_in, x_edit]))
    want = named(target)
    r = {"background_in": bg_in, "background_out": bg_out, "input": o_in, "edit": o_out, "named": want}
    if o_in is None or o_out is None:
        return {**r, "ok": False, "shift": None, "area_ratio": None}
    shift = float(np.hypot(o_out.cx - o_in.cx, o_out.cy - o_in.cy))
    ratio = o_out.area / max(o_in.area, 1e-6)
    ok = (
        bg_out == bg_in
        and all(getattr(o_out, k) == v for k, v in want.items() if v is not None)
        and shift <= MAX_SHIFT
        and AREA_RANGE[0] <= ratio <= AREA_RANGE[1]
    )
    return {**r, "ok": ok, "shift": shift, "area_ratio": ratio}


def describe(r: dict) -> str:
    """One line: what the edit shows against the input."""
    o_in, o_out = r["input"], r["edit"]
    if o_out is None:
        return f"no object found on the {r['background_out']} background"
    text = f"{o_out.colour} {o_out.shape} on {r['background_out']}"
    if o_in is not None:
        text += (
            f" (input: {o_in.colour} {o_in.shape} on {r['background_in']}); moved {100 * r['shift']:.0f}% of the "
            f"width, area x{r['area_ratio']:.2f}"
        )
    return text + (" - meets the bar" if r["ok"] else "")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--input", default=str(EXAMPLE))
    p.add_argument("--prompt", default="a green square")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    from . import imagic

    t0 = time.perf_counter()
    edit = next(s for s in imagic.run_stages(a.input, a.prompt, a.seed) if isinstance(s, imagic.Edit))
    chosen = imagic.generate(edit, imagic.ETA, seed=a.seed)
    t_chosen = time.perf_counter() - t0
    print(f"stages A + B: {edit.seconds:.1f} s; with the edit at eta {imagic.ETA:g}: {t_chosen:.1f} s")
    print(f"eta {imagic.ETA:g}: {describe(compare(edit.x[0], chosen[0], a.prompt))}")
    outs, _ = imagic.strip(edit, seed=a.seed)
    for eta, x in zip(imagic.ETAS, outs):
        print(f"eta {eta:.1f}: {describe(compare(edit.x[0], x[0], a.prompt))}")
    print(f"whole run with the strip: {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
