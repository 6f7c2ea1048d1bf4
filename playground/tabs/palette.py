"""Palette tab: one model, four image-to-image tasks; paint a hole, pick a side, or let the app degrade a photo."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import numpy as np
import torch
from PIL import Image

from engines import checks, palette, palette_quality
from engines.data.degrade import SIDES, TASKS, brush_mask
from engines.images import batch_grid, to_pil

from ..widgets import HEAVY, Throttle, clear_preprocess, paper_card, user_errors

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PRESETS = ("painted (use the brush)", "centre box", "free-form strokes", "left half")


def preset_mask(preset: str, editor: dict | None, seed: int) -> Image.Image | None:
    """The inpainting mask as an image (white = missing): painted strokes, or one of the presets."""
    size = palette.SIZE
    rng = np.random.default_rng(int(seed))
    if preset == "centre box":
        m = palette.centre_box(size)[0]
    elif preset == "free-form strokes":
        m = brush_mask(size, rng, strokes=3)
    elif preset == "left half":
        m = torch.zeros(1, size, size)
        m[..., : size // 2] = 1
    else:
        layers = (editor or {}).get("layers") or []
        if not layers:
            return None
        alpha = np.zeros(np.asarray(layers[0]).shape[:2], dtype=np.uint8)
        for layer in layers:
            a = np.asarray(layer.convert("RGBA"))[..., 3]
            alpha = np.maximum(alpha, a)
        return Image.fromarray(np.where(alpha > 0, 255, 0).astype(np.uint8))
    return to_pil(m * 2 - 1)


@user_errors
def palette_restore(
    task: str,
    editor: dict | None,
    preset: str,
    side: str,
    quality: float,
    as_is: bool,
    steps: float,
    n: float,
    seed: float,
    multitask: bool = False,
):
    """Stream the n samples' x0 estimates; finish with the samples, their mean, the conditioning and the original."""
    image = (editor or {}).get("background") if isinstance(editor, dict) else editor
    as_is, seed = checks.flag("already degraded", as_is), checks.seed(seed)
    mask = preset_mask(checks.choice("inpainting mask", preset, PRESETS), editor, seed) if task == "inpainting" else None
    job = palette.prepare(task, image, mask, side, quality, not as_is, seed)
    shown_cond = job.cond if job.known is None else job.known * (1 - job.mask) + job.mask  # holes shown white
    cond_img = to_pil(shown_cond[0]).resize((256, 256), Image.Resampling.NEAREST)
    original = None if job.clean is None else to_pil(job.clean[0]).resize((256, 256), Image.Resampling.NEAREST)
    throttle = Throttle(0.25)
    model = "the JPEG model" if palette.model_for(task, multitask) == palette.JPEG_MODEL else "the multi-task model"
    for s in palette.restore(job, steps, n, seed, multitask=multitask):  # the engine checks them
        last = s.index == s.total - 1
        if throttle(force=s.index == 0) and not last:
            yield cond_img, batch_grid(s.x0.clamp(-1, 1), 3), None, original, f"step {s.index + 1}/{s.total}"
    mean = palette.posterior_mean(s.x) if len(s.x) > 1 else None
    yield (
        cond_img,
        batch_grid(s.x, 3),
        None if mean is None else to_pil(mean[0]).resize((256, 256), Image.Resampling.NEAREST),
        original,
        f"done: {int(n)} sample(s) for {task} by {model}, {s.total} steps" + measured(job, s.x),
    )


def measured(job: palette.Job, x: torch.Tensor) -> str:
    """Against the original (when the app degraded it): what the task's quality bar measures."""
    if job.clean is None:
        return ""
    if job.task == "jpeg":
        r = palette_quality.jpeg_report(x, job.clean, job.cond)
        mean = f", their mean {r['psnr_mean']:.1f} dB" if len(x) > 1 else ""
        return f" · PSNR of a sample {r['psnr_out']:.1f} dB{mean} (the JPEG input: {r['psnr_jpeg']:.1f} dB)"
    if job.task == "colorization":
        r = palette_quality.colorization_report(x, job.clean)
        return f" · luminance correlation {r['luma_corr']:.3f}, colourfulness {r['colour_ratio']:.2f} of the original's"
    r = palette_quality.fill_report(x, job.clean, job.mask)
    kept = "exactly" if r["known_db"] >= 99 else f"at {r['known_db']:.1f} dB"
    return (
        f" · known pixels kept {kept}; hole error on 8x8 blocks {r['block_mse']:.3f} "
        f"(a flat mean colour: {r['block_mse_flat']:.3f}), texture {r['texture']:.2f} of the original's"
    )


