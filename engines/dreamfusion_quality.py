"""`python -m engines.dreamfusion_quality`: DreamFusion's bars, measured on the GLB it writes.

For each prompt "a <colour> <object>": generate, mesh, then judge the mesh:
- colour: eight unlit views of the GLB (azimuth 0-315, elevation 20); a view is right when the median colour of
  the object's pixels is nearest the asked palette colour;
- shape, from the 3-D geometry: 2,048 points on the mesh, normalised as DESIGN.md (bounding-box centre, farthest
  point at 1), against each of the five objects (and every rotation of the cube about y in 5-degree steps) by
  symmetric Chamfer distance; the nearest names the shape;
- a real solid: the mesh's thinnest bounding-box side at least 0.3 of its largest (no flat card), and the pieces
  other than the largest under 10% of the marching-cubes surface (no floaters) before cleaning.
Also the guidance sweep (colour and shape accuracy, saturation) and the Janus test on a cube with a marked front."""

from __future__ import annotations

import argparse
import json
import time
from functools import lru_cache

import numpy as np
import torch
import trimesh
from scipy.spatial import cKDTree

from .data.judge import nearest_colour
from .data.objects3d import OBJECTS, sdf
from .data.shapes import COLOURS

CUBE_ROTATIONS = tuple(range(0, 90, 5))
N_POINTS = 2048


@lru_cache(maxsize=None)
def reference_points(kind: str, rotation: float = 0.0, n: int = N_POINTS) -> np.ndarray:
    """n points on the surface of a normalised object (marching cubes of its SDF on a 64^3 grid)."""
    from skimage.measure import marching_cubes

    a = torch.linspace(-1.1, 1.1, 64)
    p = torch.stack(torch.meshgrid(a, a, a, indexing="ij"), -1)
    d = sdf(kind, p, rotation).numpy()
    v, f, _, _ = marching_cubes(d, 0.0)
    m = trimesh.Trimesh(v * (2.2 / 63) - 1.1, f)
    pts, _ = trimesh.sample.sample_surface(m, n, seed=0)
    return np.asarray(pts, dtype=np.float32)


def normalised_points(mesh: trimesh.Trimesh, n: int = N_POINTS) -> np.ndarray:
    pts, _ = trimesh.sample.sample_surface(mesh, n, seed=0)
    pts = np.asarray(pts, dtype=np.float32)
    pts = pts - (pts.min(0) + pts.max(0)) / 2
    return pts / max(1e-9, float(np.linalg.norm(pts, axis=1).max()))


def chamfer(a: np.ndarray, b: np.ndarray) -> float:
    return float(cKDTree(b).query(a)[0].mean() + cKDTree(a).query(b)[0].mean())


def shape_of(mesh: trimesh.Trimesh) -> tuple[str, dict[str, float]]:
    """The object whose surface lies nearest the mesh's (Chamfer), and every object's distance."""
    pts = normalised_points(mesh)
    dist = {}
    for kind in OBJECTS:
        rotations = CUBE_ROTATIONS if kind == "cube" else (0,)
        dist[kind] = min(chamfer(pts, reference_points(kind, float(r))) for r in rotations)
    return min(dist, key=dist.get), dist


def object_pixels(view: np.ndarray, background=(0.85, 0.85, 0.85)) -> np.ndarray:
    """The pixels (K, 3) of an unlit view (0-255) that are not the background."""
    flat = view.reshape(-1, 3).astype(np.float32)
    bg = np.array(background, dtype=np.float32) * 255
    return flat[np.abs(flat - bg).max(1) > 3]


def colours_of(mesh: trimesh.Trimesh) -> tuple[list[str], float]:
    """Each of the eight unlit views' colour name (median of its object pixels; 'none' if it shows nothing), and
    the mean HSV saturation of the object's pixels."""
    from .dreamfusion_mesh import splat, view_cameras

    names, sats = [], []
    for v in splat(mesh, view_cameras(64), 60_000, lit=False):
        px = object_pixels(v)
        if len(px) < 10:
            names.append("none")
            continue
        names.append(nearest_colour(np.median(px, 0)))
        mx, mn = px.max(1), px.min(1)
        sats.append(float(np.mean((mx - mn) / np.maximum(mx, 1))))
    return names, float(np.mean(sats)) if sats else 0.0


