"""Imagen Video tab: type "a red circle moving to the right"; watch the base draw 8 frames at 16x16, temporal SR
make them 16 and spatial SR 32x32, each stage's frames streamed as a strip; then the clip as MP4 and GIF, with each
stage's time. The base is the guided teacher or a progressively distilled student (8, 4 or 2 steps)."""

from __future__ import annotations

import gradio as gr
import torch
from PIL import Image

from engines import checks
from engines import video as vid
from engines.files import temp_path
from engines.images import grid, to_pil

from ..widgets import HEAVY, Throttle, paper_card, user_errors

BASE_LABELS = {"distilled student (one pass a step, guidance baked in)": "distilled",
               "teacher (guided: two passes a step)": "teacher"}
STEP_CHOICES = [2, 4, 8, 16, 32, 64]
PROMPTS = ["a red circle moving to the right", "a large blue square moving up on a yellow background",
           "a small green triangle moving to the left", "a purple star moving down on a white background"]
STAGE_TITLES = {"base": "base: 8 frames at 16x16", "tsr": "temporal SR: 16 frames at 16x16",
                "ssr": "spatial SR: 16 frames at 32x32"}


def strip(x: torch.Tensor, scale: int) -> Image.Image:
    """The frames of the first clip (3, F, H, W) in [-1, 1] side by side, upscaled (nearest) by `scale`."""
    return grid([to_pil(f) for f in x.transpose(0, 1)], upscale=scale, cols=x.shape[1])


@user_errors
def video_generate(prompt, base="distilled student (one pass a step, guidance baked in)", steps=8, guidance=vid.GUIDANCE,
                   seed=0):
    """Stream each stage's predicted frames (every step of the base; the SR stages every few), then the MP4 and GIF."""
    b = checks.unlabel(base, BASE_LABELS)
    r = vid.check(prompt, b, steps, guidance, 1, seed)
    throttle = Throttle(0.3)
    shown = {"base": gr.skip(), "tsr": gr.skip(), "ssr": gr.skip()}
    res = None
    for s in vid.generate(r.prompt, r.base, r.steps, r.scale, 1, r.seed):
        if isinstance(s, vid.Clips):
            res = s
            break
        st = s.step
        last = st.index == st.total - 1
        frames = (st.x if last else st.x0)[0]
        if throttle(force=last or st.index == 0):
            shown[s.stage] = strip(frames, 4 if frames.shape[-1] == 16 else 2)
            yield (shown["base"], shown["tsr"], shown["ssr"], gr.skip(), gr.skip(),
                   f"{STAGE_TITLES[s.stage]}: step {st.index + 1}/{st.total}")
    x = res.x[0]
    mp4, gif = temp_path(vid.video_file(x), "video"), temp_path(vid.gif_file(x), "video")
    t = res.seconds
    how = (f"the distilled {r.steps}-step base (guidance {vid.GUIDANCE:g} baked in)" if r.base == "distilled"
           else f"the teacher, {r.steps} steps at guidance {r.scale:g}")
    yield (gr.skip(), gr.skip(), gr.skip(), mp4, gif,
           f"done: '{r.prompt}' by {how}; base {t['base']:.2f} s, temporal SR {t['tsr']:.2f} s, spatial SR "
           f"{t['ssr']:.2f} s ({vid.SR_STEPS} steps each), total {sum(t.values()):.2f} s")


def build() -> None:
    paper_card(
        "Imagen Video: High Definition Video Generation with Diffusion Models",
        "Ho, Chan, Saharia, Whang, Gao, Gritsenko, Kingma, Poole, Norouzi, Fleet, Salimans · 2022",
        "https://arxiv.org/abs/2210.02303",
        "a cascade of space-time U-Nets predicting $v = \\alpha_t\\epsilon - \\sigma_t x$ "
        "($\\hat x = \\alpha_t z_t - \\sigma_t \\hat v$); progressive distillation trains a student whose one DDIM step "
        "matches two of its teacher's: $\\tilde x = (z_{t''} - \\tfrac{\\sigma_{t''}}{\\sigma_t} z_t)/(\\alpha_{t''} - "
        "\\tfrac{\\sigma_{t''}}{\\sigma_t}\\alpha_t)$.",
        "A 7-model cascade (11.6B parameters) from text to 128 frames at 1280x768, 24 fps; every stage distilled to "
        "8 sampling steps.",
        "3 stages instead of 7: a base of 8 frames at 16x16 (temporal self-attention with relative positions), "
        "temporal SR to 16 frames and spatial SR to 32x32 (temporal convolutions), all warm-started from the Imagen "
        "tab's networks and trained on moving shapes (DESIGN.md) with shapes images as one-frame videos; the frozen "
        "text encoder is all-MiniLM-L6-v2 instead of T5-XXL; only the base is distilled (guidance first, then 32 -> "
        "16 -> 8 -> 4 -> 2 steps); seconds on 2 CPU cores.",
        doc="video",
    )
    with gr.Row():
        with gr.Column(scale=1, min_width=280):
            prompt = gr.Textbox(PROMPTS[0], label="Prompt", max_lines=2,
                                info="a [small|large] <colour> <shape> moving to the right|to the left|up|down "
                                     "[on a <colour> background]")
            base = gr.Radio(list(BASE_LABELS), value=list(BASE_LABELS)[0], label="Base model")
            steps = gr.Radio(STEP_CHOICES, value=8, label="Base steps (the distilled students: 8, 4 or 2)")
            guidance = gr.Slider(0, vid.MAX_SCALE, value=vid.GUIDANCE, step=0.5,
                                 label="Guidance scale (the teacher's; the students have 5 baked in)")
            seed = gr.Number(0, precision=0, label="Seed", minimum=0)
            with gr.Row():
                run = gr.Button("Generate", variant="primary")
                stop = gr.Button("Stop")
            status = gr.Markdown("Press Generate: the base draws 8 frames, then the two SR stages fill in time and "
                                 "space.")
            gr.Examples([[p] for p in PROMPTS], [prompt], label="Try these")
            gr.Examples([[PROMPTS[0], list(BASE_LABELS)[1], 32], [PROMPTS[0], list(BASE_LABELS)[0], 2]],
                        [prompt, base, steps], label="Teacher at 32 steps against the 2-step student")
        with gr.Column(scale=2):
            base_strip = gr.Image(label=STAGE_TITLES["base"] + " (live: predicted frames)", type="pil", format="png",
                                  elem_classes="pixelated")
            tsr_strip = gr.Image(label=STAGE_TITLES["tsr"] + " (live)", type="pil", format="png",
                                 elem_classes="pixelated")
            ssr_strip = gr.Image(label=STAGE_TITLES["ssr"] + " (live)", type="pil", format="png",
                                 elem_classes="pixelated")
            with gr.Row():
                clip = gr.Video(label="The clip (MP4, 16 frames at 8 fps, shown 4x)", height=260, autoplay=True,
                                loop=True)
                gif = gr.Image(label="The clip as a GIF", type="filepath", height=260)
    ev = run.click(video_generate, [prompt, base, steps, guidance, seed],
                   [base_strip, tsr_strip, ssr_strip, clip, gif, status], api_name="video_generate",
                   concurrency_id=HEAVY, concurrency_limit=1, show_progress="minimal", preprocess=False)
    stop.click(None, None, None, cancels=[ev])
