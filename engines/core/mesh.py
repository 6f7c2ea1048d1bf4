"""Surfaces from points and grids, shared by LION (meshes of sampled point clouds) and DreamFusion (meshes of density
grids): marching cubes (Lorensen & Cline 1987, scikit-image) on a scalar field sampled on a regular grid.

A point cloud's surface is the boundary of the solid it encloses at a radius r: the r-offset of the points, with the
cavities it encloses filled, so the result is closed (watertight) and each connected part of the cloud gives one
surface, also for open surfaces (a lampshade, a mug's wall) and thin ones (legs, wings), which a Poisson solve would
fold or drop (the stand-in here for LION's Shape As Points).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh
from scipy import ndimage
from scipy.spatial import cKDTree
from skimage.measure import marching_cubes


@dataclass(frozen=True)
class Grid:
    """A regular grid of res^3 nodes from lo to lo + (res - 1) * step on every axis."""

    lo: np.ndarray  # (3,)
    step: float
    res: int

    def nodes(self) -> np.ndarray:
        """Every node's coordinates, (res, res, res, 3), indexed [i, j, k] = (x, y, z)."""
        a = self.lo[:, None] + self.step * np.arange(self.res)[None]  # (3, res)
        return np.stack(np.meshgrid(a[0], a[1], a[2], indexing="ij"), -1)


def grid_around(points: np.ndarray, res: int, pad: float) -> Grid:
    """A cubic grid of res^3 nodes holding the points' bounding box grown by pad on every side."""
    lo, hi = points.min(0) - pad, points.max(0) + pad
    step = float((hi - lo).max()) / (res - 1)
    center = (lo + hi) / 2
    return Grid(center - step * (res - 1) / 2, step, res)


def grid_mesh(field: np.ndarray, level: float, grid: Grid, colors: np.ndarray | None = None) -> trimesh.Trimesh:
    """The level set {field = level} of a (res, res, res) field as a triangle mesh in the grid's coordinates; outward
    normals point to where field < level. colors: an optional (res, res, res, 3) grid of RGB in [0, 1], read at each
    vertex by trilinear interpolation (DreamFusion's albedo)."""
    if not (field.min() < level < field.max()):
        raise ValueError("the field does not cross the level: no surface")
    # the object is where field < level: skimage's default orientation then gives outward normals (volume > 0)
    verts, faces, _, _ = marching_cubes(field.astype(np.float32), level=level)
    xyz = grid.lo + verts * grid.step
    vertex_colors = None
    if colors is not None:
        rgb = np.stack([ndimage.map_coordinates(colors[..., c], verts.T, order=1, mode="nearest") for c in range(3)], 1)
        vertex_colors = np.c_[np.clip(rgb * 255, 0, 255), np.full(len(rgb), 255)].astype(np.uint8)
    return trimesh.Trimesh(xyz, faces, vertex_colors=vertex_colors, process=False)  # vertices already shared


def offset_radius(points: np.ndarray, factor: float = 2.5) -> float:
    """A radius that closes the gaps between a cloud's points: factor times the mean nearest-neighbour distance."""
    d, _ = cKDTree(points).query(points, k=2)
    return factor * float(d[:, 1].mean())


def points_mesh(points: np.ndarray, res: int = 72, radius: float | None = None, pull: float = 0.8,
                rounds: int = 2, k: int = 8) -> trimesh.Trimesh:
    """The closed surface of a point cloud (N, 3). First the boundary of the points' r-offset with the cavities it
    encloses filled: closed over the gaps between points, one surface per connected part, also for open or thin parts
    (a lampshade, a leg). Then shrink-wrapped onto the cloud: `rounds` times, every vertex moves `pull` of the way to
    the mean of its k nearest points (a moving-least-squares projection), which keeps the mesh closed and brings its
    surface from r out to the points themselves."""
    points = np.asarray(points, dtype=np.float64)
    r = offset_radius(points) if radius is None else float(radius)
    grid = grid_around(points, res, pad=r + 3 * (np.ptp(points, 0).max() / res))
    tree = cKDTree(points)
    dist, _ = tree.query(grid.nodes().reshape(-1, 3), distance_upper_bound=2 * r)
    f = np.minimum(dist, 2 * r).reshape((res,) * 3) - r  # < 0 within r of a point
    solid = ndimage.binary_fill_holes(f < 0)
    f = np.where(solid & (f >= 0), -grid.step, f)  # inside an enclosed cavity: inside, no inner wall
    mesh = grid_mesh(f, 0.0, grid)
    v = mesh.vertices.copy()
    for _ in range(rounds):
        _, idx = tree.query(v, k=k)
        v += pull * (points[idx].mean(1) - v)
    mesh.vertices = v
    return mesh


def sample_surface(mesh: trimesh.Trimesh, n: int, rng: np.random.Generator) -> np.ndarray:
    """n points uniformly by area over a mesh's triangles: a face by its area, then uniform barycentrics. (n, 3)"""
    area = mesh.area_faces
    face = rng.choice(len(area), size=n, p=area / area.sum())
    r1, r2 = rng.random((2, n, 1))
    s = np.sqrt(r1)
    tri = mesh.triangles[face]  # (n, 3, 3)
    return ((1 - s) * tri[:, 0] + s * (1 - r2) * tri[:, 1] + s * r2 * tri[:, 2]).astype(np.float32)


def surface_report(mesh: trimesh.Trimesh, points: np.ndarray, n: int = 2048, seed: int = 0) -> dict[str, float]:
    """Is the mesh one closed surface (watertight, one connected component), and how far its surface lies from the
    cloud it came from: Chamfer distance between n points sampled on it and the cloud (mean squared distances)."""
    parts = mesh.split(only_watertight=False)
    on = sample_surface(mesh, n, np.random.default_rng(seed))
    d1, _ = cKDTree(points).query(on)
    d2, _ = cKDTree(on).query(points)
    return {
        "watertight": bool(mesh.is_watertight),
        "components": len(parts),
        "closed_single": bool(mesh.is_watertight and len(parts) == 1),
        "cd": float((d1**2).mean() + (d2**2).mean()),
    }
