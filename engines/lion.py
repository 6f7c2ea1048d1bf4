"""LION (Zeng et al. 2022, Latent Point Diffusion Models for 3D Shape Generation): a hierarchical VAE whose latents are
a global shape vector z0 and a cloud of latent points h0, and two latent DDMs, sampled as `lion.py:sample` does:
z0 ~ DDM_z(. | category), then h0 ~ DDM_h(. | z0), then x = Dec(h0, z0). Plus LION's applications: shape
variations by diffuse-denoise, latent interpolation, and a mesh of every sample.

Trained on the procedural 3-D shapes world (engines/data/shapes3d.py, DESIGN.md): five categories, one model
conditioned on the category with classifier-free guidance (the paper trains one per category).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Iterator

import numpy as np
import torch
from torch import Tensor

from . import checks
from .core import checkpoint
from .core.diffusion import q_sample
from .core.guidance import classifier_free
from .core.mesh import points_mesh
from .core.precision import fast
from .core.recipe import Recipe
from .core.samplers import Denoiser, final, sample_loop
from .core.schedules import Schedule
from .data import shapes3d
from .files import MeshFile, PointCloudFile
from .lion_train import PRIOR_H, PRIOR_Z, VAE

MODELS = (VAE, PRIOR_Z, PRIOR_H)
SAMPLERS = ("ddim", "ddpm")
MAX_STEPS = 1000
MAX_SHAPES = 16  # per request: 16 x 2048 points through 2 x 25 network steps is about 6 s on 2 cores
GUIDANCE = 2.0  # classifier-free guidance of DDM_z by the category (s = 1: conditional, no guidance)
MAX_GUIDANCE = 10.0
PREVIEW_STEPS = 3  # DDIM steps of DDM_h that turn a z0 estimate into a shape to look at while z0 denoises


@dataclass(frozen=True)
class Lion:
    """The frozen VAE, both priors as Denoisers over standardised latents, and their schedule and statistics."""

    vae: torch.nn.Module
    ddm_z: Denoiser  # cond: (B,) category indices
    ddm_h: Denoiser  # cond: (B, dz) standardised z0
    schedule: Schedule
    stats: dict[str, Tensor]  # z_mean, z_std (dz,), h_mean, h_std (3 + dh,)

    def z_from_std(self, z: Tensor) -> Tensor:
        return z * self.stats["z_std"] + self.stats["z_mean"]

    def z_to_std(self, z: Tensor) -> Tensor:
        return (z - self.stats["z_mean"]) / self.stats["z_std"]

    def h_from_std(self, h: Tensor) -> Tensor:
        return h * self.stats["h_std"] + self.stats["h_mean"]

    def h_to_std(self, h: Tensor) -> Tensor:
        return (h - self.stats["h_mean"]) / self.stats["h_std"]

    @torch.no_grad()
    def decode(self, h_std: Tensor, z_std: Tensor) -> Tensor:
        """x = Dec(h0, z0) from standardised latents: (B, N, 4), (B, dz) -> (B, N, 3)."""
        return self.vae.decode(self.h_from_std(h_std), self.z_from_std(z_std))


@lru_cache(maxsize=1)
def load() -> Lion:
    """The shipped LION models (cached): raises MissingWeightsError naming the training command if one is missing."""
    vae, _ = checkpoint.load(VAE)
    z_net, z_meta = checkpoint.load(PRIOR_Z)
    h_net, _ = checkpoint.load(PRIOR_H)
    recipe = Recipe(**z_meta["diffusion"])
    zf, hf = fast(z_net), fast(h_net)
    ddm_z = Denoiser(lambda x, t, y: zf(x, t, y=y), recipe.parameterization, clip=None)
    ddm_h = Denoiser(lambda x, t, z: hf(x, t, z=z), recipe.parameterization, clip=None)
    stats = {k: torch.tensor(v) for k, v in z_meta["stats"].items()}
    return Lion(vae, ddm_z, ddm_h, recipe.make_schedule(), stats)


def null_category(y: Tensor) -> Tensor:
    return torch.full_like(y, len(shapes3d.CATEGORIES))


def guided_z(lion: Lion, guidance: float) -> Denoiser:
    """DDM_z steered by its category: eps_u + s (eps_c - eps_u) (Ho & Salimans 2022)."""
    return classifier_free(lion.ddm_z, null_category, guidance)


@dataclass(frozen=True)
class Request:
    """A checked sampling request."""

    category: str
    index: int  # the category's index, DDM_z's class
    n: int
    steps: int
    seed: int
    guidance: float
    sampler: str


def validate(category, n, steps, seed, guidance, sampler="ddim") -> Request:
    """A request's values checked (raw values from the app, the API or the command line), or a ValueError that says
    what to change."""
    category = checks.choice("category", category, shapes3d.CATEGORIES)
    return Request(
        category,
        shapes3d.CATEGORIES.index(category),
        checks.integer("number of shapes", n, 1, MAX_SHAPES, " on this machine"),
        checks.integer("steps", steps, 1, MAX_STEPS),
        checks.seed(seed),
        checks.number("guidance scale", guidance, 0.0, MAX_GUIDANCE),
        checks.choice("sampler", sampler, SAMPLERS),
    )


@dataclass(frozen=True)
class Frame:
    """One streamed step of stage 'z' (the global latent) or 'h' (the latent points), step index of total at
    timestep t. cloud() gives the clouds to show (B', N, 3), computed only when asked for: in stage z, the shape the
    current z0 estimate decodes to (through a short run of DDM_h); in stage h, the latent points' xyz."""

    stage: str
    index: int
    total: int
    t: int
    show: Callable[[], Tensor]

    def cloud(self) -> Tensor:
        return self.show()


@dataclass(frozen=True)
class Shapes:
    """The result: the latents (standardised) and the decoded clouds (B, N, 3)."""

    category: str
    z0: Tensor
    h0: Tensor
    points: Tensor


def _noise(shape: tuple[int, ...], gen: torch.Generator) -> Tensor:
    return torch.randn(shape, generator=gen)


def _preview(lion: Lion, z_hat: Tensor, h_T: Tensor) -> Tensor:
    """What a z0 estimate looks like: PREVIEW_STEPS DDIM steps of DDM_h from the seed's h_T, decoded."""
    h = h_T
    for s in sample_loop("ddim", lion.ddm_h, h_T, lion.schedule, PREVIEW_STEPS, cond=z_hat):
        h = s.x
    return lion.decode(h, z_hat)


def _stream(lion: Lion, ddm_z: Denoiser, z_T: Tensor, h_T: Tensor, y: Tensor, steps: int, sampler: str = "ddim",
            gen: torch.Generator | None = None, start: int | None = None) -> Iterator[Frame | tuple[Tensor, Tensor]]:
    """Both stages in turn (z0 ~ DDM_z(. | y), then h0 ~ DDM_h(. | z0)), a Frame per step, then (z0, h0)."""
    z = z_T
    for s in sample_loop(sampler, ddm_z, z_T, lion.schedule, steps, cond=y, generator=gen, start=start):
        z = s.x
        yield Frame("z", s.index, s.total, s.t, lambda x0=s.x0: _preview(lion, x0[:1], h_T[:1]))
    h = h_T
    for s in sample_loop(sampler, lion.ddm_h, h_T, lion.schedule, steps, cond=z, generator=gen, start=start):
        h = s.x
        yield Frame("h", s.index, s.total, s.t, lambda x=s.x: lion.h_from_std(x)[..., :3])
    yield z, h


def sample(
    category: str = "chair", n: int = 1, steps: int = 25, seed: int = 0, guidance: float = GUIDANCE,
    sampler: str = "ddim",
) -> Iterator[Frame | Shapes]:
    """LION's sampling (`lion.py:sample`): z0 ~ DDM_z(. | category) in `steps` steps, then h0 ~ DDM_h(. | z0) in
    `steps` steps, then x = Dec(h0, z0). Yields a Frame per step of each stage, then the Shapes."""
    r = validate(category, n, steps, seed, guidance, sampler)
    lion = load()
    gen = torch.Generator().manual_seed(r.seed)
    dz, c = lion.stats["z_mean"].numel(), lion.stats["h_mean"].numel()
    z_T, h_T = _noise((r.n, dz), gen), _noise((r.n, shapes3d.N_POINTS, c), gen)
    y = torch.full((r.n,), r.index, dtype=torch.long)
    for item in _stream(lion, guided_z(lion, r.guidance), z_T, h_T, y, r.steps, r.sampler, gen):
        if isinstance(item, Frame):
            yield item
        else:
            z, h = item
            yield Shapes(r.category, z, h, lion.decode(h, z))


def final_shapes(frames: Iterator[Frame | Shapes]) -> Shapes:
    """Drain a sample / vary generator and return its Shapes."""
    return final(frames, Shapes)


@torch.no_grad()
def encode(points: np.ndarray) -> tuple[Tensor, Tensor]:
    """A cloud's latents through the VAE's posterior means, standardised: (N, 3) -> (1, dz), (1, N, 4)."""
    lion = load()
    x = torch.from_numpy(np.asarray(points, dtype=np.float32))[None]
    mu_z, _ = lion.vae.encode_global(x)
    mu_h, _ = lion.vae.encode_local(x, mu_z)
    return lion.z_to_std(mu_z), lion.h_to_std(mu_h)


MIN_POINTS = 256


def read_cloud(path) -> np.ndarray:
    """The points of a PLY (or any point cloud / mesh file trimesh reads), at most N_POINTS of them: (N, 3)."""
    import trimesh

    if path is None or path == "":
        raise ValueError("there is no shape to vary: generate one first (or give a point cloud)")
    try:
        loaded = trimesh.load(str(path), process=False)
    except Exception as e:  # trimesh raises many kinds for a file that is not one it reads
        raise ValueError(f"that file is not a point cloud this app can read ({e.__class__.__name__}); give a PLY") from e
    points = np.asarray(getattr(loaded, "vertices", np.empty((0, 3))), dtype=np.float32)
    if points.ndim != 2 or points.shape[1] != 3 or len(points) < MIN_POINTS or not np.isfinite(points).all():
        raise ValueError(f"the shape must be a cloud of at least {MIN_POINTS} finite 3-D points, got {points.shape}")
    if len(points) > shapes3d.N_POINTS:
        points = points[np.random.default_rng(0).choice(len(points), shapes3d.N_POINTS, replace=False)]
    return points


def vary(
    points: np.ndarray | None, t_frac: float = 0.3, n: int = 4, steps: int = 25, seed: int = 0,
    category: str | None = None, guidance: float = GUIDANCE,
) -> Iterator[Frame | Shapes]:
    """LION's diffuse-denoise (Sec. 3.3): encode a shape, diffuse z0 and h0 to t = t_frac T with n noises, denoise
    both from t (DDIM), decode: n variations. Small t keeps the shape, larger t varies it more; a category (optional)
    guides DDM_z, else it runs unconditionally."""
    if points is None or len(points) == 0:
        raise ValueError("there is no shape to vary: generate one first (or give a point cloud)")
    t_frac = checks.number("variation strength t/T", t_frac, 0.01, 1.0)
    n = checks.integer("number of variations", n, 1, MAX_SHAPES)
    steps = checks.integer("steps", steps, 1, MAX_STEPS)
    if category is not None:
        checks.choice("category", category, shapes3d.CATEGORIES)
    lion = load()
    start = min(lion.schedule.T - 1, max(1, round(t_frac * (lion.schedule.T - 1))))
    z0, h0 = encode(shapes3d.normalise_points(points))
    gen = torch.Generator().manual_seed(checks.seed(seed))
    ab = lion.schedule.alpha_bar[start].float()
    z_t = q_sample(z0.expand(n, -1), ab, _noise((n, z0.shape[1]), gen))
    h_t = q_sample(h0.expand(n, -1, -1), ab, _noise((n, *h0.shape[1:]), gen))
    if category is None:
        ddm_z, y = lion.ddm_z, null_category(torch.zeros(n, dtype=torch.long))
    else:
        ddm_z, y = guided_z(lion, guidance), torch.full((n,), shapes3d.CATEGORIES.index(category))
    for item in _stream(lion, ddm_z, z_t, h_t, y, min(steps, start + 1), start=start):
        if isinstance(item, Frame):
            yield item
        else:
            z, h = item
            yield Shapes(category or "", z, h, lion.decode(h, z))


def slerp(a: Tensor, b: Tensor, w: float) -> Tensor:
    """Spherical interpolation of two Gaussian noises (keeps their norm, so the mix is again a likely noise)."""
    cos = float((a * b).sum() / (a.norm() * b.norm()))
    theta = math.acos(max(-1.0, min(1.0, cos)))
    if theta < 1e-6:
        return (1 - w) * a + w * b
    return (math.sin((1 - w) * theta) * a + math.sin(w * theta) * b) / math.sin(theta)


def interpolate(
    category: str, seed_a: int, seed_b: int, frames: int = 6, steps: int = 25, guidance: float = GUIDANCE
) -> Shapes:
    """LION's latent interpolation: slerp both priors' starting noises between two seeds and run the deterministic
    DDIM sampler on each mix, so the strip moves smoothly from one sample to the other."""
    r = validate(category, 1, steps, seed_a, guidance)
    frames = checks.integer("frames", frames, 2, MAX_SHAPES)
    lion = load()
    dz, c = lion.stats["z_mean"].numel(), lion.stats["h_mean"].numel()
    ends = []
    for sd in (r.seed, checks.seed(seed_b, "seed B")):
        gen = torch.Generator().manual_seed(sd)
        ends.append((_noise((1, dz), gen), _noise((1, shapes3d.N_POINTS, c), gen)))
    ws = np.linspace(0, 1, frames)
    z_T = torch.cat([slerp(ends[0][0], ends[1][0], w) for w in ws])
    h_T = torch.cat([slerp(ends[0][1], ends[1][1], w) for w in ws])
    y = torch.full((frames,), r.index, dtype=torch.long)
    *_, (z, h) = _stream(lion, guided_z(lion, r.guidance), z_T, h_T, y, r.steps)
    return Shapes(r.category, z, h, lion.decode(h, z))


def height_colours(points: np.ndarray) -> np.ndarray:
    """An RGB colour per point from its height (blue low, orange high), so a cloud reads well in any viewer."""
    y = points[:, 1]
    u = (y - y.min()) / max(1e-6, float(np.ptp(y)))
    low, high = np.array([59, 91, 219]), np.array([240, 140, 0])
    return (low + u[:, None] * (high - low)).astype(np.uint8)


def files_for(points: np.ndarray) -> tuple[PointCloudFile, MeshFile]:
    """A shape's two results: its cloud (PLY, coloured by height) and its mesh (GLB)."""
    points = np.asarray(points, dtype=np.float32)
    return PointCloudFile(points, height_colours(points)), MeshFile(points_mesh(points))


def cli_args(p) -> None:
    """Arguments of `python -m engines lion`."""
    p.add_argument("--category", choices=list(shapes3d.CATEGORIES), default="chair")
    p.add_argument("--n", type=int, default=4, help=f"number of shapes, 1..{MAX_SHAPES}")
    p.add_argument("--steps", type=int, default=25, help="DDIM steps of each prior")
    p.add_argument("--guidance", type=float, default=GUIDANCE, help="classifier-free guidance of DDM_z")
    p.add_argument("--sampler", choices=list(SAMPLERS), default="ddim")
    p.add_argument("--seed", type=int, default=0)


def cli_main(a) -> list[tuple[PointCloudFile, MeshFile]]:
    """Sample; each shape is written as DIR/000.ply (its 2,048 points) and DIR/000.glb (its mesh)."""
    out = final_shapes(sample(a.category, a.n, a.steps, a.seed, a.guidance, a.sampler))
    return [files_for(p) for p in out.points.numpy()]
