"""`python -m engines.dreamfusion_quality`: DreamFusion's bars, measured on the GLB it writes.

For each prompt "a <colour> <object>": generate, mesh, then judge the mesh:
- colour: eight unlit views of the GLB (azimuth 0-315, elevation 20); a view is right when the median colour of
  the object's pixels is nearest the asked palette colour;
- shape, from the 3-D geometry: the mesh normalised as DESIGN.md (bounding-box centre, farthest point at 1), its
  visual hull carved from ten silhouettes (eight around, one above, one below) on a 40^3 grid, against the five
  true objects' hulls (the cube at every rotation about y in 5-degree steps) by intersection over union; the
  largest names the shape. (Chamfer distances on surface points were misled by tunnels inside SDS's solids: a
  ball's mesh had 48 of area for a volume of 2.3);
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
from scipy import ndimage

from .data.judge import nearest_colour
from .data.objects3d import OBJECTS, sdf
from .data.shapes import COLOURS

CUBE_ROTATIONS = tuple(range(0, 90, 5))


HULL_RES, HULL_SIZE = 40, 96  # the visual hull's grid and the silhouettes' size


def hull_cameras() -> list:
    """Eight cameras around (elevation 20), one above and one below: the silhouettes a visual hull is carved from."""
    from .core.volume import Camera
    from .dreamfusion_train import FOV, RADIUS

    return [Camera(float(a), 20.0, RADIUS, FOV, HULL_SIZE) for a in range(0, 360, 45)] + [
        Camera(0.0, 90.0, RADIUS, FOV, HULL_SIZE), Camera(0.0, -89.0, RADIUS, FOV, HULL_SIZE)]


def normalised(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    """The mesh centred at its bounding box's centre, its farthest vertex at distance 1 (DESIGN.md)."""
    m = mesh.copy()
    m.apply_translation(-m.bounds.mean(0))
    m.apply_scale(1.0 / float(np.linalg.norm(m.vertices, axis=1).max()))
    return m


def visual_hull(mesh: trimesh.Trimesh) -> np.ndarray:
    """(HULL_RES^3,) bool: the grid nodes over [-1.1, 1.1]^3 inside every silhouette of the normalised mesh. What
    the cameras see of the solid's outside, so tunnels and pockets inside the object do not count."""
    from .dreamfusion_mesh import splat

    m = normalised(mesh)
    a = np.linspace(-1.1, 1.1, HULL_RES)
    pts = np.stack(np.meshgrid(a, a, a, indexing="ij"), -1).reshape(-1, 3)
    inside = np.ones(len(pts), dtype=bool)
    cams = hull_cameras()
    for cam, view in zip(cams, splat(m, cams, 200_000, background=(0.0, 1.0, 0.0), lit=False)):
        sil = np.abs(view.astype(np.int16) - np.array([0, 255, 0])).max(-1) > 3  # (size, size)
        sil = ndimage.binary_closing(sil, iterations=1)
        eye, right, up, forward = (v.numpy().astype(np.float64) for v in cam.basis())
        half = np.tan(np.radians(cam.fov) / 2)
        rel = pts - eye
        z = rel @ forward
        col = np.clip(((rel @ right / (z * half) + 1) / 2 * cam.size).astype(int), 0, cam.size - 1)
        row = np.clip(((1 - rel @ up / (z * half)) / 2 * cam.size).astype(int), 0, cam.size - 1)
        inside &= sil[row, col]
    return inside


@lru_cache(maxsize=None)
def reference_hull(kind: str, rotation: float = 0.0) -> np.ndarray:
    """The visual hull of a true object (its SDF's marching-cubes mesh), through the same cameras."""
    from skimage.measure import marching_cubes

    g = torch.linspace(-1.1, 1.1, 64)
    d = sdf(kind, torch.stack(torch.meshgrid(g, g, g, indexing="ij"), -1), rotation).numpy()
    v, f, _, _ = marching_cubes(d, 0.0)
    colours = np.full((len(v), 4), 200, dtype=np.uint8)
    return visual_hull(trimesh.Trimesh(v * (2.2 / 63) - 1.1, f, vertex_colors=colours))


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def shape_of(mesh: trimesh.Trimesh) -> tuple[str, dict[str, float]]:
    """The object whose visual hull overlaps the mesh's most (intersection over union; the cube at every rotation
    about y in 5-degree steps), and every object's overlap."""
    hull = visual_hull(mesh)
    score = {}
    for kind in OBJECTS:
        rotations = CUBE_ROTATIONS if kind == "cube" else (0,)
        score[kind] = max(iou(hull, reference_hull(kind, float(r))) for r in rotations)
    return max(score, key=score.get), score


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
            "shape_right": shape == kind, "iou": {k: round(v, 4) for k, v in dist.items()},
            "thinness": round(thinness, 3), "floaters": round(m.floaters, 4), "solid": solid,
            "saturation": round(saturation, 3)}


JANUS_PROMPT = ("a red cube with a blue front", "red", "blue")
FRONT_VIEWS, BACK_VIEWS = (0, 1, 7), (3, 4, 5)  # azimuth 0, 45, 315 see the front (+z); 135, 180, 225 the back


def mark_shares(mesh: trimesh.Trimesh, mark: str) -> list[float]:
    """The share of the object's pixels nearest the mark's colour in each of the eight unlit views."""
    from .dreamfusion_mesh import splat, view_cameras

    shares = []
    for v in splat(mesh, view_cameras(64), 60_000, lit=False):
        px = object_pixels(v)
        shares.append(float(np.mean([nearest_colour(p) == mark for p in px])) if len(px) else 0.0)
    return shares


def janus(seeds: int, iters: int, guidance: float, view_prompts: bool) -> dict:
    """The Janus test: a cube with a marked front; a view is right when the mark shows (over 15% of the object's
    pixels) from the front views and does not from the back views."""
    from . import dreamfusion as df
    from .dreamfusion_mesh import mesh_of

    prompt, _, mark = JANUS_PROMPT
    right, both = [], 0
    for seed in range(seeds):
        res = df.final_result(df.generate(prompt, iters, guidance, seed, "mix", view_prompts))
        shares = mark_shares(mesh_of(res.sigma, res.albedo, bound=df.BOUND).mesh, mark)
        seen = [s > 0.15 for s in shares]
        right += [seen[i] for i in FRONT_VIEWS] + [not seen[i] for i in BACK_VIEWS]
        both += any(seen[i] for i in FRONT_VIEWS) and any(seen[i] for i in BACK_VIEWS)
    return {"view_prompts": view_prompts, "seeds": seeds, "right_views": round(float(np.mean(right)), 3),
            "mark_front_and_back": both}


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
    p.add_argument("--janus", type=int, default=0, metavar="SEEDS", help="the Janus test instead, with and without "
                   "view-dependent prompts")
    a = p.parse_args(argv)
    from . import dreamfusion as df

    if a.janus:
        for vp in (True, False):
            print(json.dumps(janus(a.janus, a.iters or df.ITERS, (a.guidance or [df.GUIDANCE])[0], vp)), flush=True)
        return

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
