"""Guidance tab: pick a class, a method and a scale; watch the batch denoise; sweep scales for the trade-off."""

from __future__ import annotations

import gradio as gr
import plotly.graph_objects as go

from engines import guidance
from engines.checks import unlabel
from engines.data import shapes
from engines.images import batch_grid

from ..widgets import HEAVY, Throttle, paper_card, user_errors

METHOD_LABELS = {
    "classifier-free": "cfg",
    "classifier": "classifier",
    "classifier on the unconditional model": "classifier-uncond",
    "none (conditional model)": "none",
}
SWEEP_SCALES = {"cfg": [0.0, 1.0, 3.0, 7.0], "classifier": [0.0, 1.0, 3.0, 10.0], "classifier-uncond": [0.0, 1.0, 3.0, 10.0], "none": [1.0]}


@user_errors
def guidance_sample(label: str, method: str, scale: float, steps: float, n: float, seed: float):
    """Stream x_t and x0_hat while the batch denoises under the chosen guidance; finish with the judged accuracy."""
    method = unlabel(method, METHOD_LABELS)
    throttle = Throttle(0.2)
    for s in guidance.sample(label, method, scale, steps, n, seed):  # raw values (preprocess=False): checked there
        last = s.index == s.total - 1
        if throttle(force=s.index == 0 or last):
            x_t, x0 = batch_grid(s.x, 2), batch_grid(s.x0, 2)
            if not last:
                yield x_t, x0, f"step {s.index + 1}/{s.total} · t = {s.t}"
    objects = guidance.main_objects(s.x)
    f = guidance.fidelity(s.x, label, objects)
    yield (
        x_t,
        x0,
        (
            f"done: {int(n)} samples of '{label}', {method} at scale {float(scale):g}. "
            f"Judged right colour {f['colour']:.0%}, right shape {f['shape']:.0%}, both {f['both']:.0%}; "
            f"diversity {guidance.diversity(s.x, objects):.3f}"
        ),
    )


def tradeoff_figure(rows: list[dict], method: str) -> go.Figure:
    fig = go.Figure(
        go.Scatter(
            x=[r["diversity"] for r in rows],
            y=[r["both"] for r in rows],
            mode="lines+markers+text",
            text=[f"s={r['scale']:g}" for r in rows],
            textposition="top center",
            marker=dict(size=10),
        )
    )
    fig.update_layout(
        title=f"Fidelity vs diversity ({method}): higher scale moves up and left",
        xaxis_title="diversity (spread of the object's position and size)",
        yaxis_title="judged right class",
        yaxis=dict(range=[0, 1.05], tickformat=".0%"),
        height=320,
        template="plotly_white",
        margin=dict(l=50, r=20, t=40, b=40),
    )
    return fig


@user_errors
def guidance_sweep(label: str, method: str, steps: float, n: float, seed: float, progress=gr.Progress()):
    """The same seeds at several scales, side by side, with the fidelity / diversity chart."""
    r = guidance.validate(label, unlabel(method, METHOD_LABELS), 1.0, steps, n, seed=seed)  # raw values: checked
    method, steps, n, seed = r.method, r.steps, r.n, r.seed
    scales = SWEEP_SCALES[method]
    rows = []
    for s in progress.tqdm(scales, desc="scales"):
        rows += guidance.sweep(label, method, [s], steps, n, seed)
    gallery = [
        (batch_grid(r["x"], 2), f"s = {r['scale']:g}: class {r['both']:.0%}, diversity {r['diversity']:.2f}")
        for r in rows
    ]
    return gallery, tradeoff_figure(rows, method)


