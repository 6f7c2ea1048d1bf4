"""Differentiable volume rendering of a density-and-albedo field (NeRF, Mildenhall et al. 2020, Eq. 3; DreamFusion,
Poole et al. 2022, Sec. 3.1 and App. A), in pure PyTorch: pinhole cameras on a sphere around the origin, stratified
samples along each ray, alpha compositing C = sum_i T_i (1 - exp(-sigma_i delta_i)) c_i with T_i = prod_{j<i}
exp(-sigma_j delta_j), and shading by albedo, lambertian or textureless with normals n = -grad(sigma) / |grad(sigma)|.

DreamFusion's generator (a voxel grid of density and albedo, trilinear) and its prior's training renders both go
through render(), so the prior knows exactly what the generator can draw. y is up; azimuth 0 looks at the object's
front (+z) from +z, elevation 90 from straight above."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

SHADINGS = ("albedo", "lambertian", "textureless")
# a field maps points (N, 3) to their density sigma (N,) >= 0 and albedo (N, 3) in [0, 1]
Field = Callable[[Tensor], tuple[Tensor, Tensor]]


@dataclass(frozen=True)
class Camera:
    """A pinhole camera at distance `radius` looking at the origin from (azimuth, elevation) in degrees."""

    azimuth: float
    elevation: float
    radius: float = 3.0
    fov: float = 40.0  # vertical field of view, degrees
    size: int = 32  # the picture is size x size

    def eye(self) -> Tensor:
        """The camera's position (3,): azimuth about y from +z towards +x, elevation up from the x-z plane."""
        a, e = math.radians(self.azimuth), math.radians(self.elevation)
        return self.radius * torch.tensor([math.cos(e) * math.sin(a), math.sin(e), math.cos(e) * math.cos(a)])

    def basis(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """(eye, right, up, forward): the camera's position and its unit axes (forward looks at the origin)."""
        eye = self.eye()
        forward = -eye / eye.norm()
        up0 = torch.tensor([0.0, 1.0, 0.0]) if abs(self.elevation) < 89.9 else torch.tensor([0.0, 0.0, -1.0])
        right = torch.linalg.cross(forward, up0)
        right = right / right.norm()
        return eye, right, torch.linalg.cross(right, forward), forward

    def rays(self) -> tuple[Tensor, Tensor]:
        """Origins and unit directions of the size^2 pixel rays, row-major from the top-left: 2 x (size^2, 3)."""
        eye, right, up, forward = self.basis()
        half = math.tan(math.radians(self.fov) / 2)
        s = (torch.arange(self.size, dtype=torch.float32) + 0.5) / self.size * 2 - 1  # pixel centres in (-1, 1)
        v, u = torch.meshgrid(-s * half, s * half, indexing="ij")  # (size, size): rows go down, columns right
        d = forward + u[..., None] * right + v[..., None] * up  # (size, size, 3)
        d = (d / d.norm(dim=-1, keepdim=True)).reshape(-1, 3)
        return eye.expand_as(d), d


@dataclass(frozen=True)
class Light:
    """A directional light (unit direction towards the light) with ambient and diffuse strengths (DreamFusion's
    c = rho (l_a + l_rho max(0, n . l)))."""

    direction: tuple[float, float, float]
    ambient: float = 0.35
    diffuse: float = 0.75


@dataclass
class Render:
    """A render: colour (size^2, 3), opacity (size^2,), the samples' weights (size^2, S), their normals
    (size^2, S, 3) and the ray directions (size^2, 3), for the orientation loss."""

    rgb: Tensor
    opacity: Tensor
    weights: Tensor
    normals: Tensor
    directions: Tensor

    def image(self, size: int) -> Tensor:
        """(3, size, size) in [0, 1]."""
        return self.rgb.T.reshape(3, size, size)


def ray_box(origins: Tensor, directions: Tensor, bound: float) -> tuple[Tensor, Tensor]:
    """Entry and exit distances of each ray through the cube [-bound, bound]^3 (exit < entry: a miss)."""
    inv = 1.0 / torch.where(directions.abs() < 1e-9, torch.full_like(directions, 1e-9), directions)
    t0, t1 = (-bound - origins) * inv, (bound - origins) * inv
    near = torch.minimum(t0, t1).amax(-1).clamp(min=0.0)
    far = torch.maximum(t0, t1).amin(-1)
    return near, far


def composite(sigma: Tensor, delta: Tensor) -> Tensor:
    """NeRF's weights w_i = T_i (1 - exp(-sigma_i delta_i)) from densities and segment lengths (R, S)."""
    alpha = 1.0 - torch.exp(-sigma * delta)
    trans = torch.cumprod(torch.cat([torch.ones_like(alpha[:, :1]), 1.0 - alpha + 1e-10], -1), -1)[:, :-1]
    return alpha * trans


def shade(albedo: Tensor, normals: Tensor, shading: str, light: Light | None) -> Tensor:
    """Each sample's colour (..., 3): its albedo, or lit by the light (lambertian), or white and lit (textureless)."""
    if shading == "albedo" or light is None:
        return albedo
    if shading not in SHADINGS:
        raise ValueError(f"shading is one of {', '.join(SHADINGS)}, not {shading!r}")
    lam = (normals * torch.tensor(light.direction, dtype=normals.dtype)).sum(-1, keepdim=True).clamp(min=0.0)
    lit = light.ambient + light.diffuse * lam
    base = torch.ones_like(albedo) if shading == "textureless" else albedo
    return (base * lit).clamp(0.0, 1.0)


def render(field: Field, camera: Camera, n_samples: int = 48, bound: float = 1.0, background: Tensor | None = None,
           shading: str = "albedo", light: Light | None = None, gen: torch.Generator | None = None,
           normals_eps: float = 0.02) -> Render:
    """Volume-render a field inside [-bound, bound]^3 from a camera: n_samples stratified samples per ray (jittered
    when gen is given), normals from the field's sample_all (a grid's own gradient) or else from central differences
    of the density at distance normals_eps."""
    origins, directions = camera.rays()
    near, far = ray_box(origins, directions, bound)
    hit = far > near
    far = torch.where(hit, far, near + 1e-3)
    u = (torch.arange(n_samples, dtype=torch.float32) + 0.5) / n_samples  # (S,)
    if gen is not None:
        u = u + (torch.rand(origins.shape[0], n_samples, generator=gen) - 0.5) / n_samples
    t = near[:, None] + (far - near)[:, None] * u  # (R, S)
    delta = ((far - near) / n_samples)[:, None].expand_as(t)
    pts = origins[:, None] + t[..., None] * directions[:, None]  # (R, S, 3)
    flat = pts.reshape(-1, 3)
    if shading != "albedo" and hasattr(field, "sample_all"):
        sigma, albedo, normals = field.sample_all(flat)
        normals = normals.reshape(pts.shape)
    else:
        sigma, albedo = field(flat)
        normals = torch.zeros_like(pts)
        if shading != "albedo":
            normals = density_normals(field, flat, normals_eps).reshape(pts.shape)
    sigma = sigma.reshape(t.shape) * hit[:, None]
    w = composite(sigma, delta)  # (R, S)
    colour = shade(albedo.reshape(*t.shape, 3), normals, shading, light)
    rgb = (w[..., None] * colour).sum(1)  # (R, 3)
    opacity = w.sum(1)
    if background is not None:
        rgb = rgb + (1.0 - opacity)[:, None] * background.reshape(1, 3)
    return Render(rgb, opacity, w, normals, directions)


def density_normals(field: Field, pts: Tensor, eps: float) -> Tensor:
    """n = -grad(sigma) / |grad(sigma)| by central differences (N, 3) -> (N, 3); differentiable in the field."""
    offsets = torch.eye(3) * eps
    grads = []
    for k in range(3):
        hi, _ = field(pts + offsets[k])
        lo, _ = field(pts - offsets[k])
        grads.append((hi - lo) / (2 * eps))
    g = torch.stack(grads, -1)
    return -g / (g.norm(dim=-1, keepdim=True) + 1e-6)


def orientation_loss(r: Render) -> Tensor:
    """Ref-NeRF's orientation penalty (DreamFusion Eq. in App. A): sum_i stopgrad(w_i) max(0, n_i . v)^2 with v the
    ray direction, averaged over rays: normals facing away from the camera on visible samples."""
    facing = (r.normals * r.directions[:, None]).sum(-1).clamp(min=0.0) ** 2  # (R, S)
    return (r.weights.detach() * facing).sum(-1).mean()


def trunc_exp(x: Tensor) -> Tensor:
    """exp with its argument clamped at 15 (stable-dreamfusion's trunc_exp keeps the gradient finite the same way)."""
    return torch.exp(x.clamp(max=15.0))


ACTIVATIONS = {"softplus": F.softplus, "exp": trunc_exp}


def inverse_softplus(sigma: Tensor) -> Tensor:
    """raw with softplus(raw) = sigma (sigma > 0): a density written as the grid's raw value."""
    return torch.where(sigma > 20, sigma, torch.log(torch.expm1(sigma.clamp(min=1e-6))))


class GridField:
    """A voxel grid as a field: density (X, Y, Z) of raw values (sigma = softplus(raw), or exp(raw) as
    stable-dreamfusion's, which makes sharper surfaces) and albedo (3, X, Y, Z) of
    logits (rho = sigmoid), trilinear over [-bound, bound]^3, zero density outside. Its normals come from the
    central differences of sigma on the grid, sampled with the rest in one trilinear read (six reads of the field
    by density_normals cost 3x the render)."""

    def __init__(self, density: Tensor, albedo: Tensor, bound: float = 1.0, activation: str = "softplus"):
        if activation not in ACTIVATIONS:
            raise ValueError(f"the density activation is one of {', '.join(ACTIVATIONS)}, not {activation!r}")
        self.bound, self.act = bound, ACTIVATIONS[activation]
        self.vol = torch.cat([density[None], albedo], 0)[None]  # (1, 4, X, Y, Z)
        self._with_grad: Tensor | None = None
        self._density = density

    def _read(self, vol: Tensor, pts: Tensor) -> Tensor:
        # grid_sample's last coordinate indexes the first spatial dim: pass (z, y, x) for a grid indexed [x, y, z]
        g = (pts / self.bound).flip(-1).reshape(1, -1, 1, 1, 3)
        return F.grid_sample(vol, g, mode="bilinear", padding_mode="border", align_corners=True)[0, :, :, 0, 0]

    def __call__(self, pts: Tensor) -> tuple[Tensor, Tensor]:
        v = self._read(self.vol, pts)  # (4, N)
        inside = (pts.abs() <= self.bound).all(-1)
        return self.act(v[0]) * inside, torch.sigmoid(v[1:].T)

    def sample_all(self, pts: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """sigma (N,), albedo (N, 3) and normals -grad(sigma) / |grad(sigma)| (N, 3) in one read."""
        if self._with_grad is None:
            sigma = self.act(self._density)
            spacing = 2 * self.bound / (sigma.shape[0] - 1)
            grads = torch.gradient(sigma, spacing=spacing)  # 3 x (X, Y, Z): d/dx, d/dy, d/dz
            self._with_grad = torch.cat([self.vol, torch.stack(grads)[None]], 1)  # (1, 7, X, Y, Z)
        v = self._read(self._with_grad, pts)  # (7, N)
        inside = (pts.abs() <= self.bound).all(-1)
        g = v[4:].T
        return self.act(v[0]) * inside, torch.sigmoid(v[1:4].T), -g / (g.norm(dim=-1, keepdim=True) + 1e-6)


def grid_field(density: Tensor, albedo: Tensor, bound: float = 1.0, activation: str = "softplus") -> GridField:
    """The voxel grid (raw density, albedo logits) as a field (GridField)."""
    return GridField(density, albedo, bound, activation)
