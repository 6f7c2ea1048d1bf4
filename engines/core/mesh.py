"""Surfaces from points and grids, shared by LION (meshes of sampled point clouds) and DreamFusion (meshes of density
grids): marching cubes (Lorensen & Cline 1987, scikit-image) on a scalar field sampled on a regular grid.

A point cloud's surface is the boundary of the solid it encloses at a radius r: the r-offset of the points, with the
cavities it encloses filled, so the result is closed (watertight), also for open surfaces (a lampshade, a mug's wall)
and thin ones (legs, wings), which a Poisson solve would fold or drop (the stand-in here for LION's Shape As Points).
Parts that do not touch (the shapes world's lampshade floats around its pole) are joined by a thin strut, so every
mesh is one closed surface."""

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


def segment_distance(x: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance of every point of x (..., 3) to the segment from a to b (3,)."""
    ab = b - a
    t = np.clip(((x - a) @ ab) / max(float(ab @ ab), 1e-12), 0.0, 1.0)
    return np.linalg.norm(x - a - t[..., None] * ab, axis=-1)


def bridge(solid: np.ndarray, grid: Grid, points: np.ndarray, r: float) -> tuple[np.ndarray, int]:
    """Join every connected part of a solid (res^3 bool) to the largest by a strut of radius r between the parts'
    nearest two points (as a lampshade's spider holds it on its pole): the mesh is then one closed surface, one
    printable piece. Returns the joined solid and the number of parts before."""
    labels, n = ndimage.label(solid)
    if n <= 1:
        return solid, n
    ijk = np.clip(np.round((points - grid.lo) / grid.step).astype(int), 0, grid.res - 1)
    of = labels[ijk[:, 0], ijk[:, 1], ijk[:, 2]]  # (N,) each point's part (0: none)
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    sizes[0] = 0
    joined = of == int(sizes.argmax())
    nodes = grid.nodes()
    for part in np.argsort(-sizes)[1:n]:
        mine = of == part
        if not mine.any() or joined.all():
            continue
        d, j = cKDTree(points[joined]).query(points[mine])
        i = int(d.argmin())
        a, b = points[mine][i], points[joined][j[i]]
        solid = solid | (segment_distance(nodes, a, b) < r) | (labels == part)
        joined |= mine
    return ndimage.binary_fill_holes(solid), n


def points_mesh(points: np.ndarray, res: int = 72, radius: float | None = None, pull: float = 0.8,
                rounds: int = 2, k: int = 8, join: bool = True) -> trimesh.Trimesh:
    """The closed surface of a point cloud (N, 3). First the boundary of the points' r-offset with the cavities it
    encloses filled: closed over the gaps between points, also for open or thin parts (a lampshade, a leg). Then shrink-wrapped onto the cloud: `rounds` times, every vertex moves `pull` of the way to
    the mean of its k nearest points (a moving-least-squares projection), which keeps the mesh closed and brings its
    surface from r out to the points themselves. join: parts that do not touch are joined by struts (bridge), so
    the mesh is one closed surface; a strut's vertices (farther than 2r from every point) are not pulled."""
    points = np.asarray(points, dtype=np.float64)
    r = offset_radius(points) if radius is None else float(radius)
    grid = grid_around(points, res, pad=r + 3 * (np.ptp(points, 0).max() / res))
    tree = cKDTree(points)
    dist, _ = tree.query(grid.nodes().reshape(-1, 3), distance_upper_bound=2 * r)
    f = np.minimum(dist, 2 * r).reshape((res,) * 3) - r  # < 0 within r of a point
    solid = ndimage.binary_fill_holes(f < 0)
    if join:
        solid, _ = bridge(solid, grid, points, r)
    f = np.where(solid & (f >= 0), -grid.step, f)  # inside an enclosed cavity or a strut: inside, no inner wall
    mesh = grid_mesh(f, 0.0, grid)
    v = mesh.vertices.copy()
    for _ in range(rounds):
        d, idx = tree.query(v, k=k)
        near = d[:, :1] < 2 * r  # (V, 1): a strut's middle stays where it is
        v += pull * near * (points[idx].mean(1) - v)
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
