"""The 3-D shapes world (DESIGN.md): LION's five categories as unions of trimesh primitives, normalised, and point
clouds of N = 2048 points drawn uniformly by area over every part's whole surface. Deterministic by seed.

y is up, the floor is y = 0, U(a, b) is uniform. Parts are not merged by boolean union: every part's surface counts,
also where it lies inside another part. Boxes, cylinders and cones are closed unless said to be open. After building,
an object is centred at its bounding box's centre and scaled so that its farthest surface point lies at distance 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import trimesh

from ..core.mesh import sample_surface

CATEGORIES = ("chair", "table", "lamp", "mug", "airplane")
N_POINTS = 2048
SECTIONS = 48  # facets around a cylinder, cone or torus: side area within 0.07% of the smooth surface


@dataclass(frozen=True)
class Shape:
    """One object: its category, the parameters it was drawn with, and its normalised triangle mesh."""

    category: str
    params: dict[str, float]
    mesh: trimesh.Trimesh  # all parts concatenated (not unioned), normalised
    parts: tuple[str, ...] = field(default=())  # the part of each face, e.g. "seat", "leg" (len = faces)

    def part_bounds(self, part: str) -> np.ndarray:
        """(2, 3) bounding box, in the units of the spec (before normalisation), of the faces of one part."""
        faces = self.mesh.faces[np.asarray(self.parts) == part]
        v = self.mesh.vertices[np.unique(faces)] / self.params["scale"]
        v = v + np.array([self.params["cx"], self.params["cy"], self.params["cz"]])
        return np.stack([v.min(0), v.max(0)])


def _u(rng: np.random.Generator, a: float, b: float) -> float:
    return float(rng.uniform(a, b))


def box(lo: tuple[float, float, float], hi: tuple[float, float, float]) -> trimesh.Trimesh:
    """A closed axis-aligned box from its two corners."""
    return trimesh.creation.box(bounds=np.array([lo, hi], dtype=float))


def cylinder(a: tuple[float, float, float], b: tuple[float, float, float], radius: float) -> trimesh.Trimesh:
    """A closed cylinder (both caps) whose axis runs from point a to point b."""
    return trimesh.creation.cylinder(radius=radius, segment=np.array([a, b], dtype=float), sections=SECTIONS)


def frustum_side(r0: float, r1: float, y0: float, y1: float) -> trimesh.Trimesh:
    """The side surface only (open at both ends) of a truncated cone about the y axis: radius r0 at y0, r1 at y1."""
    a = np.linspace(0, 2 * np.pi, SECTIONS, endpoint=False)
    ring = np.stack([np.cos(a), np.zeros_like(a), np.sin(a)], 1)
    v = np.concatenate([ring * r0 + [0, y0, 0], ring * r1 + [0, y1, 0]])
    i = np.arange(SECTIONS)
    j = (i + 1) % SECTIONS
    faces = np.concatenate([np.stack([i, i + SECTIONS, j], 1), np.stack([j, i + SECTIONS, j + SECTIONS], 1)])
    return trimesh.Trimesh(v, faces, process=False)


def disc(radius: float, y: float) -> trimesh.Trimesh:
    """A flat disc of the given radius in the plane at height y, centred on the y axis."""
    a = np.linspace(0, 2 * np.pi, SECTIONS, endpoint=False)
    v = np.concatenate([[[0.0, y, 0.0]], np.stack([radius * np.cos(a), np.full_like(a, y), radius * np.sin(a)], 1)])
    i = np.arange(SECTIONS)
    faces = np.stack([np.zeros_like(i), 1 + (i + 1) % SECTIONS, 1 + i], 1)
    return trimesh.Trimesh(v, faces, process=False)


def cone_x(base_x: float, length: float, radius: float, y: float) -> trimesh.Trimesh:
    """A closed cone (base disc included) on the line (., y, 0): its base at x = base_x, its apex at base_x + length."""
    # trimesh's cone runs along +z from its base at z = 0: rotate +z onto +x, then move the base into place
    turn = trimesh.transformations.rotation_matrix(np.pi / 2, [0, 1, 0])
    cone = trimesh.creation.cone(radius=radius, height=length, sections=SECTIONS, transform=turn)
    cone.apply_translation([base_x, y, 0.0])
    return cone


def torus_xy(center: tuple[float, float, float], major: float, minor: float) -> trimesh.Trimesh:
    """A torus whose ring lies in the x-y plane (its axis along z), centred at `center`."""
    t = trimesh.creation.torus(major, minor, major_sections=SECTIONS, minor_sections=SECTIONS // 2)
    t.apply_translation(center)
    return t


def legs(half_x: float, half_z: float, inset: float, radius: float, top: float) -> list[trimesh.Trimesh]:
    """Four vertical closed cylinders from the floor to `top`, their axes `inset` in from a half_x x half_z rectangle."""
    ax, az = half_x - inset, half_z - inset
    return [cylinder((sx * ax, 0, sz * az), (sx * ax, top, sz * az), radius) for sx in (-1, 1) for sz in (-1, 1)]


def chair(rng: np.random.Generator) -> tuple[dict, list[tuple[str, trimesh.Trimesh]]]:
    p = {"W": _u(rng, 0.8, 1.2), "D": _u(rng, 0.8, 1.2), "Hs": _u(rng, 0.8, 1.1), "r": _u(rng, 0.04, 0.07),
         "Hb": _u(rng, 0.8, 1.2)}
    W, D, Hs, Hb = p["W"], p["D"], p["Hs"], p["Hb"]
    parts = [("seat", box((-W / 2, Hs - 0.1, -D / 2), (W / 2, Hs, D / 2)))]
    parts += [("leg", m) for m in legs(W / 2, D / 2, 0.1, p["r"], Hs - 0.1)]
    parts.append(("back", box((-W / 2, Hs, -D / 2), (W / 2, Hs + Hb, -D / 2 + 0.1))))
    return p, parts


def table(rng: np.random.Generator) -> tuple[dict, list[tuple[str, trimesh.Trimesh]]]:
    p = {"L": _u(rng, 1.6, 2.4), "D": _u(rng, 0.9, 1.4), "T": _u(rng, 0.06, 0.1), "Ht": _u(rng, 0.9, 1.2),
         "r": _u(rng, 0.05, 0.08)}
    L, D, T, Ht = p["L"], p["D"], p["T"], p["Ht"]
    parts = [("top", box((-L / 2, Ht - T, -D / 2), (L / 2, Ht, D / 2)))]
    parts += [("leg", m) for m in legs(L / 2, D / 2, 0.1, p["r"], Ht - T)]
    return p, parts


def lamp(rng: np.random.Generator) -> tuple[dict, list[tuple[str, trimesh.Trimesh]]]:
    p = {"rb": _u(rng, 0.3, 0.5), "rp": _u(rng, 0.03, 0.05), "Hp": _u(rng, 1.2, 1.8), "r_bottom": _u(rng, 0.35, 0.5),
         "r_top": _u(rng, 0.12, 0.2), "h": _u(rng, 0.35, 0.5)}
    Hp, h = p["Hp"], p["h"]
    parts = [
        ("base", cylinder((0, 0, 0), (0, 0.08, 0), p["rb"])),
        ("pole", cylinder((0, 0, 0), (0, Hp, 0), p["rp"])),
        ("shade", frustum_side(p["r_bottom"], p["r_top"], Hp - h, Hp)),
    ]
    return p, parts


def mug(rng: np.random.Generator) -> tuple[dict, list[tuple[str, trimesh.Trimesh]]]:
    p = {"R": _u(rng, 0.4, 0.55), "H": _u(rng, 0.8, 1.2), "major": _u(rng, 0.22, 0.3), "minor": _u(rng, 0.05, 0.07)}
    R, H = p["R"], p["H"]
    parts = [
        ("side", frustum_side(R, R, 0.0, H)),
        ("bottom", disc(R, 0.0)),
        ("handle", torus_xy((R, H / 2, 0.0), p["major"], p["minor"])),
    ]
    return p, parts


def airplane(rng: np.random.Generator) -> tuple[dict, list[tuple[str, trimesh.Trimesh]]]:
    p = {"Lf": _u(rng, 2.0, 2.6), "Rf": _u(rng, 0.12, 0.18), "Ln": _u(rng, 0.3, 0.5), "cw": _u(rng, 0.35, 0.5),
         "span": _u(rng, 1.8, 2.6), "xw": _u(rng, -0.1, 0.2), "ct": _u(rng, 0.2, 0.3), "span_t": _u(rng, 0.6, 0.9),
         "hf": _u(rng, 0.3, 0.5)}
    Lf, Rf, cw, ct, hf = p["Lf"], p["Rf"], p["cw"], p["ct"], p["hf"]
    xw = p["xw"] * Lf
    parts = [
        ("fuselage", cylinder((-Lf / 2, 1, 0), (Lf / 2, 1, 0), Rf)),
        ("nose", cone_x(Lf / 2, p["Ln"], Rf, 1.0)),
        ("wings", box((xw - cw / 2, 0.98, -p["span"] / 2), (xw + cw / 2, 1.02, p["span"] / 2))),
        ("tailplane", box((-Lf / 2, 0.98, -p["span_t"] / 2), (-Lf / 2 + ct, 1.02, p["span_t"] / 2))),
        ("fin", box((-Lf / 2, 1 + Rf, -0.02), (-Lf / 2 + 0.25, 1 + Rf + hf, 0.02))),
    ]
    return p, parts


BUILDERS = {"chair": chair, "table": table, "lamp": lamp, "mug": mug, "airplane": airplane}


def normalise(mesh: trimesh.Trimesh) -> tuple[trimesh.Trimesh, np.ndarray, float]:
    """Centre at the bounding box's centre, scale so the farthest surface point (a vertex) lies at distance 1."""
    center = mesh.bounds.mean(0)
    v = mesh.vertices - center
    scale = 1.0 / float(np.linalg.norm(v, axis=1).max())
    return trimesh.Trimesh(v * scale, mesh.faces, process=False), center, scale


