"""Latent Diffusion (Rombach et al. 2022): a KL-regularised autoencoder compresses 64x64x3 shapes images to
16x16x4 latents (scaled to unit variance), and a text-conditional UNet with cross-attention on the frozen text
encoder's tokens denoises in that latent space; the decoder turns the result back into pixels."""

from __future__ import annotations

import time
from dataclasses import asdict
from functools import lru_cache
from typing import Iterator

import torch
from torch import Tensor

from . import checks
from .core import checkpoint, text
from .core.guidance import classifier_free
from .core.nn import Autoencoder, AutoencoderConfig, UNet2D, UNetConfig
from .core.nn.autoencoder import kl_to_standard_normal, reconstruction_loss
from .core.recipe import FAST, load_denoiser
from .core.samplers import SAMPLERS, Step, sample_loop
from .core.train import TrainConfig, Trainer
from .data.captions import CACHE_DIR, captioned, cond_for, drop_text, embed_all, null_text, prompt_cond

AE, LDM = "ldm-autoencoder", "ldm-text"
SIZE, N_TRAIN, MAX_BATCH = 64, 20000, 16
P_UNCOND = 0.1
KL_WEIGHT = 1e-6  # the paper's kl_weight
AE_NET = AutoencoderConfig(3, 4, 32, (1, 2, 2), 1)  # f = 4: 64x64x3 -> 16x16x4
AE_TRAIN = TrainConfig(steps=3000, batch_size=32, lr=1e-3, warmup=100, ema_decay=0.999, save_every=250)
AE_CROP = 32  # the autoencoder is convolutional: it trains on 32x32 crops (4x cheaper) and runs on 64x64
DIFFUSION = FAST
# 32 base channels: measured 0.51 s a training step (batch 64, 1 thread) against 0.95 s with 48, and the sampling
# bench (four images in < 3 s) needs the cheaper net too
NET = UNetConfig(4, 4, 32, (1, 2, 2), 1, (1, 2), context_dim=text.DIM)
# default guidance; 12 prompts x 8 images, 50 steps, colour / shape / position: at 3: 94.8 / 93.8 / 94.8%, at 5:
# 94.8 / 94.8 / 92.7%, at 7.5: 95.8 / 95.8 / 94.8% (and 99.0% on all three with other seeds)
SCALE = 7.5
LDM_TRAIN = TrainConfig(steps=8000, batch_size=64, lr=2e-3, warmup=200, ema_decay=0.999, save_every=250)


def _with_steps(cfg: TrainConfig, steps: int | None) -> TrainConfig:
    return cfg if steps is None else TrainConfig(**{**asdict(cfg), "steps": steps})


def _images() -> tuple[Tensor, Tensor, list[str]]:
    images, cap_idx, captions, _ = captioned(N_TRAIN, SIZE)
    return images, cap_idx, captions


def make_ae_trainer(steps: int | None = None, device: str = "cpu") -> tuple[Trainer, dict]:
    """Stage 1: reconstruction (L1 + L2) + 1e-6 KL to N(0, I), on random crops of the 64x64 images."""
    cfg = _with_steps(AE_TRAIN, steps)
    images, _, _ = _images()

    def batch_fn(step: int, gen: torch.Generator) -> Tensor:
        idx = torch.randint(0, images.shape[0], (cfg.batch_size,), generator=gen)
        y, x = (int(v) for v in torch.randint(0, SIZE - AE_CROP + 1, (2,), generator=gen))
        return images[idx, :, y : y + AE_CROP, x : x + AE_CROP].float() / 127.5 - 1  # (B, 3, 32, 32)

    def loss_fn(model, x, gen):
        x = x.to(device)
        x_hat, mean, logvar = model(x, gen)
        return reconstruction_loss(x_hat, x) + KL_WEIGHT * kl_to_standard_normal(mean, logvar)

    torch.manual_seed(cfg.seed)
    meta = {"arch": "Autoencoder", "config": AE_NET.to_dict(), "kl_weight": KL_WEIGHT, "size": SIZE}
    return Trainer(Autoencoder(AE_NET), loss_fn, batch_fn, cfg, device, channels_last=True), meta


@torch.no_grad()
def encode_dataset(ae: Autoencoder, images: Tensor, batch: int = 256) -> Tensor:
    """Posterior means of every training image, cached on disk: (N, 4, 16, 16) float16."""
    path = CACHE_DIR / f"latents-{images.shape[0]}-{hash_weights(ae)}.pt"
    if path.exists():
        return torch.load(path)
    z = torch.cat([ae.encode(images[i : i + batch].float() / 127.5 - 1)[0] for i in range(0, len(images), batch)])
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    torch.save(z.half(), path)
    return z.half()