def is_solid(mesh: trimesh.Trimesh, floaters: float) -> tuple[float, bool]:
    """(thinnest / largest bounding-box side, a real solid): not a flat card (that ratio at least 0.3) and no
    floaters (under 10% of the surface outside the largest piece)."""
    ext = np.sort(mesh.extents)
    ratio = float(ext[0] / ext[-1])
    return ratio, ratio >= 0.3 and floaters < 0.1


def judge(prompt: str, iters: int, guidance: float, seed: int, view_prompts: bool = True) -> dict:
    """One prompt's result, judged."""
    from . import dreamfusion as df
    from .dreamfusion_mesh import mesh_of

    t0 = time.perf_counter()
    res = df.final_result(df.generate(prompt, iters, guidance, seed, "mix", view_prompts))
    seconds = time.perf_counter() - t0
    _, colour, kind = df.parse(prompt)
    try:
        m = mesh_of(res.sigma, res.albedo, bound=df.BOUND)
    except ValueError:
        return {"prompt": prompt, "seconds": seconds, "empty": True, "colour_views": 0.0, "shape": "none",
                "shape_right": False, "solid": False, "floaters": 1.0, "saturation": 0.0}
    names, saturation = colours_of(m.mesh)
    shape, dist = shape_of(m.mesh)
    thinness, solid = is_solid(m.mesh, m.floaters)
    return {"prompt": prompt, "seconds": round(seconds, 1), "empty": False,
            "colour_views": sum(n == colour for n in names) / len(names), "views": names, "shape": shape,
            "shape_right": shape == kind, "chamfer": {k: round(v, 4) for k, v in dist.items()},
            "thinness": round(thinness, 3), "floaters": round(m.floaters, 4), "solid": solid,
            "saturation": round(saturation, 3)}


def prompts(n_colours: int | None = None) -> list[str]:
    colours = list(COLOURS)[:n_colours] if n_colours else list(COLOURS)
    return [f"a {c} {k}" for k in OBJECTS for c in colours]


def summary(rows: list[dict]) -> dict:
    kinds = list(OBJECTS) + ["none"]
    confusion = {k: {j: 0 for j in kinds} for k in OBJECTS}
    for r in rows:
        confusion[r["prompt"].split()[-1]][r["shape"]] += 1
    return {"prompts": len(rows), "colour_views": round(float(np.mean([r["colour_views"] for r in rows])), 4),
            "shape": round(float(np.mean([r["shape_right"] for r in rows])), 4),
            "solid": round(float(np.mean([r["solid"] for r in rows])), 4),
            "saturation": round(float(np.mean([r["saturation"] for r in rows])), 3),
            "seconds": round(float(np.mean([r["seconds"] for r in rows])), 1), "confusion": confusion}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m engines.dreamfusion_quality", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--iters", type=int, default=None)
    p.add_argument("--guidance", type=float, nargs="+", default=None)
    p.add_argument("--colours", type=int, default=None, help="only the first N palette colours (a quicker sweep)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-view-prompts", action="store_true")
    p.add_argument("--out", default=None, help="write every row and the summary as JSON here")
    a = p.parse_args(argv)
    from . import dreamfusion as df

    iters = a.iters or df.ITERS
    report = {}
    for g in a.guidance or [df.GUIDANCE]:
        rows = [judge(q, iters, g, a.seed + i, not a.no_view_prompts) for i, q in enumerate(prompts(a.colours))]
        for r in rows:
            print(json.dumps({k: r[k] for k in ("prompt", "colour_views", "shape", "solid", "floaters", "seconds")}), flush=True)
        report[str(g)] = {"summary": summary(rows), "rows": rows}
        print(f"guidance {g:g}: {json.dumps(report[str(g)]['summary'])}", flush=True)
    if a.out:
        with open(a.out, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