def normalise_points(points: np.ndarray) -> np.ndarray:
    """A cloud (N, 3) centred at its bounding box's centre and scaled so its farthest point lies at distance 1."""
    p = np.asarray(points, dtype=np.float32)
    p = p - (p.min(0) + p.max(0)) / 2
    return p / max(1e-9, float(np.linalg.norm(p, axis=1).max()))


def check_category(category: str) -> str:
    if category not in BUILDERS:
        raise ValueError(f"unknown category {category!r}; choose one of {', '.join(CATEGORIES)}")
    return category


def make_shape(category: str, rng: np.random.Generator) -> Shape:
    """Draw one object of a category with rng: its parameters, parts and normalised mesh."""
    params, parts = BUILDERS[check_category(category)](rng)
    mesh = trimesh.util.concatenate([m for _, m in parts])
    labels = tuple(name for name, m in parts for _ in range(len(m.faces)))
    mesh, center, scale = normalise(mesh)
    return Shape(category, {**params, "scale": scale, "cx": center[0], "cy": center[1], "cz": center[2]}, mesh, labels)


def shape_rng(category: str, seed: int) -> np.random.Generator:
    """The generator of a category's shapes for a seed (each category its own stream)."""
    return np.random.default_rng([int(seed), CATEGORIES.index(check_category(category))])


def shapes(category: str, n: int, seed: int = 0) -> list[Shape]:
    """n objects of a category, the same for the same seed."""
    rng = shape_rng(category, seed)
    return [make_shape(category, rng) for _ in range(n)]


def point_clouds(category: str, n: int, seed: int = 0, n_points: int = N_POINTS) -> np.ndarray:
    """n point clouds of a category: (n, n_points, 3) float32, uniform by area, deterministic by seed."""
    rng = shape_rng(category, seed)
    return np.stack([sample_surface(make_shape(category, rng).mesh, n_points, rng) for _ in range(n)])
