"""DreamFusion (Poole et al. 2022): text to 3-D by Score Distillation Sampling from our own 2-D prior
(engines/dreamfusion_train.py). The generator is a voxel grid of density and albedo (core/volume.py), rendered from a
random camera; the prior scores the noised render with classifier-free guidance and the view-dependent prompt, and
grad_theta L_SDS = w(t) (eps_hat(x_t; y, t) - eps) dx/dtheta (Eq. 3) flows into the grid without going through the
U-Net. The result: a mesh by marching cubes with vertex colours from the albedo, eight views and a turntable."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from . import checks
from .core.guidance import classifier_free, thresholded
from .core.recipe import load_denoiser
from .core.samplers import Denoiser, final, sample_loop
from .core.schedules import Schedule
from .core.volume import ACTIVATIONS, SHADINGS, Camera, Light, grid_field, inverse_softplus, orientation_loss, render
from .data.captions import null_text, prompt_cond
from .data.objects3d import OBJECTS
from .data.shapes import COLOURS
from .dreamfusion_train import ELEVATION, FOV, MODEL, RADIUS, SIZE, caption, random_light, view_of

RES = 32  # the generator's grid: 32^3 nodes over [-BOUND, BOUND]^3
# larger than the objects' (1.1): a generated ball came out a little larger than the prior's and, clipped by a
# 1.1 grid, flat at the poles (judged a cylinder)
BOUND = 1.3
N_SAMPLES = 40  # samples per ray while optimising
ITERS, MAX_ITERS = 400, 3000
# DREAMFUSION_ITERS replaces the default iterations, for a quick run of the whole path (the browser test's app sets it)
if os.getenv("DREAMFUSION_ITERS"):
    ITERS = int(os.environ["DREAMFUSION_ITERS"])
GUIDANCE, MAX_GUIDANCE = 20.0, 200.0
T_RANGE = (0.02, 0.98)  # t ~ U(0.02, 0.98), the paper's
LR = 0.05  # Adam on the grids (PAPERS.md: 1e-2 for a voxel grid; measured here)
LEVELS = (8, 16, 32)  # the generator's grid resolutions
LEVEL_LR = (1.0, 1.0, 1.0)  # each level's learning rate, times LR
LAMBDA_TV = 0.0  # total variation of the raw density
SHADING_MIX = {"albedo": 0.4, "lambertian": 0.4, "textureless": 0.2}  # stable-dreamfusion's textureless_ratio 0.2
LAMBDA_ORIENT, LAMBDA_ENTROPY = 1e-2, 1e-3
DENSITY_BLOB = (5.0, 0.5)  # stable-dreamfusion's initial density bias lambda (1 - |x| / r): an object at the centre
ACTIVATION = "exp"  # sigma = exp(raw + blob), stable-dreamfusion's trunc_exp
SYNONYMS = {"sphere": "ball", "torus": "ring", "box": "cube", "donut": "ring", "grey": "gray"}
MAX_CHARS = 200


@dataclass(frozen=True)
class Request:
    """A checked request: what the prior is asked ('a red cube'), how long and how hard."""

    prompt: str
    colour: str
    kind: str
    iters: int
    guidance: float
    seed: int
    shading: str  # "mix" (the paper's random shading) or one of SHADINGS
    view_prompts: bool


def parse(prompt: str) -> tuple[str, str, str]:
    """'A red ball, please' -> ('a red ball', 'red', 'ball'); a marked cube keeps its front ('a red cube with a blue
    front'). ValueError naming what is known when the prompt names no colour or no object."""
    text = checks.prompt(prompt, MAX_CHARS, "the prompt", "a red ball",
                         empty="the prompt is empty: name a colour and an object, for example 'a red ball'")
    words = [SYNONYMS.get(w, w) for w in re.findall(r"[a-z]+", text.lower())]
    colours = [w for w in words if w in COLOURS]
    kinds = [w for w in words if w in OBJECTS]
    if not colours or not kinds:
        missing = "colour" if not colours else "object"
        raise ValueError(f"the prompt names no {missing}: DreamFusion's prior knows the colours "
                         f"{', '.join(COLOURS)} and the objects {', '.join(OBJECTS)}, e.g. 'a red ball'")
    colour, kind = colours[0], kinds[0]
    if kind == "cube" and "front" in words and len(colours) > 1 and colours[1] != colour:
        return f"a {colour} cube with a {colours[1]} front", colour, kind
    return f"a {colour} {kind}", colour, kind


def check(prompt: str, iters: int = ITERS, guidance: float = GUIDANCE, seed: int = 0, shading: str = "mix",
          view_prompts: bool = True) -> Request:
    text, colour, kind = parse(prompt)
    shading = checks.choice("shading", shading, ("mix", *SHADINGS))
    return Request(text, colour, kind, checks.integer("iterations", iters, 1, MAX_ITERS),
                   checks.number("guidance", guidance, 1.0, MAX_GUIDANCE), checks.seed(seed), shading,
                   checks.flag("view-dependent prompts", view_prompts))


@lru_cache(maxsize=1)
def prior() -> tuple[Denoiser, Schedule]:
    """The shipped prior as an eps-denoiser of 32x32 renders given the text conditioning."""
    base, schedule, _ = load_denoiser(MODEL, lambda net, x, t, c: net(x, t, **c))
    return base, schedule


@lru_cache(maxsize=64)
def _cond(text: str) -> dict[str, Tensor]:
    return prompt_cond([text])


class VoxelGenerator(torch.nn.Module):
    """theta: raw density and albedo logits as a sum of grids at LEVELS resolutions, each trilinearly upsampled to
    RES^3 (Instant-NGP's multiresolution grid, stable-dreamfusion's backbone, without the hashing); sigma =
    exp(raw + blob). Adam moves every parameter at about the learning rate whatever its gradient's size: on
    one 32^3 grid the SDS noise turned into speckle (91% of the surface in floaters after 400 iterations), while
    the coarse levels move whole regions together."""

    def __init__(self, res: int = RES, levels: tuple[int, ...] = LEVELS):
        super().__init__()
        from .data.objects3d import grid_points

        r = grid_points(res, BOUND).norm(dim=-1)
        lam, radius = DENSITY_BLOB
        self.res = res
        self.register_buffer("blob", lam * (1 - r / radius))
        self.density = torch.nn.ParameterList([torch.nn.Parameter(torch.zeros(1, 1, n, n, n)) for n in levels])
        self.albedo = torch.nn.ParameterList([torch.nn.Parameter(torch.zeros(1, 3, n, n, n)) for n in levels])

    def _sum(self, grids) -> Tensor:
        size = (self.res,) * 3
        return sum(F.interpolate(g, size=size, mode="trilinear", align_corners=True) for g in grids)[0]

    def raw(self) -> tuple[Tensor, Tensor]:
        """(raw density (RES^3) including the blob, albedo logits (3, RES^3))."""
        return self._sum(self.density)[0] + self.blob, self._sum(self.albedo)

    def field(self):
        return grid_field(*self.raw(), BOUND, ACTIVATION)

    @torch.no_grad()
    def result(self) -> tuple[Tensor, Tensor]:
        """sigma (RES^3) and albedo (3, RES^3) in [0, 1]."""
        d, a = self.raw()
        return ACTIVATIONS[ACTIVATION](d), torch.sigmoid(a)


def total_variation(x: Tensor) -> Tensor:
    """The mean squared difference of neighbouring voxels, over the three axes of (..., X, Y, Z)."""
    return sum(((x.diff(dim=d)) ** 2).mean() for d in (-1, -2, -3))


@dataclass(frozen=True)
class Step:
    """Every few iterations: the iteration, four views (az 0 / 90 / 180 / 270) and the SDS gradient image."""

    index: int
    total: int
    views: Tensor  # (4, 3, SIZE, SIZE) in [0, 1]
    grad: Tensor  # (3, SIZE, SIZE): w (eps_hat - eps) of this iteration
    t: int
    view: str


@dataclass(frozen=True)
class Result:
    """The optimised grid: its density (RES^3), albedo (3, RES^3) in [0, 1], and the request."""

    sigma: Tensor
    albedo: Tensor
    request: Request

    def field(self):
        """The grid as a field to render (core/volume.py)."""
        return grid_field(inverse_softplus(self.sigma), torch.logit(self.albedo.clamp(1e-4, 1 - 1e-4)), BOUND)


def sds_grad(denoiser: Denoiser, schedule: Schedule, x: Tensor, cond: dict, t: int, eps: Tensor) -> Tensor:
    """Eq. 3 without the U-Net's Jacobian: w(t) (eps_hat(alpha_t x + sigma_t eps; y, t) - eps), w = 1 - alpha_bar."""
    ab = schedule.alpha_bar[t].float()
    x_t = ab.sqrt() * x + (1 - ab).sqrt() * eps
    with torch.no_grad():
        _, eps_hat = denoiser.predict(x_t, t, schedule.alpha_bar, cond)
    return torch.nan_to_num((1 - ab) * (eps_hat - eps))


def sds_loss(x: Tensor, grad: Tensor) -> Tensor:
    """A surrogate whose gradient in x is exactly grad: 0.5 |x - stopgrad(x - grad)|^2 (stable-dreamfusion)."""
    return 0.5 * ((x - (x - grad).detach()) ** 2).sum()


def random_camera(rng: np.random.Generator) -> Camera:
    return Camera(float(rng.uniform(0, 360)), float(rng.uniform(*ELEVATION)), RADIUS, FOV, SIZE)


def background(rng: np.random.Generator, avoid: str) -> Tensor:
    """A palette colour other than the object's, a new one every iteration: density must be where the object is."""
    names = [c for c in COLOURS if c != avoid]
    return torch.tensor(COLOURS[names[int(rng.integers(len(names)))]], dtype=torch.float32) / 255


def views(field, azimuths=(0, 90, 180, 270), elevation: float = 15.0, size: int = SIZE,
          shading: str = "lambertian", bg: Tensor | None = None) -> Tensor:
    """(len(azimuths), 3, size, size) renders of a field in [0, 1] (the light above the camera)."""
    bg = torch.full((3,), 0.85) if bg is None else bg
    out = []
    with torch.no_grad():
        for az in azimuths:
            cam = Camera(float(az), elevation, RADIUS, FOV, size)
            eye = cam.eye() / cam.eye().norm()
            towards = eye + torch.tensor([0.0, 0.6, 0.0])  # the light above the camera
            light = Light(tuple(float(v) for v in towards / towards.norm()))
            out.append(render(field, cam, 64, BOUND, bg, shading, light).image(size).clamp(0, 1))
    return torch.stack(out)


def generate(prompt: str, iters: int = ITERS, guidance: float = GUIDANCE, seed: int = 0, shading: str = "mix",
             view_prompts: bool = True, every: int = 10) -> Iterator[Step | Result]:
    """Optimise a voxel grid by SDS; yield a Step every `every` iterations (and the first), then the Result."""
    req = check(prompt, iters, guidance, seed, shading, view_prompts)
    denoiser, schedule = prior()
    guided = classifier_free(denoiser, null_text, req.guidance)
    torch.manual_seed(req.seed)
    rng = np.random.default_rng(req.seed)
    gen_t = torch.Generator().manual_seed(req.seed)
    g = VoxelGenerator()
    opt = torch.optim.Adam([{"params": [d, a], "lr": LR * f} for d, a, f in zip(g.density, g.albedo, LEVEL_LR)])
    T = schedule.alpha_bar.shape[0]
    lo, hi = (int(round(v * T)) for v in T_RANGE)
    kinds, weights = list(SHADING_MIX), list(SHADING_MIX.values())
    for i in range(req.iters):
        cam = random_camera(rng)
        view = view_of(cam.azimuth, cam.elevation) if req.view_prompts else None
        cond = _cond(caption(req.prompt, view))
        sh = req.shading if req.shading != "mix" else kinds[int(rng.choice(len(kinds), p=weights))]
        light = random_light(cam.eye(), gen_t) if sh != "albedo" else None
        r = render(g.field(), cam, N_SAMPLES, BOUND, background(rng, req.colour), sh, light, gen_t)
        x = r.image(SIZE)[None] * 2 - 1  # (1, 3, SIZE, SIZE) in [-1, 1]
        t = int(rng.integers(lo, hi + 1))
        eps = torch.randn(x.shape, generator=gen_t)
        grad = sds_grad(guided, schedule, x.detach(), cond, t, eps)
        o = r.opacity.clamp(1e-4, 1 - 1e-4)
        entropy = -(o * o.log() + (1 - o) * (1 - o).log()).mean()
        loss = sds_loss(x, grad) + LAMBDA_ENTROPY * entropy
        if LAMBDA_TV:
            loss = loss + LAMBDA_TV * total_variation(g.raw()[0])
        if sh != "albedo":
            loss = loss + LAMBDA_ORIENT * orientation_loss(r)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i == 0 or (i + 1) % every == 0 or i + 1 == req.iters:
            yield Step(i, req.iters, views(g.field()), (grad[0] / (grad.abs().max() + 1e-8) * 0.5 + 0.5).clamp(0, 1), t,
                       view or "-")
    yield Result(*g.result(), req)


def prior_samples(prompt: str, guidance: float = GUIDANCE, view: str | None = "front", n: int = 4,
                  steps: int = 50, seed: int = 0) -> Tensor:
    """The 2-D prior sampled directly for the same prompt (DDIM, the same guidance): what SDS's mode seeking starts
    from. (n, 3, SIZE, SIZE) in [0, 1]."""
    text, _, _ = parse(prompt)
    scale = checks.number("guidance", guidance, 1.0, MAX_GUIDANCE)
    denoiser, schedule = prior()
    guided = thresholded(classifier_free(denoiser, null_text, scale), schedule, 0.995)
    gen = torch.Generator().manual_seed(checks.seed(seed))
    cond = {k: v.expand(n, *v.shape[1:]) for k, v in _cond(caption(text, view)).items()}
    x = torch.randn(n, 3, SIZE, SIZE, generator=gen)
    return (final(sample_loop("ddim", guided, x, schedule, steps, cond, generator=gen)).x * 0.5 + 0.5).clamp(0, 1)


def final_result(frames: Iterator[Step | Result]) -> Result:
    return final(frames, Result)


def outputs(res: Result):
    """The result's mesh (dreamfusion_mesh.Mesh), its eight views (PIL) and its turntable (VideoFile)."""
    from .dreamfusion_mesh import mesh_of, mesh_views, turntable

    m = mesh_of(res.sigma, res.albedo, bound=BOUND)
    return m, mesh_views(m.mesh), turntable(m.mesh)


def cli_args(p) -> None:
    """Arguments of `python -m engines dreamfusion`."""
    p.add_argument("--prompt", required=True, help="'a <colour> ball|cube|cylinder|cone|ring'")
    p.add_argument("--iters", type=int, default=ITERS, help=f"SDS iterations, 1-{MAX_ITERS}")
    p.add_argument("--guidance", type=float, default=GUIDANCE, help="classifier-free guidance scale of the prior")
    p.add_argument("--shading", default="mix", choices=("mix", *SHADINGS),
                   help="mix: the paper's random albedo / lambertian / textureless renders")
    p.add_argument("--no-view-prompts", action="store_true", help="the plain prompt from every camera")
    p.add_argument("--seed", type=int, default=0)


def cli_main(a):
    """DIR/000.glb (the mesh, vertex colours), DIR/view_00.png ... view_07.png and DIR/turntable.mp4."""
    from .files import MeshFile

    res = final_result(generate(a.prompt, a.iters, a.guidance, a.seed, a.shading, not a.no_view_prompts))
    m, pictures, video = outputs(res)
    return [MeshFile(m.mesh)], {**{f"view_{i:02d}.png": v for i, v in enumerate(pictures)}, "turntable.mp4": video}