def hash_weights(model: torch.nn.Module) -> str:
    return f"{sum(float(p.double().sum()) for p in model.parameters()):.6e}"


def make_ldm_trainer(steps: int | None = None, device: str = "cpu") -> tuple[Trainer, dict]:
    """Stage 2: a text-conditional UNet on z = scale_factor * E(x), scale_factor = 1 / std(z) (the paper's
    scale_by_std), with the caption dropped to the empty prompt 10% of the time for classifier-free guidance."""
    cfg = _with_steps(LDM_TRAIN, steps)
    ae, _ = checkpoint.load(AE)
    images, cap_idx, captions = _images()
    z = encode_dataset(ae, images)
    scale_factor = float(1 / z[:2048].float().std())
    emb = embed_all(captions)
    schedule = DIFFUSION.make_schedule()

    def batch_fn(step: int, gen: torch.Generator):
        idx = torch.randint(0, z.shape[0], (cfg.batch_size,), generator=gen)
        return z[idx].float() * scale_factor, cap_idx[idx]

    def loss_fn(model, batch, gen):
        z0, ci = batch
        c = drop_text(cond_for(emb, ci), gen, P_UNCOND)
        return DIFFUSION.loss_fn(
            model,
            z0.to(device),
            schedule,
            gen,
            context=c["context"].to(device),
            context_mask=c["context_mask"].to(device),
        )

    torch.manual_seed(cfg.seed)
    meta = {
        "arch": "UNet2D",
        "config": NET.to_dict(),
        "diffusion": DIFFUSION.to_dict(),
        "scale_factor": scale_factor,
        "autoencoder": AE,
        "p_uncond": P_UNCOND,
        "text_encoder": "all-MiniLM-L6-v2 (frozen)",
    }
    return Trainer(UNet2D(NET), loss_fn, batch_fn, cfg, device, channels_last=True), meta


@lru_cache(maxsize=1)
def _models():
    ae, _ = checkpoint.load(AE)
    model, meta = checkpoint.load(LDM)
    return ae, model, meta


def decode(z: Tensor) -> Tensor:
    """Latents (scaled) -> images in [-1, 1]: D(z / scale_factor)."""
    ae, _, meta = _models()
    return ae.decode(z / meta["scale_factor"]).clamp(-1, 1)


def generate(
    prompt: str, scale: float = SCALE, steps: int = 50, n: int = 4, seed: int = 0, sampler: str = "ddim"
) -> Iterator[Step]:
    """Yield every Step in latent space (x and x0 are (n, 4, 16, 16)); decode() the last x for the images."""
    from .imagen import check

    r = check(prompt, scale, steps, n, None, seed)
    sampler = checks.choice("sampler", sampler, SAMPLERS)
    base, schedule, _ = load_denoiser(LDM, lambda net, x, t, c: net(x, t, **c), clip=None)
    den = classifier_free(base, null_text, r.scale)
    n = r.n
    c = prompt_cond([r.prompt])
    cond = {"context": c["context"].expand(n, -1, -1), "context_mask": c["context_mask"].expand(n, -1)}
    gen = torch.Generator().manual_seed(r.seed)
    x = torch.randn(n, NET.in_channels, SIZE // 4, SIZE // 4, generator=gen)
    yield from sample_loop(sampler, den, x, schedule, r.steps, cond, generator=gen)


def timed_generation(prompt: str, steps: int, n: int, seed: int = 0) -> tuple[Tensor, float]:
    """(images, seconds) of a full latent generation, decoding included."""
    t0 = time.perf_counter()
    for s in generate(prompt, SCALE, steps, n, seed):
        pass
    with torch.inference_mode():
        x = decode(s.x)
    return x, time.perf_counter() - t0


def reconstruction_psnr(n: int = 256, seed: int = 99) -> float:
    """PSNR of the autoencoder on shapes images it never trained on (another seed of the world)."""
    from .data import shapes
    from .sr3 import psnr

    ae, _ = checkpoint.load(AE)
    images, _ = shapes.dataset(n, SIZE, seed)
    x = images.float() / 127.5 - 1
    with torch.inference_mode():
        x_hat = ae.decode(ae.encode(x)[0]).clamp(-1, 1)
    return psnr(x_hat, x)


def cli_args(p) -> None:
    """Arguments of `python -m engines ldm`."""
    from .imagen import prompt_args

    prompt_args(p, SCALE)


def cli_main(a):
    from .images import to_pil

    for s in generate(a.prompt, a.scale, a.steps, a.n, a.seed):
        pass
    with torch.inference_mode():
        return [to_pil(x) for x in decode(s.x)]
