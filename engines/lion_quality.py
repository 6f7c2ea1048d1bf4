"""`python -m engines.lion_quality`: LION's quality table per category, as the issue asks and LION reports it.

For each category, 128 clouds against 128 fresh shapes of the spec (seed 1, never trained on): 1-NNA-CD (50% is
ideal; LION's ShapeNet airplane: 67.41%), COV-CD and MMD-CD, and the share that an independent nearest-neighbour
recogniser (Chamfer-nearest of 64 fresh shapes per category, seed 2) assigns to the asked category; for LION's
samples, the VAE's reconstructions of fresh shapes (seed 3: the ceiling), the training set (the oracle) and, when
shipped, the point-space DDPM baseline. Then the meshes: the share that is one closed surface, and how far it lies
from its cloud.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from . import lion
from .core import checkpoint
from .core.mesh import points_mesh, surface_report
from .data import shapes3d
from .lion_train import BASELINE, TRAIN_SEED
from .point_metrics import generation_report, nearest_category, pairwise_chamfer

REF_SEED, RECOGNISER_SEED, RECON_SEED = 1, 2, 3
RECOGNISER_POINTS = 512  # the recogniser compares clouds subsampled to this many points (16x cheaper)


def subsample(x: torch.Tensor, n: int, seed: int = 0) -> torch.Tensor:
    """The same random n of every cloud's points: (K, N, 3) -> (K, n, 3)."""
    idx = torch.randperm(x.shape[1], generator=torch.Generator().manual_seed(seed))[:n]
    return x[:, idx]


def clouds(category: str, n: int, seed: int) -> torch.Tensor:
    return torch.from_numpy(shapes3d.point_clouds(category, n, seed))


def lion_samples(category: str, n: int, seed: int = 0, steps: int = 25, batch: int = 16) -> torch.Tensor:
    """n LION samples of a category, DDIM `steps` per prior, in batches."""
    out = [lion.final_shapes(lion.sample(category, min(batch, n - i), steps, seed + i)).points
           for i in range(0, n, batch)]
    return torch.cat(out)


@torch.no_grad()
def reconstructions(category: str, n: int) -> torch.Tensor:
    """The VAE's reconstructions Dec(mu_h, mu_z) of n fresh shapes: what the latent model could at best produce."""
    model = lion.load()
    x = clouds(category, n, RECON_SEED)
    out = []
    for i in range(0, n, 32):
        mu_z, _ = model.vae.encode_global(x[i : i + 32])
        mu_h, _ = model.vae.encode_local(x[i : i + 32], mu_z)
        out.append(model.vae.decode(mu_h, mu_z))
    return torch.cat(out)


@torch.no_grad()
def baseline_samples(category: str, n: int, seed: int = 0, steps: int = 25, batch: int = 16) -> torch.Tensor:
    """n samples of the point-space DDPM baseline (category-conditional, guidance as LION's DDM_z)."""
    from .core.guidance import classifier_free
    from .core.precision import fast
    from .core.recipe import Recipe
    from .core.samplers import Denoiser, final, sample_loop

    net, meta = checkpoint.load(BASELINE)
    f = fast(net)
    recipe = Recipe(**meta["diffusion"])
    d = classifier_free(Denoiser(lambda x, t, y: f(x, t, y=y), recipe.parameterization, clip=None),
                        lion.null_category, lion.GUIDANCE)
    cat = shapes3d.CATEGORIES.index(category)
    out = []
    for i in range(0, n, batch):
        b = min(batch, n - i)
        gen = torch.Generator().manual_seed(seed + i)
        x_T = torch.randn((b, shapes3d.N_POINTS, 3), generator=gen)
        y = torch.full((b,), cat, dtype=torch.long)
        out.append(final(sample_loop("ddim", d, x_T, recipe.make_schedule(), steps, cond=y)).x)
    return torch.cat(out)