def build() -> None:
    paper_card(
        "Diffusion Models Beat GANs / Classifier-Free Diffusion Guidance",
        "Dhariwal & Nichol, NeurIPS 2021 · Ho & Salimans, 2022",
        "https://arxiv.org/abs/2207.12598",
        "classifier: $\\hat\\epsilon = \\epsilon_\\theta(x_t, y) - \\sqrt{1-\\bar\\alpha_t}\\, s\\, \\nabla_{x_t} \\log p_\\phi(y|x_t)$; "
        "classifier-free: $\\tilde\\epsilon = \\epsilon_\\theta(x_t, \\varnothing) + s\\,(\\epsilon_\\theta(x_t, y) - \\epsilon_\\theta(x_t, \\varnothing))$ "
        "with $s = 1 + w$ of Ho & Salimans ($s = 0$: unconditional, $s = 1$: conditional). Classifier guidance "
        "steers the conditional prediction (ADM-G) or, to let the classifier alone pick the class, the unconditional "
        "one $\\epsilon_\\theta(x_t, \\varnothing)$.",
        "ADM-G: ImageNet 256x256 FID 4.59 (3.94 with upsampling); classifier-free guidance: ImageNet 128x128 FID 2.43 "
        "at w = 0.3, with IS rising and FID U-shaped as w grows.",
        "36 classes (colour x shape) of the 32x32 shapes world; one 1.7M-parameter UNet with the label dropped to a "
        "null class 20% of the time (p_uncond) gives both predictions; a 0.4M-parameter classifier trained on noisy "
        "x_t at every t gives the gradient. Fidelity is judged by an analytical shape/colour reader, diversity as the "
        "spread of the drawn object's position and size, in place of IS / FID.",
        doc="guidance",
    )
    with gr.Row():
        with gr.Column(scale=1, min_width=260):
            label = gr.Dropdown(list(shapes.CLASSES), value="red circle", label="Class")
            method = gr.Radio(list(METHOD_LABELS), value="classifier-free", label="Guidance")
            scale = gr.Slider(
                0,
                15,
                value=3.0,
                step=0.5,
                label="Guidance scale s",
                info="s = 1 + w: 0 unconditional, 1 conditional, above 1 guided",
            )
            steps = gr.Slider(1, 1000, value=50, step=1, label="DDIM steps")
            with gr.Row():
                n = gr.Slider(1, guidance.MAX_BATCH, value=8, step=1, label="Batch size")
                seed = gr.Number(0, precision=0, label="Seed", minimum=0)
            with gr.Row():
                run = gr.Button("Generate", variant="primary")
                stop = gr.Button("Stop")
            status = gr.Markdown()
        with gr.Column(scale=2):
            with gr.Row():
                x_t = gr.Image(label="x_t", type="pil", format="png", height=300, elem_classes="pixelated")
                x0 = gr.Image(label="predicted x_0", type="pil", format="png", height=300, elem_classes="pixelated")
    ev = run.click(
        guidance_sample,
        [label, method, scale, steps, n, seed],
        [x_t, x0, status],
        api_name="guidance_sample",
        concurrency_id=HEAVY,
        concurrency_limit=1,
        show_progress="minimal",
        preprocess=False,  # every value reaches the engine's checks as sent
    )
    stop.click(None, None, None, cancels=[ev])
    with gr.Accordion("Sweep the scale: the fidelity / diversity trade-off", open=True):
        sweep_btn = gr.Button("Sweep scales (same seeds)")
        with gr.Row():
            gallery = gr.Gallery(label="Same seeds, increasing scale", columns=4, height=300)
            chart = gr.Plot()
        sweep_btn.click(
            guidance_sweep,
            [label, method, steps, n, seed],
            [gallery, chart],
            api_name="guidance_sweep",
            concurrency_id=HEAVY,
            concurrency_limit=1,
            preprocess=False,
        )
    gr.Examples(
        [
            ["red circle", "classifier-free", 3.0, 50, 8, 0],
            ["blue star", "classifier", 3.0, 50, 8, 0],
            ["red square", "classifier on the unconditional model", 10.0, 50, 8, 0],
            ["yellow triangle", "none (conditional model)", 1.0, 50, 8, 0],
            ["green square", "classifier-free", 7.0, 50, 8, 1],
        ],
        [label, method, scale, steps, n, seed],
        label="Try these",
    )
