"""DDPM tab: pick data set, sampler, steps, eta, seed and batch; watch x_t and the predicted x_0 denoise live."""

from __future__ import annotations

import tempfile

import gradio as gr

from engines import ddpm
from engines.checks import unlabel
from engines.images import batch_grid, grid, save_gif, to_pil

from ..widgets import HEAVY, Throttle, paper_card, schedule_figure, user_errors

SAMPLER_LABELS = {"DDPM (ancestral, Alg. 2)": "ddpm", "DDIM": "ddim", "DPM-Solver++ (2M)": "dpm++"}
MAX_GIF_FRAMES = 60
STRIP_LEN = 10


def _upscale(dataset: str) -> int:
    return 4 if dataset == "digits" else 2


@user_errors
def ddpm_sample(dataset: str, sampler: str, steps: float, eta: float, seed: float, n: float):
    """Stream x_t and x0_hat grids (about every 0.2 s) with the schedule chart; finish with grid, strip and GIF."""
    r = ddpm.validate(dataset, unlabel(sampler, SAMPLER_LABELS), steps, n, eta, seed)  # raw values: preprocess=False
    dataset, sampler, steps, n, eta, seed = r.dataset, r.sampler, r.steps, r.n, r.eta, r.seed
    curves = ddpm.schedule_curves(dataset)
    up = _upscale(dataset)
    throttle = Throttle(0.2)
    gif_frames, strip = [], []
    gif_every = max(1, steps // MAX_GIF_FRAMES)
    strip_every = max(1, steps // STRIP_LEN)
    for s in ddpm.sample(dataset, sampler, steps, n, seed, eta):
        last = s.index == s.total - 1
        if s.index % strip_every == 0 or last:
            strip.append(to_pil(s.x[0]))
        if s.index % gif_every == 0 or last:
            gif_frames.append(batch_grid(s.x, up // 2))
        if throttle(force=s.index == 0 or last):
            chart = schedule_figure(curves["alpha_bar"], curves["log_snr"], s.t)
            status = f"step {s.index + 1}/{s.total} · t = {s.t} · {sampler}"
            x_t, x0 = batch_grid(s.x, up), batch_grid(s.x0, up)
            if not last:
                yield x_t, x0, chart, status, gr.skip(), gr.skip(), gr.skip()
    gif = save_gif(
        gif_frames,
        tempfile.NamedTemporaryFile(suffix=".gif", delete=False).name,
        duration_ms=max(40, 3000 // len(gif_frames)),
    )
    strip_img = grid(strip, cols=len(strip), upscale=6 if dataset == "digits" else 3, pad=2)
    yield x_t, x0, chart, f"done: {n} samples, {s.total} steps of {sampler}", x_t, strip_img, str(gif)


def build() -> None:
    paper_card(
        "Denoising Diffusion Probabilistic Models",
        "Ho, Jain, Abbeel · NeurIPS 2020",
        "https://arxiv.org/abs/2006.11239",
        "train on $L_{simple} = \\mathbb{E}\\|\\epsilon - \\epsilon_\\theta(\\sqrt{\\bar\\alpha_t}x_0 + \\sqrt{1-\\bar\\alpha_t}\\epsilon, t)\\|^2$, "
        "sample with $x_{t-1} = \\frac{1}{\\sqrt{\\alpha_t}}\\big(x_t - \\frac{\\beta_t}{\\sqrt{1-\\bar\\alpha_t}}\\epsilon_\\theta(x_t,t)\\big) + \\sigma_t z$ (Algorithm 2).",
        "CIFAR-10 unconditional FID 3.17, Inception score 9.46, with a 35.7M-parameter U-Net trained 800k steps on TPUs.",
        "1.2M (digits, 16x16) and 1.7M (shapes, 32x32) parameter U-Nets trained on 2 CPU cores for 2,000 and 6,000 steps (26 and 94 minutes); "
        "T = 1000. The nets predict v on a cosine schedule with Min-SNR weighting (Nichol & Dhariwal 2021, "
        "Salimans & Ho 2022, Hang et al. 2023), which converges several times faster here; every sampler turns v "
        "into the eps of Algorithm 2. DDIM (Song et al. 2021) and DPM-Solver++ (Lu et al. 2022) run on the same net.",
        doc="ddpm",
    )
    with gr.Row():
        with gr.Column(scale=1, min_width=260):
            dataset = gr.Radio(list(ddpm.DATASETS), value="digits", label="Data set")
            sampler = gr.Radio(list(SAMPLER_LABELS), value="DDIM", label="Sampler")
            steps = gr.Slider(
                1,
                ddpm.MAX_STEPS,
                value=50,
                step=1,
                label="Steps",
                info="DDPM needs hundreds; DDIM ~50; DPM-Solver++ ~20",
            )
            eta = gr.Slider(
                0, 1, value=0.0, step=0.05, label="eta (DDIM)", info="0 = deterministic, 1 = as noisy as DDPM"
            )
            with gr.Row():
                seed = gr.Number(0, precision=0, label="Seed", minimum=0)
                n = gr.Slider(1, 64, value=16, step=1, label="Batch size")
            with gr.Row():
                run = gr.Button("Generate", variant="primary")
                stop = gr.Button("Stop")
            status = gr.Markdown("Press Generate to watch noise turn into samples.")
        with gr.Column(scale=2):
            with gr.Row():
                x_t = gr.Image(label="x_t (the sample being denoised)", type="pil", format="png", height=300)
                x0 = gr.Image(label="predicted x_0 at this step", type="pil", format="png", height=300)
            chart = gr.Plot(label="Schedule, current step marked")
    with gr.Row():
        final = gr.Image(label="Final samples", type="pil", format="png")
        with gr.Column():
            strip = gr.Image(label="Trajectory of the first sample (noise -> data)", type="pil", format="png")
            gif = gr.File(label="GIF of the whole run")
    ev = run.click(
        ddpm_sample,
        [dataset, sampler, steps, eta, seed, n],
        [x_t, x0, chart, status, final, strip, gif],
        api_name="ddpm_sample",
        concurrency_id=HEAVY,
        concurrency_limit=1,
        show_progress="minimal",
        preprocess=False,  # every value reaches the engine's checks as sent
    )
    stop.click(None, None, None, cancels=[ev])
    gr.Examples(
        [
            ["digits", "DDIM", 50, 0.0, 0, 64],
            ["digits", "DPM-Solver++ (2M)", 20, 0.0, 1, 64],
            ["digits", "DDPM (ancestral, Alg. 2)", 250, 1.0, 2, 16],
            ["shapes", "DDIM", 50, 0.0, 0, 16],
            ["shapes", "DPM-Solver++ (2M)", 20, 0.0, 3, 16],
        ],
        [dataset, sampler, steps, eta, seed, n],
        label="Try these",
    )
