"""Grad-TTS tab: type a sentence; watch the mel-spectrogram form from mu + noise by reverse diffusion, see the
prior's mean mu (the "average voice") and the alignment of phonemes to frames, and hear the result next to espeak."""

from __future__ import annotations

import gradio as gr
import numpy as np
import plotly.graph_objects as go

from engines import checks, gradtts
from engines.data import speech
from engines.images import heatmap

from ..widgets import HEAVY, Throttle, paper_card, user_errors

SAMPLER_LABELS = {"Euler (the paper's)": "euler", "DDIM (the core's, on X_t - mu)": "ddim",
                  "DPM-Solver++ 2M (the core's)": "dpm++"}
EXAMPLES = ["Return the popped value", "Wait for process to terminate", "Merge multiple sorted inputs into a single "
            "sorted output", "The argument may be a module, class, method, or function"]


def _picture(mel):
    """A log-mel as a picture, three pixels a frame (a frame is 11.6 ms)."""
    img = heatmap(mel.numpy(), 240)
    return img.resize((3 * img.width, img.height), 0)


def _audio(wav: np.ndarray):
    return speech.SAMPLE_RATE, (np.clip(wav, -1, 1) * 32767).astype(np.int16)


def alignment_figure(out: gradtts.Speech) -> go.Figure:
    """Phonemes (blanks shown as a dot) against frames: the durations the encoder predicted, as a heat map."""
    labels = [t or "·" for t in out.tokens]
    fig = go.Figure(go.Heatmap(z=out.alignment.numpy(), y=[f"{i}:{t}" for i, t in enumerate(labels)],
                               colorscale="Viridis", showscale=False))
    fig.update_layout(height=360, margin=dict(l=60, r=10, t=30, b=40), title="alignment: phonemes x frames",
                      xaxis_title="frame (11.6 ms)")
    return fig


@user_errors
def tts_speak(text, steps, temperature, length_scale, stoc, seed, sampler="euler"):
    """Stream the mel through the reverse steps; finish with the sound, mu's sound, espeak's and the alignment."""
    throttle = Throttle(0.25)
    sampler = checks.unlabel(sampler, SAMPLER_LABELS)
    for s in gradtts.speak(text, steps, temperature, length_scale, stoc, seed, sampler=sampler):
        if isinstance(s, gradtts.Step):
            s_total = s.total
            if throttle(force=s.index == 0):
                yield (_picture(s.mel), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(),
                       f"step {s.index + 1}/{s.total}, t = {s.t:.3f}")
            continue
        out = s
    wav = speech.griffin_lim(out.mel.numpy())
    mu_wav = speech.griffin_lim(out.mu.numpy())
    yield (_picture(out.mel), _picture(out.mu), alignment_figure(out), _audio(wav),
           _audio(mu_wav), _audio(out.reference),
           f"done: {len(wav) / speech.SAMPLE_RATE:.2f} s of speech ({out.mel.shape[1]} frames, "
           f"{sum(1 for t in out.tokens if t)} phonemes), {s_total} {'SDE' if stoc is True else 'ODE'} steps "
           f"({sampler}), "
           f"temperature {float(temperature):g}; Griffin-Lim turns each mel into sound")


def build() -> None:
    paper_card(
        "Grad-TTS: A Diffusion Probabilistic Model for Text-to-Speech",
        "Popov, Vovk, Gogoryan, Sadekova, Kudinov · ICML 2021",
        "https://arxiv.org/abs/2105.06337",
        "the encoder gives $\\tilde\\mu$ per phoneme and durations; Monotonic Alignment Search spreads it over the "
        "frames as $\\mu$; the forward SDE $dX_t = \\tfrac12\\beta_t(\\mu - X_t)dt + \\sqrt{\\beta_t}dW_t$ ends at "
        "$\\mathcal N(\\mu, I)$, and the decoder's score $s_\\theta(X_t, \\mu, t)$ runs it back from "
        "$z = \\mu + \\varepsilon/\\tau$.",
        "LJSpeech MOS 4.44 at 1000 steps (ground truth 4.53), and 4.38 at 10 steps.",
        "English sentences of Python's docstrings spoken by espeak-ng (2.4 hours, one voice) instead of LJSpeech; a "
        "1.4M-parameter model (the encoder with 3 Transformer layers, a 0.7M U-Net decoder) trained for 6,000 steps "
        "on 2 CPU cores; decoder crops of 1.5 s; Griffin-Lim instead of HiFi-GAN.",
        doc="gradtts",
    )
    with gr.Row():
        with gr.Column(scale=1, min_width=280):
            text = gr.Textbox(EXAMPLES[0], label="Text (English)", lines=2, max_lines=4)
            steps = gr.Slider(1, gradtts.MAX_STEPS, value=10, step=1, label="Reverse-diffusion steps N")
            temperature = gr.Slider(0.5, 5.0, value=1.5, step=0.1, label="Temperature tau (z = mu + eps / tau)")
            length_scale = gr.Slider(0.5, 2.0, value=1.0, step=0.05, label="Length scale (larger: slower)")
            sampler = gr.Radio(list(SAMPLER_LABELS), value=list(SAMPLER_LABELS)[0], label="Sampler")
            stoc = gr.Checkbox(False, label="Stochastic (Euler: the reverse SDE instead of the ODE; DDIM: eta = 1)")
            seed = gr.Number(0, precision=0, label="Seed", minimum=0)
            with gr.Row():
                run = gr.Button("Speak", variant="primary")
                stop = gr.Button("Stop")
            status = gr.Markdown("Press Speak: the mel forms from mu + noise, step by step.")
            gr.Examples([[e] for e in EXAMPLES], [text], label="Held-out sentences (never trained on)")
        with gr.Column(scale=2):
            mel = gr.Image(label="mel-spectrogram (live: x_t)", type="pil", format="png", height=240)
            mu = gr.Image(label="mu: the prior's mean, the 'average voice'", type="pil", format="png", height=240)
            with gr.Row():
                audio = gr.Audio(label="Grad-TTS", type="numpy")
                audio_mu = gr.Audio(label="mu alone", type="numpy")
                audio_ref = gr.Audio(label="espeak's own voice", type="numpy")
            align = gr.Plot(label="Alignment")
    ev = run.click(tts_speak, [text, steps, temperature, length_scale, stoc, seed, sampler],
                   [mel, mu, align, audio, audio_mu, audio_ref, status], api_name="tts_speak", concurrency_id=HEAVY,
                   concurrency_limit=1, show_progress="minimal", preprocess=False)
    stop.click(None, None, None, cancels=[ev])
