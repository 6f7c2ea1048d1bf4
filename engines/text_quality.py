"""Does a text-to-image model draw what the prompt names? Prompts of one object with a colour, a shape and a position,
the generated images read by the analytical shapes judge (no learning, so it cannot be fooled). Shared by the Imagen
and Latent Diffusion tabs; `python -m engines.text_quality imagen|ldm` prints the table the README quotes."""

from __future__ import annotations

import argparse
from typing import Callable

import numpy as np
from torch import Tensor

from .data.judge import main_objects
from .data.shapes import COLOURS, POSITION_PHRASES, POSITIONS, SHAPES

Generator = Callable[[str, int, int], Tensor]  # (prompt, n, seed) -> (n, 3, H, W) in [-1, 1]


# Off the training templates: another word order and other words for the positions
PARAPHRASES = {
    "center": "in the middle",
    "left": "on the left side",
    "right": "on the right side",
    "top": "near the top",
    "bottom": "near the bottom",
}


def prompts(k: int = 12, seed: int = 0, paraphrase: bool = False) -> list[tuple[str, dict[str, str]]]:
    """k prompts 'a {colour} {shape} {position phrase}' with what each names; colours, shapes and positions taken
    in turn so every one appears. paraphrase: '{other position words}, a {colour} {shape}' instead."""
    rng = np.random.default_rng(seed)
    colours, shapes, positions = (list(rng.permutation(list(v))) for v in (COLOURS, SHAPES, POSITIONS))
    out = []
    for i in range(k):
        c, s, p = colours[i % len(colours)], shapes[i % len(shapes)], positions[i % len(positions)]
        text = f"{PARAPHRASES[p]}, a {c} {s}" if paraphrase else f"a {c} {s} {POSITION_PHRASES[p]}"
        out.append((text, {"colour": c, "shape": s, "position": p}))
    return out


def score(x: Tensor, named: dict[str, str]) -> dict[str, float]:
    """Shares of images whose largest object has the named colour / shape / position (an image with no object,
    for example one drawn in the background's own colour, counts as wrong on all three)."""
    hits = {"colour": 0, "shape": 0, "position": 0}
    for o in main_objects(x):
        if o is None:
            continue
        hits["colour"] += o.colour == named["colour"]
        hits["shape"] += o.shape == named["shape"]
        hits["position"] += o.position == named["position"]
    return {k: v / x.shape[0] for k, v in hits.items()}


def prompt_accuracy(
    generate: Generator, k: int = 12, n: int = 8, seed: int = 0, paraphrase: bool = False
) -> dict[str, float]:
    """Mean over k prompts of n images each: the shares right in colour, shape and position."""
    rows = [score(generate(p, n, seed + i), named) for i, (p, named) in enumerate(prompts(k, paraphrase=paraphrase))]
    return {key: float(np.mean([r[key] for r in rows])) for key in ("colour", "shape", "position")}


def _generator(model: str, scale: float, steps: int) -> Generator:
    if model == "imagen":
        from . import imagen

        def gen(prompt: str, n: int, seed: int) -> Tensor:
            for _, s in imagen.generate(prompt, scale, steps, n, seed):
                pass
            return s.x

        return gen
    from . import ldm

    def gen_ldm(prompt: str, n: int, seed: int) -> Tensor:
        for s in ldm.generate(prompt, scale, steps, n, seed):
            pass
        return ldm.decode(s.x)

    return gen_ldm


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("model", choices=["imagen", "ldm"])
    p.add_argument("--prompts", type=int, default=12)
    p.add_argument("--n", type=int, default=8)
    p.add_argument("--scale", type=float, default=None, help="guidance (default: the model's own, 7.5 for both)")
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--paraphrase", action="store_true", help="prompts off the training templates")
    a = p.parse_args()
    if a.scale is None:
        from . import imagen, ldm

        a.scale = imagen.SCALE if a.model == "imagen" else ldm.SCALE
    r = prompt_accuracy(_generator(a.model, a.scale, a.steps), a.prompts, a.n, paraphrase=a.paraphrase)
    print(
        f"{a.model}{' (paraphrased prompts)' if a.paraphrase else ''}: {a.prompts} prompts x {a.n} images, "
        f"guidance {a.scale:g}, {a.steps} steps: "
        + ", ".join(f"{k} {100 * v:.1f}%" for k, v in r.items())
    )


if __name__ == "__main__":
    main()
