"""LION's two training stages (Zeng et al. 2022): stage 1 the hierarchical point VAE, stage 2 the two latent DDMs on
the frozen VAE's latents (DDM_z on z0, conditioned on the category with classifier-free dropout; DDM_h on h0,
conditioned on z0), and the point-space DDPM baseline of the same size (Luo & Hu 2021-style, on raw points)."""

from __future__ import annotations

from dataclasses import asdict, replace
from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

from .core import checkpoint
from .core.nn import (
    PointDenoiser,
    PointDenoiserConfig,
    PointVAE,
    PointVAEConfig,
    VectorDenoiser,
    VectorDenoiserConfig,
)
from .core.recipe import Recipe
from .core.train import TrainConfig, Trainer
from .data import shapes3d

VAE, PRIOR_Z, PRIOR_H, BASELINE = "lion-vae", "lion-prior-z", "lion-prior-h", "lion-points-ddpm"
TRAIN_SHAPES = 2000  # per category, seed 0; fresh shapes for the quality checks come from other seeds
TRAIN_SEED = 0
SUBSET = 512  # points per shape through the per-point networks in training (exact: they see one point at a time)

VAE_NET = PointVAEConfig(dz=64, dh=1, width=128, enc_blocks=3, dec_blocks=4, log_sigma_offset=6.0)
VAE_TRAIN = TrainConfig(steps=6000, batch_size=16, lr=1e-3, warmup=200, ema_decay=0.999, save_every=250)
# KL weights annealed from KL_MIN over the first half of training (LION: 1e-7 to 0.5 over 50%), per point and per
# latent number. LION sums its L1 reconstruction over 2048 points; here every term is divided by the number of points,
# which keeps their ratio.
# Measured (1,500-step probes): with both KLs annealed together, the decoder learnt to pass the latent points through
# while sigma_h was still tiny, and z0 collapsed to the prior (KL_z 1 nat, no active number): a per-point decoder
# needs z0 only to denoise its point. So KL_h ramps up first (noise in h0 from early on) while KL_z is still small.
KL_MIN, KL_Z, KL_H = 1e-7, 0.5, 0.02
KL_ANNEAL_Z, KL_ANNEAL_H = 0.5, 0.1

# Stage 2: the project's fast recipe (v, cosine, Min-SNR-5; DESIGN.md) rather than LION's eps / linear.
DIFFUSION = Recipe()
P_UNCOND = 0.1
Z_NET = VectorDenoiserConfig(dim=VAE_NET.dz, width=256, blocks=4, emb_dim=128, num_classes=len(shapes3d.CATEGORIES))
H_NET = PointDenoiserConfig(channels=3 + VAE_NET.dh, width=128, blocks=4, emb_dim=128, cond_dim=VAE_NET.dz)
Z_TRAIN = TrainConfig(steps=8000, batch_size=256, lr=1e-3, warmup=200, ema_decay=0.999, save_every=500)
H_TRAIN = TrainConfig(steps=6000, batch_size=32, lr=1e-3, warmup=200, ema_decay=0.999, save_every=250)
# the baseline: a DDPM on the raw points, per-point network with a pooled set feature, about DDM_h's size
BASE_NET = PointDenoiserConfig(channels=3, width=128, blocks=4, emb_dim=128, cond_dim=0,
                               num_classes=len(shapes3d.CATEGORIES), pooled=True)
BASE_TRAIN = TrainConfig(steps=6000, batch_size=32, lr=1e-3, warmup=200, ema_decay=0.999, save_every=250)


@lru_cache(maxsize=1)
def training_set() -> tuple[Tensor, Tensor]:
    """Every category's TRAIN_SHAPES clouds of seed 0 and their category indices: (M, 2048, 3), (M,)."""
    clouds = [shapes3d.point_clouds(c, TRAIN_SHAPES, TRAIN_SEED) for c in shapes3d.CATEGORIES]
    labels = np.repeat(np.arange(len(clouds)), TRAIN_SHAPES)
    return torch.from_numpy(np.concatenate(clouds)), torch.from_numpy(labels)


def _with_steps(cfg: TrainConfig, steps: int | None) -> TrainConfig:
    return cfg if steps is None else replace(cfg, steps=steps)