def mesh_stats(points: torch.Tensor) -> dict[str, float]:
    """Over a batch of clouds: the share of meshes that are one closed surface, watertight, their mean number of
    parts, the mean Chamfer distance (x 1e3) of mesh to cloud, and the mean seconds per mesh."""
    reps, secs = [], []
    for p in points.numpy():
        t0 = time.perf_counter()
        m = points_mesh(p)
        secs.append(time.perf_counter() - t0)
        reps.append(surface_report(m, p))
    return {"closed single %": round(100 * np.mean([r["closed_single"] for r in reps]), 1),
            "watertight %": round(100 * np.mean([r["watertight"] for r in reps]), 1),
            "parts": round(float(np.mean([r["components"] for r in reps])), 2),
            "mesh-cloud CD x1e3": round(1e3 * float(np.mean([r["cd"] for r in reps])), 3),
            "seconds": round(float(np.mean(secs)), 3)}


SOURCES = {"lion": "LION", "ceiling": "VAE reconstructions (ceiling)", "oracle": "training set (oracle)",
           "baseline": "point-space DDPM"}


def report(n: int = 128, steps: int = 25, meshes: int = 16, sources: tuple[str, ...] | None = None) -> dict:
    """The whole table: per category and per source, the generation metrics and the recogniser's accuracy; the
    meshes of LION's first `meshes` samples. sources: keys of SOURCES (default: all, the baseline when shipped)."""
    if sources is None:
        sources = tuple(k for k in SOURCES if k != "baseline" or checkpoint.available(BASELINE))
    make = {"lion": lambda c: lion_samples(c, n, steps=steps), "ceiling": lambda c: reconstructions(c, n),
            "oracle": lambda c: clouds(c, n, TRAIN_SEED), "baseline": lambda c: baseline_samples(c, n, steps=steps)}
    recogniser = {c: subsample(clouds(c, 64, RECOGNISER_SEED), RECOGNISER_POINTS) for c in shapes3d.CATEGORIES}
    table: dict[str, dict] = {}
    for c in shapes3d.CATEGORIES:
        ref = clouds(c, n, REF_SEED)
        d_rr = pairwise_chamfer(ref)  # shared by every source
        table[c] = {}
        for key in sources:
            t0 = time.perf_counter()
            gen = make[key](c)
            rep = generation_report(gen, ref, d_rr)
            named = nearest_category(subsample(gen, RECOGNISER_POINTS), recogniser)
            rep["recognised %"] = round(100 * float(np.mean([k == c for k in named])), 1)
            table[c][SOURCES[key]] = rep
            print(c, SOURCES[key], rep, f"{time.perf_counter() - t0:.0f} s", flush=True)
            if key == "lion" and meshes:
                table[c]["LION meshes"] = mesh_stats(gen[:meshes])
                print(c, "meshes", table[c]["LION meshes"], flush=True)
    return table


def markdown(table: dict) -> str:
    """The table as markdown, one row per category and source."""
    lines = ["| category | source | 1-NNA-CD % | COV-CD % | MMD-CD x1e3 | recognised % |", "|---|---|---|---|---|---|"]
    for c, rows in table.items():
        for name, r in rows.items():
            if "1-NNA-CD %" in r:
                lines.append(f"| {c} | {name} | {r['1-NNA-CD %']} | {r['COV-CD %']} | {r['MMD-CD x1e3']} | "
                             f"{r['recognised %']} |")
    lines += ["", "| category | closed single surface % | watertight % | parts | mesh-cloud CD x1e3 | s per mesh |",
              "|---|---|---|---|---|---|"]
    for c, rows in table.items():
        if "LION meshes" not in rows:
            continue
        m = rows["LION meshes"]
        lines.append(f"| {c} | {m['closed single %']} | {m['watertight %']} | {m['parts']} | "
                     f"{m['mesh-cloud CD x1e3']} | {m['seconds']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m engines.lion_quality", description=__doc__)
    p.add_argument("--n", type=int, default=128, help="generated and reference clouds per category")
    p.add_argument("--steps", type=int, default=25)
    p.add_argument("--meshes", type=int, default=16, help="samples per category turned into meshes")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--sources", default=None, help=f"comma-separated, of {','.join(SOURCES)} (default: all)")
    p.add_argument("--json", default=None, help="also write the table here")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    table = report(a.n, a.steps, a.meshes, tuple(a.sources.split(",")) if a.sources else None)
    print(markdown(table))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(table, f, indent=2)


if __name__ == "__main__":
    main()
