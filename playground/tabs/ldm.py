"""Latent Diffusion tab: denoise 16x16x4 latents (shown channel by channel) and decode them; time it against
generating the same 64x64 images in pixel space."""
from __future__ import annotations

import time

import gradio as gr
import torch

from engines import imagen, ldm
from engines.images import batch_grid

from ..widgets import HEAVY, Throttle, paper_card, prompt_controls, user_errors
from .imagen import PROMPTS


def latent_channels(z: torch.Tensor):
    """(n, 4, 16, 16) latents -> one grid: a row per sample, a column per channel, each scaled to its range."""
    z = z.detach().float()
    lo = z.amin(dim=(2, 3), keepdim=True)
    hi = z.amax(dim=(2, 3), keepdim=True)
    tiles = ((z - lo) / (hi - lo + 1e-6) * 2 - 1).reshape(-1, 1, *z.shape[-2:])
    return batch_grid(tiles, upscale=6, cols=z.shape[1])


@user_errors
def ldm_generate(prompt: str, scale: float, steps: float, n: float, seed: float):
    throttle = Throttle(0.25)
    for s in ldm.generate(prompt, scale, steps, n, seed):  # raw values (preprocess=False): checked there
        last = s.index == s.total - 1
        if throttle(force=last):
            with torch.inference_mode():
                decoded = ldm.decode(s.x if last else s.x0)
            frames = latent_channels(s.x), batch_grid(decoded, 3)
            yield *frames, f"step {s.index + 1}/{s.total}"
    yield *frames, f"done: {int(n)} image(s) for '{prompt}'"  # the images again: an API call keeps the last update


@user_errors
def ldm_compare(prompt: str, scale: float, steps: float, n: float, seed: float):
    """The same prompt, steps and seed: latent diffusion vs pixel-space generation at 64x64 (the Imagen cascade)."""
    r = imagen.check(prompt, scale, steps, n, None, seed)  # raw values (preprocess=False): checked first
    prompt, scale, steps, n, seed = r.prompt, r.scale, r.steps, r.n, r.seed
    x_l, t_l = ldm.timed_generation(prompt, steps, n, seed)
    t0 = time.perf_counter()
    for _, s in imagen.generate(prompt, float(scale), int(steps), int(n), int(seed), imagen.PERCENTILE, int(steps)):
        pass
    t_p = time.perf_counter() - t0
    return (batch_grid(x_l, 2), batch_grid(s.x, 2),
            f"latent: {t_l:.2f} s · pixel space (32x32 base + 64x64 stage, {int(steps)} steps each): {t_p:.2f} s · "
            f"{t_p / t_l:.1f}x faster in latent space")


def build() -> None:
    paper_card(
        "High-Resolution Image Synthesis with Latent Diffusion Models", "Rombach, Blattmann, Lorenz, Esser, Ommer · CVPR 2022",
        "https://arxiv.org/abs/2112.10752",
        "train $\\|\\epsilon - \\epsilon_\\theta(z_t, t, \\tau_\\theta(y))\\|^2$ on $z = \\mathcal{E}(x)$, with cross-attention "
        "$\\mathrm{softmax}(QK^T/\\sqrt d)V$, $Q = W_Q \\varphi(z_t)$, $K, V = W_{K,V}\\tau_\\theta(y)$; decode with $\\mathcal{D}$.",
        "Class-conditional ImageNet 256 FID 3.60 (LDM-4-G); text-to-image MS-COCO FID 12.63, at a fraction of "
        "pixel-space compute.",
        "A KL autoencoder (f = 4: 64x64x3 -> 16x16x4, pixel losses and KL 1e-6; no LPIPS / GAN, which need pretrained "
        "nets) and a latent UNet with cross-attention on the same frozen MiniLM tokens as the Imagen tab; latents "
        "scaled to unit variance (scale_by_std).",
        doc="ldm",
    )
    with gr.Row():
        with gr.Column(scale=1, min_width=280):
            c = prompt_controls("a large yellow square on a blue background", ldm.MAX_BATCH, scale=ldm.SCALE)
        with gr.Column(scale=2):
            with gr.Row():
                latents = gr.Image(label="latent channels z_t (a row per image, a column per channel)", type="pil",
                                   elem_classes="pixelated")
                images = gr.Image(label="decoded D(z)", type="pil", format="png", elem_classes="pixelated")
    gr.Examples([[p] for p in PROMPTS], [c.prompt], label="Prompts: colour, shape, position, size, two objects")
    ev = c.run.click(ldm_generate, [c.prompt, c.scale, c.steps, c.n, c.seed], [latents, images, c.status],
                     api_name="ldm_generate", concurrency_id=HEAVY, concurrency_limit=1, show_progress="minimal",
                     preprocess=False)
    c.stop.click(None, None, None, cancels=[ev])
    with gr.Accordion("Latent vs pixel space, measured", open=True):
        cmp_btn = gr.Button("Time both on this prompt")
        with gr.Row():
            lat_img = gr.Image(label="latent diffusion", type="pil", elem_classes="pixelated")
            pix_img = gr.Image(label="pixel space (Imagen cascade)", type="pil", elem_classes="pixelated")
        cmp_text = gr.Markdown()
        cmp_btn.click(ldm_compare, [c.prompt, c.scale, c.steps, c.n, c.seed], [lat_img, pix_img, cmp_text], api_name="ldm_compare",
                      concurrency_id=HEAVY, concurrency_limit=1, preprocess=False)