def kl_weight(step: int, total: int, w_max: float, portion: float) -> float:
    """LION's KL annealing: log-linear from KL_MIN to w_max over the first `portion` of training, then constant."""
    p = min(1.0, step / max(1.0, portion * total))
    return float(np.exp(np.log(KL_MIN) + p * (np.log(w_max) - np.log(KL_MIN))))


def gaussian_kl(mu: Tensor, log_sigma: Tensor) -> Tensor:
    """KL(N(mu, sigma^2) || N(0, 1)) per number: 0.5 (mu^2 + sigma^2 - 1) - log sigma."""
    return 0.5 * (mu**2 + torch.exp(2 * log_sigma) - 1) - log_sigma


def vae_terms(vae: PointVAE, x: Tensor, gen: torch.Generator, subset: int | None = SUBSET) -> dict[str, Tensor]:
    """LION's ELBO terms (Sec. 3.1) for a batch x (B, N, 3): per-point L1 reconstruction and the two KLs, each summed
    over its numbers and divided by N; the local networks see a random subset of the points."""
    B, N, _ = x.shape
    mu_z, ls_z = vae.encode_global(x)  # the global encoder sees the whole cloud
    z0 = mu_z + ls_z.exp() * torch.randn(mu_z.shape, generator=gen)
    if subset and subset < N:
        idx = torch.stack([torch.randperm(N, generator=gen)[:subset] for _ in range(B)])  # (B, subset)
        x = torch.gather(x, 1, idx[..., None].expand(-1, -1, 3))
    mu_h, ls_h = vae.encode_local(x, z0)
    h0 = mu_h + ls_h.exp() * torch.randn(mu_h.shape, generator=gen)
    x_hat = vae.decode(h0, z0)
    n = x.shape[1]
    return {
        "recon": (x_hat - x).abs().sum((1, 2)).mean() / n,
        "kl_z": gaussian_kl(mu_z, ls_z).sum(1).mean() / N,
        "kl_h": gaussian_kl(mu_h, ls_h).sum((1, 2)).mean() / n,
        "sigma_h": ls_h[..., :3].exp().mean().detach(),
    }


def make_vae_trainer(steps: int | None = None, device: str = "cpu") -> tuple[Trainer, dict]:
    """Stage 1: the point VAE on the training clouds of all five categories."""
    cfg = _with_steps(VAE_TRAIN, steps)
    clouds, _ = training_set()

    def batches(step: int, gen: torch.Generator):
        return clouds[torch.randint(0, len(clouds), (cfg.batch_size,), generator=gen)], step

    def loss_fn(model, batch, gen):
        x, step = batch
        t = vae_terms(model, x.to(device), gen)
        w_z, w_h = kl_weight(step, cfg.steps, KL_Z, KL_ANNEAL_Z), kl_weight(step, cfg.steps, KL_H, KL_ANNEAL_H)
        return t["recon"] + w_z * t["kl_z"] + w_h * t["kl_h"]

    torch.manual_seed(cfg.seed)
    meta = {
        "arch": "PointVAE",
        "config": VAE_NET.to_dict(),
        "kl": {"min": KL_MIN, "z": KL_Z, "h": KL_H, "anneal_z": KL_ANNEAL_Z, "anneal_h": KL_ANNEAL_H},
        "data": {"categories": list(shapes3d.CATEGORIES), "shapes_per_category": TRAIN_SHAPES, "seed": TRAIN_SEED,
                 "points": shapes3d.N_POINTS, "subset": SUBSET},
    }
    return Trainer(PointVAE(VAE_NET), loss_fn, batches, cfg, device), meta


def _vae_digest() -> str:
    """A digest of the shipped VAE's weights: encodings cached for one VAE are never used with another."""
    import hashlib

    return hashlib.sha1((checkpoint.WEIGHTS_DIR / f"{VAE}.safetensors").read_bytes()).hexdigest()[:16]


