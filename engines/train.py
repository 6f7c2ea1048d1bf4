"""`python -m engines.train <model>`: train one of the shipped models with the project's own recipe.

Resumable: a run keeps its state in runs/<model>/state.pt and exports the EMA weights to engines/weights/ at every
save, so an interrupted run picks up where it stopped.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import replace

import torch

from .core.train import RUNS_DIR, fit

MODELS = {
    "ddpm-digits": "DDPM on scikit-learn's digits, 16x16",
    "ddpm-shapes": "DDPM on the shapes world, 32x32",
    "guided-shapes": "class-conditional UNet on the shapes world, 32x32, label dropped 20% (Guidance tab)",
    "classifier-shapes": "noise-aware classifier of the 36 shapes classes (Guidance tab)",
    "sr3-photos": "SR3 4x super-resolution on crops of the bundled photos (SR3 tab)",
    "palette-photos": "Palette multi-task (colorization, inpainting, uncropping, JPEG) on 64x64 photo crops",
    "palette-jpeg": "Palette JPEG-restoration specialist, diffusing the residual over the JPEG input",
    "imagen-base": "Imagen base: text -> 32x32 shapes, cross-attention on frozen MiniLM tokens (Imagen tab)",
    "imagen-sr": "Imagen super-resolution 32 -> 64 with noise-conditioning augmentation (Imagen tab)",
    "ldm-autoencoder": "KL autoencoder 64x64x3 -> 16x16x4 on the shapes world (Latent Diffusion tab)",
    "ldm-text": "text-conditional latent UNet on the autoencoder's latents (Latent Diffusion tab)",
    "toy-moons": "MLP denoiser on scikit-learn's two moons (Annotated tab)",
    "toy-swissroll": "MLP denoiser on a 2-D swiss roll (Annotated tab)",
    "lion-vae": "LION stage 1: hierarchical point VAE (z0 + latent points) on the 3-D shapes world (LION tab)",
    "lion-prior-z": "LION stage 2: DDM_z on the global latent, category-conditional (train after lion-vae)",
    "lion-prior-h": "LION stage 2: DDM_h on the latent points, conditioned on z0 (train after lion-vae)",
    "lion-points-ddpm": "the point-space DDPM baseline of LION's comparison (raw points, per-point network)",
    "gradtts-espeak": "Grad-TTS on English sentences spoken by espeak-ng: phoneme encoder, MAS, score-based decoder",
    "gradtts-espeak-plain": "the same Grad-TTS with a plain N(0, I) terminal distribution (the paper's prior ablation)",
    "dreamfusion-prior": "DreamFusion's 2-D prior: text + view -> 32x32 renders of the 3-D shapes world's objects",
    "video-base": "Imagen Video base: text -> 8 frames at 16x16, temporal attention, joint image-video (Video tab)",
    "video-base-eps": "the base from scratch with eps-prediction, 800 steps (the parameterisation ablation; not shipped)",
    "video-base-v": "the base from scratch with v-prediction, 800 steps (the ablation's other arm; not shipped)",
    "video-tsr": "Imagen Video temporal SR: 8 -> 16 frames at 16x16, temporal convolutions (Video tab)",
    "video-ssr": "Imagen Video spatial SR: 16 frames 16x16 -> 32x32, temporal convolutions (Video tab)",
    "video-base-guided": "guidance distillation of video-base at w = 5: one pass instead of two (train after video-base)",
    "video-base-16": "progressive distillation: 32 -> 16 DDIM steps (after video-base-guided)",
    "video-base-8": "progressive distillation: 16 -> 8 steps (after video-base-16)",
    "video-base-4": "progressive distillation: 8 -> 4 steps (after video-base-8)",
    "video-base-2": "progressive distillation: 4 -> 2 steps (after video-base-4)",
}

# The models whose weights are committed under engines/weights/ and meet their issue's bar. The app shows a tab only
# when all its models are here; the others can be trained with the command above but are still in progress.
SHIPPED: tuple[str, ...] = (
    "ddpm-digits",
    "ddpm-shapes",
    "classifier-shapes",
    "guided-shapes",
    "imagen-base",
    "imagen-sr",
    "sr3-photos",
    "ldm-autoencoder",
    "ldm-text",
    "palette-photos",
    "palette-jpeg",
    "toy-moons",
    "toy-swissroll",
    "lion-vae",
    "lion-prior-z",
    "lion-prior-h",
    "gradtts-espeak",
    "dreamfusion-prior",
)


def make(name: str, steps: int | None, device: str):
    if name.startswith("ddpm-"):
        from . import ddpm

        return ddpm.make_trainer(name.removeprefix("ddpm-"), steps, device)
    if name.startswith("toy-"):
        from . import toy2d

        return toy2d.make_trainer(name.removeprefix("toy-"), steps, device)
    if name in ("imagen-base", "imagen-sr"):
        from . import imagen

        return imagen.make_trainer(name, steps, device)
    if name == "ldm-autoencoder":
        from . import ldm

        return ldm.make_ae_trainer(steps, device)
    if name == "ldm-text":
        from . import ldm

        return ldm.make_ldm_trainer(steps, device)
    if name == "palette-photos":
        from . import palette

        return palette.make_trainer(steps, device)
    if name == "palette-jpeg":
        from . import palette

        return palette.make_jpeg_trainer(steps, device)
    if name == "sr3-photos":
        from . import sr3

        return sr3.make_trainer(steps, device)
    if name in ("guided-shapes", "classifier-shapes"):
        from . import guidance

        return guidance.make_trainer(name, steps, device)
    if name.startswith("lion-"):
        from . import lion_train

        if name == lion_train.VAE:
            return lion_train.make_vae_trainer(steps, device)
        if name == lion_train.BASELINE:
            return lion_train.make_baseline_trainer(steps, device)
        return lion_train.make_prior_trainer(name, steps, device)
    if name.startswith("gradtts-"):
        from . import gradtts_train

        return gradtts_train.make_trainer(steps, device, prior=gradtts_train.PRIORS[name])
    if name == "dreamfusion-prior":
        from . import dreamfusion_train

        return dreamfusion_train.make_trainer(steps, device)
    if name.startswith("video-"):
        from . import video_train

        if name in video_train.TRAIN:
            return video_train.make_trainer(name, steps, device)
        return video_train.make_distill_trainer(video_train.steps_of(name), steps, device)
    raise SystemExit(f"unknown model {name!r}; choose one of: {', '.join(MODELS)}")


def evaluation(name: str):
    """What fit() records in a model's JSON at every save, for the models that measure themselves while training."""
    if name == "lion-vae":
        from . import lion_train

        return lambda trainer: {"eval": lion_train.vae_report(trainer.ema.model)}
    if name.startswith("gradtts-"):
        from .data import speech
        from .gradtts import alignment_report

        return lambda trainer: {"eval": alignment_report(trainer.ema.model, speech.corpus(), 48)}
    return None


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m engines.train",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="models:\n" + "\n".join(f"  {k:16s} {v}" for k, v in MODELS.items()),
    )
    p.add_argument("model", choices=list(MODELS))
    p.add_argument("--steps", type=int, default=None, help="optimiser steps (default: the recipe's)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--threads", type=int, default=int(os.getenv("CPU_CORES", "0")) or None)
    p.add_argument("--fresh", action="store_true", help="ignore a saved state and start again")
    p.add_argument(
        "--from-weights",
        action="store_true",
        help="no saved state (runs/ lost): continue from the exported weights and their step count",
    )
    p.add_argument("--weights-dir", default=None, help="export the weights here instead of engines/weights/")
    p.add_argument("--runs-dir", default=str(RUNS_DIR), help="keep the resumable state here (default: runs/)")
    p.add_argument("--save-every", type=int, default=None, help="save (and evaluate) this often (default: the recipe's)")
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    trainer, meta = make(a.model, a.steps, a.device)
    if a.save_every:
        trainer.cfg = replace(trainer.cfg, save_every=a.save_every)
    path = fit(a.model, trainer, meta, weights_dir=a.weights_dir, runs_dir=a.runs_dir, resume=not a.fresh,
               from_weights=a.from_weights, on_save=evaluation(a.model))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
