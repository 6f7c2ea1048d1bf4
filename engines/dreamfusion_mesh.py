"""DreamFusion's outputs: the optimised density grid as a mesh by marching cubes (core/mesh.py, LION's), vertex
colours from the albedo grid, cavities inside filled, small disconnected pieces dropped (as stable-dreamfusion's clean_mesh); views of the
mesh and a turntable around it, by splatting points of its surface (what the GLB itself shows, for judging it)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import trimesh
from PIL import Image

from .core.mesh import Grid, grid_mesh
from .core.volume import Camera
from .dreamfusion_train import FOV, RADIUS
from .files import VideoFile

# the surface: sigma = 4. stable-dreamfusion's density_thresh is 10; here SDS leaves much of an object at a
# density of 3-9 that renders opaque over its depth, and at 10 a ball's mesh was 65% fragments (2% at 4)
DENSITY_LEVEL = 4.0
MIN_PIECE = 0.05  # pieces with less than this share of the surface are dropped
VIEW_AZIMUTHS = tuple(range(0, 360, 45))
VIEW_ELEVATION = 20.0


@dataclass(frozen=True)
class Mesh:
    """The mesh, and the share of the marching-cubes surface that lay in pieces other than the largest (floaters)
    before the small ones were dropped."""

    mesh: trimesh.Trimesh
    floaters: float
    dropped: float


def mesh_of(sigma: torch.Tensor, albedo: torch.Tensor, level: float = DENSITY_LEVEL, bound: float = 1.3) -> Mesh:
    """sigma (R, R, R) and albedo (3, R, R, R) in [0, 1] on the grid over [-bound, bound]^3 -> a coloured mesh;
    ValueError when the density never reaches the level (nothing was made)."""
    res = sigma.shape[0]
    s = sigma.numpy()
    if s.max() <= level:
        raise ValueError(f"the density never reaches {level:g} (its largest value is {s.max():.2f}): no surface; "
                         "try more iterations or a higher guidance")
    # cavities inside the solid (SDS leaves pockets of low density that no camera sees) filled: their walls would
    # be surface too, inside the object
    from scipy import ndimage

    s = np.where(ndimage.binary_fill_holes(s > level) & (s <= level), 2 * level, s)
    padded = np.pad(s, 1)  # closed at the grid's faces
    step = 2 * bound / (res - 1)
    grid = Grid(np.full(3, -bound - step), step, res + 2)
    colours = np.pad(albedo.permute(1, 2, 3, 0).numpy(), ((1, 1), (1, 1), (1, 1), (0, 0)), mode="edge")
    m = grid_mesh(-padded, -level, grid, colours)
    pieces = m.split(only_watertight=False)
    areas = np.array([p.area for p in pieces])
    total = float(areas.sum())
    floaters = 1.0 - float(areas.max()) / total if len(pieces) else 0.0
    keep = [p for p, a in zip(pieces, areas) if a >= MIN_PIECE * total or a == areas.max()]
    dropped = 1.0 - sum(p.area for p in keep) / total
    return Mesh(trimesh.util.concatenate(keep), floaters, dropped)


def splat(mesh: trimesh.Trimesh, cameras: list[Camera], n: int = 150_000, background=(0.85, 0.85, 0.85),
          lit: bool = True) -> list[np.ndarray]:
    """The mesh seen by each camera, (size, size, 3) uint8: n points spread evenly by area over its surface, each
    with its vertex colours interpolated and its face's normal, projected with a z-buffer (the nearest point of a
    pixel wins) and lit from above the camera (ambient 0.45 + 0.55 n . l), or not lit (the colours themselves, for
    judging them). trimesh's own ray caster took 9-53 s for eight 64x64 views."""
    rng = np.random.default_rng(0)
    area = mesh.area_faces / mesh.area
    face = rng.choice(len(area), size=n, p=area)
    r1, r2 = np.sqrt(rng.random(n)), rng.random(n)
    bary = np.stack([1 - r1, r1 * (1 - r2), r1 * r2], 1)  # uniform in each triangle
    tri = mesh.triangles[face]
    pts = (tri * bary[..., None]).sum(1)
    vc = mesh.visual.vertex_colors[:, :3].astype(np.float64) / 255
    rgb = (vc[mesh.faces[face]] * bary[..., None]).sum(1)
    normals = mesh.face_normals[face]
    out = []
    for cam in cameras:
        eye, right, up, forward = (v.numpy().astype(np.float64) for v in cam.basis())
        half = np.tan(np.radians(cam.fov) / 2)
        rel = pts - eye
        z = rel @ forward
        col = ((rel @ right / (z * half) + 1) / 2 * cam.size).astype(np.int64)
        row = ((1 - rel @ up / (z * half)) / 2 * cam.size).astype(np.int64)
        ok = (z > 0) & (col >= 0) & (col < cam.size) & (row >= 0) & (row < cam.size)
        pix = row[ok] * cam.size + col[ok]
        order = np.lexsort((z[ok], pix))  # by pixel, nearest first
        first = order[np.unique(pix[order], return_index=True)[1]]
        light = -forward + np.array([0.0, 0.6, 0.0])
        light /= np.linalg.norm(light)
        n_ = normals[ok][first]
        n_ = np.where(((n_ @ forward) > 0)[:, None], -n_, n_)  # the side facing the camera
        img = np.tile(np.asarray(background, dtype=np.float64), (cam.size * cam.size, 1))
        shade = 0.45 + 0.55 * np.clip(n_ @ light, 0, 1) if lit else np.ones(len(first))
        img[pix[first]] = rgb[ok][first] * shade[:, None]
        out.append((np.clip(img, 0, 1).reshape(cam.size, cam.size, 3) * 255).round().astype(np.uint8))
    return out


def view_cameras(size: int = 128) -> list[Camera]:
    """The eight cameras around an object: azimuth 0, 45, ..., 315 at elevation 20."""
    return [Camera(float(a), VIEW_ELEVATION, RADIUS, FOV, size) for a in VIEW_AZIMUTHS]


def mesh_views(mesh: trimesh.Trimesh, size: int = 128) -> list[Image.Image]:
    """Eight views of the mesh around it (azimuth 0, 45, ..., 315; elevation 20), lit."""
    return [Image.fromarray(v) for v in splat(mesh, view_cameras(size))]


def turntable(mesh: trimesh.Trimesh, frames: int = 36, size: int = 128) -> VideoFile:
    """A full turn around the mesh (elevation 20, the light above the camera), 12 frames a second."""
    cams = [Camera(360.0 * k / frames, VIEW_ELEVATION, RADIUS, FOV, size) for k in range(frames)]
    return VideoFile(np.stack(splat(mesh, cams)), fps=12)
