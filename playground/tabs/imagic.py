"""Imagic tab: one image and a target text; stages A and B run once (streamed), then the eta slider edits freely."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from engines import checks, imagic, imagic_quality
from engines.images import to_pil

from ..widgets import TRAINING, paper_card, upload_path, user_errors

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _reading(edit, x, eta: float, target: str) -> str:
    return f"eta {float(eta):g}: {imagic_quality.describe(imagic_quality.compare(edit.x[0], x[0], target))}"


@user_errors
def imagic_edit(image, target: str, eta: float, seed: float, inverted: bool):
    """Stages A and B with progress, then stage C at the chosen eta and the whole eta strip; the Edit goes to State.
    Runs with preprocess=False: the upload is read only from Gradio's upload folder, every value checked first."""
    eta, seed, inverted = imagic.check_eta(eta), checks.seed(seed), checks.flag("stage C from the inversion", inverted)
    edit = None
    for item in imagic.run_stages(upload_path(image), target, seed):
        if isinstance(item, imagic.Edit):
            edit = item
        else:
            yield (
                gr.skip(),
                gr.skip(),
                (f"stage {item.stage}: step {item.step}/{item.total}, loss {item.loss:.4f} · {item.seconds:.0f} s"),
                gr.skip(),
            )
    yield (
        gr.skip(),
        gr.skip(),
        f"stages A + B done in {edit.seconds:.0f} s; stage C: the edit and the eta strip...",
        edit,
    )
    chosen = imagic.generate(edit, float(eta), seed=int(seed), inverted=inverted)
    yield to_pil(chosen[0]), gr.skip(), _reading(edit, chosen, eta, target), edit
    _, strip = imagic.strip(edit, seed=int(seed), inverted=inverted)
    yield (
        to_pil(chosen[0]),
        strip,
        f"{_reading(edit, chosen, eta, target)} · stages A + B took {edit.seconds:.0f} s; "
        "move eta to edit again without re-running them",
        edit,
    )


@user_errors
def imagic_eta(edit, eta: float, seed: float, inverted: bool, target: str):
    if edit is None:
        raise ValueError("run the edit first: stages A and B prepare the model for this image")
    x = imagic.generate(edit, float(eta), seed=int(seed), inverted=inverted)
    return to_pil(x[0]), _reading(edit, x, eta, target)


def build() -> None:
    paper_card(
        "Imagic: Text-Based Real Image Editing with Diffusion Models",
        "Kawar, Zada, Lang, Tov, Chang, Dekel, Mosseri, Irani · CVPR 2023",
        "https://arxiv.org/abs/2210.09276",
        "(A) $e_{opt} = \\arg\\min_e \\mathbb{E}\\|\\epsilon - f_\\theta(x_t, t, e)\\|^2$ from $e_{tgt}$; (B) fine-tune "
        "$\\theta$ with $e_{opt}$; (C) generate with $\\bar e = \\eta\\, e_{tgt} + (1-\\eta)\\, e_{opt}$.",
        "Non-rigid edits of real photos ('a sitting dog'); preferred by raters over SDEdit, DDIB and Text2LIVE on "
        "TEdBench (100 image-text pairs); sweet spot eta ~0.6-0.8.",
        f"On the Imagen tab's 32x32 base (pixel space, as in the paper), A: {imagic.STEPS_A} steps at {imagic.LR_A:g}, "
        f"B: {imagic.STEPS_B} steps at {imagic.LR_B:g} on a copy, then the shipped SR stage with the target text. One addition, switchable: stage C starts from the "
        "input's DDIM inversion rather than fresh noise, which keeps the background our short target texts leave "
        "unnamed.",
        doc="imagic",
    )
    state = gr.State(None)
    with gr.Row():
        with gr.Column(scale=1, min_width=280):
            image = gr.Image(str(EXAMPLES / "imagic_yellow_square.png"), label="Image to edit", type="pil", height=200)
            target = gr.Textbox("a green square", label="Target text")
            eta = gr.Slider(0, 1.5, value=imagic.ETA, step=0.05, label="eta (0 = reconstruction, 1 = target text)")
            inverted = gr.Checkbox(True, label="Stage C from the input's DDIM inversion (off: fresh noise, the paper)")
            seed = gr.Number(0, precision=0, label="Seed (used with fresh noise)", minimum=0)
            run = gr.Button("Edit (stages A, B, C)", variant="primary")
            status = gr.Markdown()
        with gr.Column(scale=2):
            out = gr.Image(label="edit at eta", type="pil", format="png", height=256, elem_classes="pixelated")
            strip = gr.Image(
                label=f"input, then eta = {', '.join(map(str, imagic.ETAS))}",
                type="pil",
                format="png",
                elem_classes="pixelated",
            )
    gr.Examples(  # each at an eta where its edit reads right (measured at seed 0; the strip shows the rest)
        [
            [str(EXAMPLES / "imagic_yellow_square.png"), "a green square", 1.0],
            [str(EXAMPLES / "imagic_red_circle.png"), "a blue circle", 0.4],
            [str(EXAMPLES / "imagic_yellow_square.png"), "a yellow star", 0.9],
        ],
        [image, target, eta],
        label="Images, target texts and eta",
    )
    run.click(
        imagic_edit,
        [image, target, eta, seed, inverted],
        [out, strip, status, state],
        api_name="imagic_edit",
        concurrency_id=TRAINING,
        concurrency_limit=1,
        show_progress="minimal",
        preprocess=False,
    )
    eta.release(
        imagic_eta,
        [state, eta, seed, inverted, target],
        [out, status],
        api_visibility="private",
        concurrency_id=TRAINING,
    )