def build() -> None:
    paper_card(
        "Palette: Image-to-Image Diffusion Models",
        "Saharia, Chan, Chang, Lee, Ho, Salimans, Fleet, Norouzi · SIGGRAPH 2022",
        "https://arxiv.org/abs/2111.05826",
        "$\\mathbb{E}\\,\\|f_\\theta(x, \\sqrt{\\gamma}\\,y + \\sqrt{1-\\gamma}\\,\\epsilon, \\gamma) - \\epsilon\\|_2^2$: the "
        "degraded image $x$ concatenated to the noisy $y_t$; no task-specific architecture, an L2 loss (more diverse "
        "than L1), and for inpainting the known pixels re-imposed after every step. Here the net predicts "
        "$v$ instead of $\\epsilon$ and is told the task (see the README for why, measured).",
        "Colorization on ImageNet: FID 15.78 and a human fool rate near 48% (50% = indistinguishable); one multi-task "
        "model matches the task-specific ones.",
        "One 1.7M-parameter multi-task model at 64x64 for colorization, inpainting and uncropping, and a JPEG "
        "specialist of the same size that diffuses the residual (clean minus JPEG, scaled by 5) over its input, "
        "trained on crops of the bundled colour photos (held-out photos in the examples); training schedule linear "
        "1e-6..1e-2, T = 2000, which sampling walks too. The mean of the samples is the least-squares restoration: "
        "a single sample's expected squared error is twice the mean's, so PSNR favours the mean, the eye a sample.",
        doc="palette",
    )
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            task = gr.Radio(list(TASKS), value="inpainting", label="Task")
            editor = gr.ImageEditor(
                label="Input (paint the hole with the brush for inpainting)",
                type="pil",
                value={"background": str(EXAMPLES / "coffee.png"), "layers": [], "composite": None},
                brush=gr.Brush(colors=["#ffffff"], color_mode="fixed", default_size=24),
                height=320,
                sources=["upload", "clipboard"],
            )
            preset = gr.Radio(list(PRESETS), value="centre box", label="Inpainting mask")
            side = gr.Radio(list(SIDES), value="right", label="Uncropping: side to extend")
            quality = gr.Slider(5, 30, value=10, step=1, label="JPEG quality to restore from")
            multitask = gr.Checkbox(
                False, label="JPEG: restore with the multi-task model instead of the JPEG specialist (compare them)"
            )
            as_is = gr.Checkbox(False, label="The input is already degraded (grey / JPEG-damaged): don't degrade it")
            with gr.Row():
                steps = gr.Slider(1, 1000, value=50, step=1, label="Steps")
                n = gr.Slider(1, palette.MAX_SAMPLES, value=4, step=1, label="Samples")
            seed = gr.Number(0, precision=0, label="Seed", minimum=0)
            with gr.Row():
                run = gr.Button("Restore", variant="primary")
                stop = gr.Button("Stop")
        with gr.Column(scale=2):
            with gr.Row():
                cond = gr.Image(label="what the model is given", type="pil", format="png", elem_classes="pixelated")
                original = gr.Image(label="original", type="pil", format="png", elem_classes="pixelated")
            with gr.Row():
                samples = gr.Image(
                    label="samples (live: their x0 estimates)", type="pil", format="png", elem_classes="pixelated"
                )
                mean = gr.Image(
                    label="mean of the samples: least squared error, less detail",
                    type="pil",
                    format="png",
                    elem_classes="pixelated",
                )
            status = gr.Markdown()
    gr.Examples(
        [
            ["colorization", str(EXAMPLES / "flower.png"), "centre box", "right", 10],
            ["inpainting", str(EXAMPLES / "coffee.png"), "free-form strokes", "right", 10],
            ["uncropping", str(EXAMPLES / "flower.png"), "centre box", "left", 10],
            ["jpeg", str(EXAMPLES / "coffee.png"), "centre box", "right", 5],
        ],
        [task, editor, preset, side, quality],
        label="Photos it never trained on: pick one, then Restore",
    )
    ev = run.click(
        palette_restore,
        clear_preprocess(task, editor, preset, side, quality, as_is, steps, n, seed, multitask),
        [cond, samples, mean, original, status],
        api_name="palette_restore",
        concurrency_id=HEAVY,
        concurrency_limit=1,
        show_progress="minimal",
    )
    stop.click(None, None, None, cancels=[ev])
