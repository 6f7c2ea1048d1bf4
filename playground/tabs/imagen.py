"""Imagen tab: type a prompt; watch the 32x32 base and the 32->64 super-resolution stage denoise; guidance and
dynamic thresholding side by side."""
from __future__ import annotations

import gradio as gr

from engines import checks, imagen
from engines.images import batch_grid

from ..widgets import HEAVY, Throttle, paper_card, prompt_controls, user_errors

PROMPTS = ["a red circle on the left", "a large blue square in the center on a yellow background",
           "a small green triangle at the top", "a purple star at the bottom on a white background",
           "a red circle to the left of a blue square", "a yellow star above a black circle"]


@user_errors
def imagen_generate(prompt: str, scale: float, thresholding: bool, percentile: float, steps: float, sr_steps: float,
                    n: float, seed: float, colour_guidance: bool = imagen.COLOUR_GUIDANCE):
    """Stream both stages; with thresholding on, also show the same seeds' base without it (what it prevents)."""
    p = imagen.thresholding(thresholding, percentile)  # raw values (preprocess=False): the engine checks them
    r = imagen.check(prompt, scale, steps, n, p, seed)
    prompt, colour_guidance, thresholding = r.prompt, checks.flag("colour guidance", colour_guidance), p is not None
    throttle = Throttle(0.25)
    base_img = sr_img = None
    stages = imagen.generate(prompt, r.scale, r.steps, r.n, r.seed, r.threshold, sr_steps,
                             colour_guidance=colour_guidance)
    for stage, s in stages:
        last = s.index == s.total - 1
        img = batch_grid(s.x0.clamp(-1, 1) if not last else s.x, 4 if stage == "base" else 2)
        if stage == "base":
            base_img, x32 = img, s.x
        else:
            sr_img = img
        if throttle(force=last):
            yield base_img, sr_img, gr.skip(), f"{stage} stage: step {s.index + 1}/{s.total}"
    against = imagen.colour_free(prompt, colour_guidance)
    done = (f"done: {int(n)} image(s) for '{prompt}' at guidance {float(scale):g} against "
            f"{repr(against) if against else 'the empty prompt'}")
    ref = f"training images {100 * imagen.data_saturation():.0f}%"
    if not thresholding:
        yield (base_img, sr_img, None,
               f"{done}; saturated pixels in the 32x32 base: {100 * imagen.saturation(x32):.0f}% with static "
               f"clipping ({ref})")
        return
    yield base_img, sr_img, gr.skip(), f"{done}; now the same seeds with static clipping instead..."
    for _, s in imagen.generate(prompt, float(scale), int(steps), int(n), int(seed), None, 0,
                                colour_guidance=colour_guidance):
        pass
    yield (base_img, sr_img, batch_grid(s.x, 4),
           f"{done}; saturated pixels in the 32x32 base: {100 * imagen.saturation(x32):.0f}% with dynamic "
           f"thresholding (p = {float(percentile):g}), {100 * imagen.saturation(s.x):.0f}% with static clipping "
           f"({ref})")


def build() -> None:
    paper_card(
        "Photorealistic Text-to-Image Diffusion Models with Deep Language Understanding (Imagen)",
        "Saharia, Chan, Saxena, Li, Whang, Denton, Ghasemipour, Ayan, Mahdavi, Lopes, Salimans, Ho, Fleet, Norouzi · 2022",
        "https://arxiv.org/abs/2205.11487",
        "a frozen text encoder's tokens enter by cross-attention; classifier-free guidance "
        "$\\tilde\\epsilon = \\epsilon(z, \\varnothing) + s(\\epsilon(z, c) - \\epsilon(z, \\varnothing))$ with dynamic "
        "thresholding $\\hat x_0 \\leftarrow \\mathrm{clip}(\\hat x_0, -q, q)/q$, $q = \\max(1, \\mathrm{percentile}_p|\\hat x_0|)$.",
        "Zero-shot MS-COCO FID 7.27 (better than models trained on COCO); preferred over DALL-E 2 on DrawBench.",
        "The frozen encoder is all-MiniLM-L6-v2 (22M parameters, shipped in a PyPI wheel) instead of T5-XXL; a 2M "
        "parameter 32x32 base and a 32->64 SR stage trained on shapes-world captions, both text-conditioned, the SR "
        f"one on 32x32 crops with noise-conditioning augmentation (levels 0-{imagen.AUG_MAX:g} in training, "
        f"{imagen.AUG_LEVEL:g} at sampling, its own guidance {imagen.SR_SCALE:g}). Dynamic thresholding at p = "
        f"{imagen.PERCENTILE:g} (measured: at 0.95 more objects vanished into a background of their own colour). One "
        "addition, switchable: the base guides against the prompt without its colour words rather than the empty "
        "prompt, so guidance pushes the colour alone, and with it the background away from the object's colour "
        "(measured: objects lost in a background of their own colour 0 of 192 images, 5 of 192 against the empty "
        "prompt).",
        doc="imagen",
    )
    extra = {}

    def stage_controls() -> None:
        extra["thresholding"] = gr.Checkbox(True, label="Dynamic thresholding (off: static clipping)")
        extra["percentile"] = gr.Slider(0.5, 1.0, value=imagen.PERCENTILE, step=0.005, label="Thresholding percentile p")
        extra["sr_steps"] = gr.Slider(1, 250, value=25, step=1, label="Super-resolution steps")
        extra["colour_guidance"] = gr.Checkbox(
            imagen.COLOUR_GUIDANCE,
            label="Guide against the prompt without its colour words (our addition; off: the empty prompt, as Imagen)",
        )

    with gr.Row():
        with gr.Column(scale=1, min_width=280):
            c = prompt_controls(PROMPTS[0], imagen.MAX_BATCH, stage_controls, "Base steps", imagen.SCALE)
        with gr.Column(scale=2):
            with gr.Row():
                base = gr.Image(label="base 32x32 (live)", type="pil", format="png", elem_classes="pixelated")
                sr = gr.Image(label="super-resolution 64x64 (live)", type="pil", format="png", elem_classes="pixelated")
            compare = gr.Image(label="base 32x32, the same seeds with static clipping instead of dynamic thresholding",
                               type="pil", format="png", elem_classes="pixelated")
    gr.Examples([[p] for p in PROMPTS], [c.prompt],
                label="Prompts: colour, shape, position, size, two objects")
    gr.Examples([["a large blue square in the center on a yellow background", 20.0]], [c.prompt, c.scale],
                label="High guidance: compare the two rows")
    ev = c.run.click(imagen_generate, [c.prompt, c.scale, extra["thresholding"], extra["percentile"], c.steps,
                                       extra["sr_steps"], c.n, c.seed, extra["colour_guidance"]],
                     [base, sr, compare, c.status],
                     api_name="imagen_generate", concurrency_id=HEAVY, concurrency_limit=1, show_progress="minimal",
                     preprocess=False)
    c.stop.click(None, None, None, cancels=[ev])