def encode_training_set(batch: int = 64) -> dict[str, Tensor]:
    """The frozen VAE's posteriors of every training cloud, encoded once (LION's stage 2) and cached in
    runs/lion-latents/ for this VAE (about 7 minutes on one thread): mu / sigma of z0 (M, dz) and of h0
    (M, N, 3 + dh), and the labels."""
    from .core.train import RUNS_DIR

    cache = RUNS_DIR / "lion-latents" / f"{_vae_digest()}.pt"
    if cache.exists():
        return torch.load(cache)
    enc = _encode(batch)
    cache.parent.mkdir(parents=True, exist_ok=True)
    torch.save(enc, cache.with_suffix(".tmp"))
    cache.with_suffix(".tmp").replace(cache)
    return enc


@torch.no_grad()
def _encode(batch: int) -> dict[str, Tensor]:
    vae, _ = checkpoint.load(VAE)
    clouds, labels = training_set()
    out: dict[str, list[Tensor]] = {"mu_z": [], "sigma_z": [], "mu_h": [], "sigma_h": []}
    for i in range(0, len(clouds), batch):
        x = clouds[i : i + batch]
        mu_z, ls_z = vae.encode_global(x)
        mu_h, ls_h = vae.encode_local(x, mu_z)
        for k, v in (("mu_z", mu_z), ("sigma_z", ls_z.exp()), ("mu_h", mu_h), ("sigma_h", ls_h.exp())):
            out[k].append(v)
    enc = {k: torch.cat(v) for k, v in out.items()}
    enc["labels"] = labels
    return enc


def latent_stats(enc: dict[str, Tensor]) -> dict[str, list[float]]:
    """Per-number mean and std of z0 and of h0's channels as the priors see them (drawn from the posteriors, so the
    variance is the means' spread plus the posterior variance) over the training set: the priors diffuse
    standardised latents (as Latent Diffusion scales its latents), and the stats travel in their JSON. Measured: with
    the means' std alone, h0's unused feature channel (posterior mean ~0, sigma ~1) was scaled up 300x."""
    out = {}
    for key in ("z", "h"):
        mu, sd = enc[f"mu_{key}"], enc[f"sigma_{key}"]
        mu, sd = mu.reshape(-1, mu.shape[-1]), sd.reshape(-1, sd.shape[-1])
        out[f"{key}_mean"] = mu.mean(0).tolist()
        out[f"{key}_std"] = (mu.var(0) + (sd**2).mean(0)).sqrt().clamp(min=1e-3).tolist()
    return out


def _standardise(stats: dict, key: str, v: Tensor) -> Tensor:
    return (v - torch.tensor(stats[f"{key}_mean"])) / torch.tensor(stats[f"{key}_std"])


def make_prior_trainer(name: str, steps: int | None = None, device: str = "cpu") -> tuple[Trainer, dict]:
    """Stage 2: DDM_z (category-conditional, label dropped with P_UNCOND) or DDM_h (conditioned on z0) on latents
    drawn from the frozen VAE's posteriors of the training set."""
    enc = encode_training_set()
    stats = latent_stats(enc)
    schedule = DIFFUSION.make_schedule()
    vae_meta = checkpoint.read_meta(VAE)
    base_meta = {"diffusion": DIFFUSION.to_dict(), "stats": stats, "vae": VAE,
                 "vae_steps": vae_meta.get("training", {}).get("steps_done"),
                 "categories": list(shapes3d.CATEGORIES), "p_uncond": P_UNCOND}
    M = len(enc["labels"])

    def draw_z(idx: Tensor, gen: torch.Generator) -> Tensor:
        z = enc["mu_z"][idx] + enc["sigma_z"][idx] * torch.randn(enc["mu_z"][idx].shape, generator=gen)
        return _standardise(stats, "z", z)

    if name == PRIOR_Z:
        cfg, net = _with_steps(Z_TRAIN, steps), Z_NET

        def batches(step: int, gen: torch.Generator):
            idx = torch.randint(0, M, (cfg.batch_size,), generator=gen)
            return draw_z(idx, gen), enc["labels"][idx]

        def loss_fn(model, batch, gen):
            z, y = batch
            drop = torch.rand(y.shape[0], generator=gen) < P_UNCOND
            y = torch.where(drop, torch.full_like(y, net.num_classes), y)
            return DIFFUSION.loss_fn(model, z.to(device), schedule, gen, y=y.to(device))

        torch.manual_seed(cfg.seed)
        meta = {"arch": "VectorDenoiser", "config": net.to_dict(), **base_meta}
        return Trainer(VectorDenoiser(net), loss_fn, batches, cfg, device), meta
    if name == PRIOR_H:
        cfg, net = _with_steps(H_TRAIN, steps), H_NET
        N = enc["mu_h"].shape[1]

        def batches(step: int, gen: torch.Generator):
            idx = torch.randint(0, M, (cfg.batch_size,), generator=gen)
            pts = torch.stack([torch.randperm(N, generator=gen)[:SUBSET] for _ in range(cfg.batch_size)])
            mu, sd = enc["mu_h"][idx], enc["sigma_h"][idx]  # (B, N, C)
            take = pts[..., None].expand(-1, -1, mu.shape[-1])
            h = torch.gather(mu, 1, take) + torch.gather(sd, 1, take) * torch.randn(take.shape, generator=gen)
            return _standardise(stats, "h", h), draw_z(idx, gen)

        def loss_fn(model, batch, gen):
            h, z = batch
            return DIFFUSION.loss_fn(model, h.to(device), schedule, gen, z=z.to(device))

        torch.manual_seed(cfg.seed)
        meta = {"arch": "PointDenoiser", "config": net.to_dict(), **base_meta}
        return Trainer(PointDenoiser(net), loss_fn, batches, cfg, device), meta
    raise ValueError(f"unknown LION prior {name!r}")


