"""DreamFusion's objects of the 3-D shapes world (DESIGN.md): ball (sphere), cube, cylinder (height = diameter), cone
(height = base diameter, apex up) and ring (a torus of major radius 1 and minor 0.35, lying flat), one palette colour
each, under a random rotation about y, centred at the bounding box's centre and scaled so the farthest surface point
lies at distance 1. Each is an exact signed distance function, voxelised into the density-and-albedo grid that
DreamFusion's generator is (core/volume.py), so the prior's training renders come from what SDS can draw."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from ..core.volume import inverse_softplus
from .shapes import COLOURS

OBJECTS = ("ball", "cube", "cylinder", "cone", "ring")
# sizes after normalisation (the farthest surface point at distance 1)
CUBE_HALF = 1 / math.sqrt(3)  # a corner at distance 1
CYLINDER_R = 1 / math.sqrt(2)  # radius = half-height; a rim point at distance 1
CONE_R = 1 / math.sqrt(2)  # base radius = half-height (height = base diameter), base rim at distance 1, apex 0.71
RING_R, RING_r = 1 / 1.35, 0.35 / 1.35  # the torus's major and minor radii
BOUND = 1.1  # the grid spans [-BOUND, BOUND]^3
RES = 48  # grid nodes per axis
SIGMA_MAX = 30.0  # the density inside an object
EDGE = 0.03  # the density's soft edge: sigma = SIGMA_MAX sigmoid(-sdf / EDGE)


def _sd_box(p: Tensor, half: Tensor) -> Tensor:
    q = p.abs() - half
    return q.clamp(min=0).norm(dim=-1) + q.amax(-1).clamp(max=0)


def _sd_cylinder(p: Tensor, r: float, h: float) -> Tensor:
    """A closed cylinder of radius r about y from -h to h."""
    d = torch.stack([torch.hypot(p[..., 0], p[..., 2]) - r, p[..., 1].abs() - h], -1)
    return d.clamp(min=0).norm(dim=-1) + d.amax(-1).clamp(max=0)


def _sd_cone(p: Tensor, r: float, h: float) -> Tensor:
    """A closed cone, base radius r at y = -h, apex at y = h (Quilez's capped cone with a zero top radius)."""
    q = torch.stack([torch.hypot(p[..., 0], p[..., 2]), p[..., 1]], -1)
    k1, k2 = torch.tensor([0.0, h]), torch.tensor([-r, 2 * h])
    ca = torch.stack([q[..., 0] - torch.minimum(q[..., 0], torch.where(q[..., 1] < 0, torch.tensor(r), torch.tensor(0.0))),
                      q[..., 1].abs() - h], -1)
    cb = q - k1 + k2 * (((k1 - q) * k2).sum(-1) / (k2 * k2).sum()).clamp(0, 1)[..., None]
    s = torch.where((cb[..., 0] < 0) & (ca[..., 1] < 0), -1.0, 1.0)
    return s * torch.minimum((ca * ca).sum(-1), (cb * cb).sum(-1)).sqrt()


def _sd_torus(p: Tensor, R: float, r: float) -> Tensor:
    """A torus lying flat (its axis along y)."""
    return torch.hypot(torch.hypot(p[..., 0], p[..., 2]) - R, p[..., 1]) - r


def rotate_y(p: Tensor, degrees: float) -> Tensor:
    """Points of the object rotated by `degrees` about y: the inverse rotation applied to the query points."""
    a = math.radians(degrees)
    c, s = math.cos(a), math.sin(a)
    x, y, z = p.unbind(-1)
    return torch.stack([c * x - s * z, y, s * x + c * z], -1)


def sdf(obj: str, p: Tensor, rotation: float = 0.0) -> Tensor:
    """The signed distance (negative inside) of a normalised object rotated about y, at points (..., 3)."""
    q = rotate_y(p, rotation)
    if obj == "ball":
        return q.norm(dim=-1) - 1.0
    if obj == "cube":
        return _sd_box(q, torch.full((3,), CUBE_HALF))
    if obj == "cylinder":
        return _sd_cylinder(q, CYLINDER_R, CYLINDER_R)
    if obj == "cone":
        return _sd_cone(q, CONE_R, CONE_R)
    if obj == "ring":
        return _sd_torus(q, RING_R, RING_r)
    raise ValueError(f"unknown object {obj!r}; choose one of {', '.join(OBJECTS)}")


@dataclass(frozen=True)
class Object3D:
    """One DreamFusion object: its kind, colour name, the jittered RGB in [0, 1] and its rotation about y."""

    kind: str
    colour: str
    rgb: tuple[float, float, float]
    rotation: float

    def prompt(self) -> str:
        return f"a {self.colour} {self.kind}"


def random_object(rng: np.random.Generator, kind: str | None = None, colour: str | None = None) -> Object3D:
    """An object of a random (or the given) kind and colour, colour jittered by up to 15 per channel."""
    kind = kind or OBJECTS[int(rng.integers(len(OBJECTS)))]
    colour = colour or list(COLOURS)[int(rng.integers(len(COLOURS)))]
    rgb = np.clip(np.array(COLOURS[colour]) + rng.integers(-15, 16, 3), 0, 255) / 255.0
    return Object3D(kind, colour, tuple(float(v) for v in rgb), float(rng.uniform(0, 360)))


def grid_points(res: int = RES, bound: float = BOUND) -> Tensor:
    """The grid's nodes (res, res, res, 3), indexed [x, y, z]."""
    a = torch.linspace(-bound, bound, res)
    return torch.stack(torch.meshgrid(a, a, a, indexing="ij"), -1)


def voxelise(o: Object3D, res: int = RES, bound: float = BOUND) -> tuple[Tensor, Tensor]:
    """The object as the generator's parameters: raw density (res, res, res) with softplus(raw) = SIGMA_MAX
    sigmoid(-sdf / EDGE), and albedo logits (3, res, res, res) of its colour everywhere."""
    d = sdf(o.kind, grid_points(res, bound), o.rotation)
    sigma = SIGMA_MAX * torch.sigmoid(-d / EDGE)
    raw = inverse_softplus(sigma)
    rgb = torch.tensor(o.rgb).clamp(1e-3, 1 - 1e-3)
    albedo = torch.logit(rgb)[:, None, None, None].expand(3, res, res, res).clone()
    return raw, albedo