def make_baseline_trainer(steps: int | None = None, device: str = "cpu") -> tuple[Trainer, dict]:
    """The point-space DDPM of LION's comparison: category-conditional, on the raw points of the same clouds (all
    2048: its pooled feature needs the whole set)."""
    cfg, net = _with_steps(BASE_TRAIN, steps), BASE_NET
    clouds, labels = training_set()
    schedule = DIFFUSION.make_schedule()

    def batches(step: int, gen: torch.Generator):
        idx = torch.randint(0, len(clouds), (cfg.batch_size,), generator=gen)
        return clouds[idx], labels[idx]

    def loss_fn(model, batch, gen):
        x, y = batch
        drop = torch.rand(y.shape[0], generator=gen) < P_UNCOND
        y = torch.where(drop, torch.full_like(y, net.num_classes), y)
        return DIFFUSION.loss_fn(model, x.to(device), schedule, gen, y=y.to(device))

    torch.manual_seed(cfg.seed)
    meta = {"arch": "PointDenoiser", "config": net.to_dict(), "diffusion": DIFFUSION.to_dict(),
            "categories": list(shapes3d.CATEGORIES), "p_uncond": P_UNCOND, "training_sizes": asdict(cfg)}
    return Trainer(PointDenoiser(net), loss_fn, batches, cfg, device), meta


@torch.no_grad()
def vae_report(vae: PointVAE, per_category: int = 8, seed: int = 1) -> dict[str, float]:
    """Held-out reconstruction: mean Chamfer distance (x 1e3) of Dec(mu_h, mu_z) to fresh clouds of every category,
    against the distance between two independent samplings of the same surfaces (the floor), and sigma_h."""
    from .point_metrics import chamfer

    rng = np.random.default_rng(seed)
    xs, again = [], []
    for c in shapes3d.CATEGORIES:
        for s in shapes3d.shapes(c, per_category, seed):
            xs.append(shapes3d.sample_surface(s.mesh, shapes3d.N_POINTS, rng))
            again.append(shapes3d.sample_surface(s.mesh, shapes3d.N_POINTS, rng))
    x, x2 = torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(again))
    vae = vae.eval()
    mu_z, _ = vae.encode_global(x)
    mu_h, ls_h = vae.encode_local(x, mu_z)
    recon = vae.decode(mu_h, mu_z)
    g = torch.Generator().manual_seed(seed)
    sampled = vae.decode(mu_h + ls_h.exp() * torch.randn(mu_h.shape, generator=g), mu_z)
    return {"recon_cd_x1e3": round(1e3 * float(chamfer(recon, x).mean()), 3),
            "sampled_h_cd_x1e3": round(1e3 * float(chamfer(sampled, x).mean()), 3),
            "floor_cd_x1e3": round(1e3 * float(chamfer(x2, x).mean()), 3),
            "sigma_h_xyz": round(float(ls_h[..., :3].exp().mean()), 4)}
