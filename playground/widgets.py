"""Shared UI pieces: the paper card, friendly errors, and the plotly charts that several tabs draw."""

from __future__ import annotations

import functools
import inspect
import logging
import math
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import gradio as gr
import gradio.utils as gr_utils
import numpy as np
import plotly.graph_objects as go

from engines import checks
from engines.core.checkpoint import MissingWeightsError

from .compute import on_compute_thread

HEAVY = "cpu"  # concurrency id shared by every sampling event: one at a time on a 2-core machine
TRAINING = "train"  # live training gets a slot of its own, so it never blocks sampling
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
UNEXPECTED = "the app hit an unexpected error"  # the start of a message that is a bug, not a visitor's mistake


DOCS = Path(__file__).resolve().parents[1] / "docs"  # app.py serves it as static files (gr.set_static_paths)


def paper_card(title: str, authors: str, link: str, equation: str, headline: str, scaled: str,
               doc: str) -> gr.Markdown:
    """The card atop each tab: the paper, its key equation, its headline number, what this small version changes,
    and a link to docs/<doc>.md, the story of how its numbers were measured."""
    return gr.Markdown(
        f"### [{title}]({link})\n*{authors}*\n\n"
        f"**Key equation.** {equation}\n\n**Headline in the paper.** {headline}\n\n**Here, scaled down.** {scaled}"
        f"\n\n**How it was measured:** [docs/{doc}.md](gradio_api/file={DOCS / doc}.md)",
        latex_delimiters=[
            {"left": "$$", "right": "$$", "display": True},
            {"left": "$", "right": "$", "display": False},
        ],
    )


def _as_gr_error(e: Exception) -> gr.Error:
    """The gr.Error a visitor sees for an exception from an event: the engines' ValueError / FileNotFoundError
    message as it is; anything else (a bug, not bad input) named as unexpected, with its text, and logged."""
    if isinstance(e, (ValueError, FileNotFoundError)):
        return gr.Error(str(e), duration=None if isinstance(e, MissingWeightsError) else 10)
    logging.getLogger("playground").error("unexpected error in an event", exc_info=e)
    return gr.Error(f"{UNEXPECTED} ({type(e).__name__}: {e}); the input may be valid: please report it", duration=None)


def user_errors(fn: Callable) -> Callable:
    """Turn every exception of an event into a gr.Error with its message (the engines' ValueError / missing-weights
    errors as they are, anything else as an unexpected error), so the UI and the API never show a bare "Error";
    the body runs on the app's compute thread (playground/compute.py)."""
    fn = on_compute_thread(fn)

    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def gen(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except gr.Error:
                raise
            except Exception as e:
                raise _as_gr_error(e) from e

        return gen

    @functools.wraps(fn)
    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except Exception as e:
            raise _as_gr_error(e) from e

    return call


def upload_roots() -> list[Path]:
    """The only folders an upload is read from: Gradio's upload folder (GRADIO_TEMP_DIR or its default) and the
    repository's examples/."""
    return [Path(gr_utils.get_upload_folder()), EXAMPLES]


def upload_path(payload) -> str | None:
    """The file path of a raw (preprocess=False) image payload or a path, if the file lies in upload_roots();
    ValueError otherwise, so an API caller cannot make the app read a file it did not upload."""
    if isinstance(payload, dict):
        if not payload.get("path") and payload.get("url"):
            raise ValueError("images are read from uploads, not from URLs: download the picture and upload it")
        payload = payload.get("path")
    if payload is None:
        return None
    return str(checks.inside(payload, upload_roots()))


def _editor_paths(payload) -> list:
    return [f.path for f in [payload.background, payload.composite, *payload.layers] if f is not None and f.path]


def _number(c: gr.Slider | gr.Number, payload) -> float:
    """A slider's or number field's raw value through the engines' number check, with the component's range."""
    lo = -math.inf if c.minimum is None else c.minimum
    hi = math.inf if c.maximum is None else c.maximum
    return checks.number(c.label or type(c).__name__, payload, lo, hi)


def _unreadable(c: gr.components.Component, payload, e: Exception) -> str:
    """What to tell a visitor whose value Gradio's preprocessing of component c failed on."""
    label = c.label or type(c).__name__
    if isinstance(e, ValueError) and not isinstance(c, (gr.Slider, gr.Number)):
        return str(e)  # upload_path's message
    if isinstance(c, (gr.Slider, gr.Number)):
        try:
            _number(c, payload)
        except ValueError as v:
            return str(v)
    if isinstance(c, (gr.Image, gr.ImageEditor)):
        return f"{label}: that file is not an image this app can read ({type(e).__name__}): upload a PNG or JPEG"
    return f"{label}: could not read {checks.shown(payload)} ({type(e).__name__})"


def clear_preprocess(*components: gr.components.Component) -> list[gr.components.Component]:
    """For an event that keeps Gradio's preprocessing (the ImageEditor needs it: the browser sends its layers as
    blobs that only its preprocess reads): Gradio answers a wrong type (a string or None for a slider, NaN for a
    whole-number field) with a bare "Error"; this makes those components answer with the engines' checks' message
    instead, and read editor files only from upload_roots(). Returns the components, for the event's inputs."""
    for c in components:
        original = c.preprocess

        def preprocess(payload, _original=original, _c=c):
            try:
                if isinstance(_c, gr.ImageEditor) and payload is not None:
                    for path in _editor_paths(payload):
                        upload_path(path)
                if isinstance(_c, (gr.Slider, gr.Number)) and payload is not None:
                    _number(_c, payload)  # Gradio would round True to 1 and let NaN through a slider
                return _original(payload)
            except gr.Error:
                raise
            except Exception as e:
                raise gr.Error(_unreadable(_c, payload, e)) from e

        c.preprocess = preprocess
    return list(components)


class Throttle:
    """True at most every `every` seconds (and always for the first and last call), to keep streaming light."""

    def __init__(self, every: float):
        self.every, self.last = every, -1e9

    def __call__(self, force: bool = False) -> bool:
        now = time.perf_counter()
        if force or now - self.last >= self.every:
            self.last = now
            return True
        return False


@dataclass
class PromptControls:
    """The text-to-image controls the Imagen and Latent Diffusion tabs share."""

    prompt: gr.Textbox
    scale: gr.Slider
    steps: gr.Slider
    n: gr.Slider
    seed: gr.Number
    run: gr.Button
    stop: gr.Button
    status: gr.Markdown


def prompt_controls(
    default: str, max_batch: int, extra: Callable[[], None] | None = None, steps_label: str = "Steps", scale: float = 5.0
) -> PromptControls:
    """Prompt, guidance scale, [extra controls], steps / images / seed, Generate + Stop, and a status line."""
    prompt = gr.Textbox(default, label="Prompt", max_lines=2, placeholder="e.g. a red circle on the left")
    scale = gr.Slider(0, 20, value=scale, step=0.5, label="Guidance scale s (0 = unconditional, 1 = conditional)")
    if extra is not None:
        extra()
    with gr.Row():
        steps = gr.Slider(1, 250, value=50, step=1, label=steps_label)
        n = gr.Slider(1, max_batch, value=4, step=1, label="Images")
        seed = gr.Number(0, precision=0, label="Seed", minimum=0)
    with gr.Row():
        run = gr.Button("Generate", variant="primary")
        stop = gr.Button("Stop")
    return PromptControls(prompt, scale, steps, n, seed, run, stop, gr.Markdown())


def _layout(fig: go.Figure, title: str, height: int = 280) -> go.Figure:
    fig.update_layout(
        title=title,
        height=height,
        margin=dict(l=50, r=20, t=40, b=40),
        template="plotly_white",
        legend=dict(orientation="h", y=-0.25),
    )
    return fig


def schedule_figure(
    alpha_bar: np.ndarray, log_snr: np.ndarray, t_mark: int | None = None, title: str = "Noise schedule"
) -> go.Figure:
    """alpha_bar_t and log SNR_t against t, with the current step marked."""
    T = len(alpha_bar)
    idx = np.unique(np.linspace(0, T - 1, min(T, 250)).astype(int))
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=idx, y=alpha_bar[idx], name="alpha_bar_t", line=dict(color="#3b5bdb")))
    fig.add_trace(
        go.Scatter(x=idx, y=log_snr[idx], name="log SNR(t)", yaxis="y2", line=dict(color="#e8590c", dash="dot"))
    )
    if t_mark is not None:
        fig.add_vline(x=int(t_mark), line=dict(color="#2b8a3e", width=2))
        fig.add_trace(
            go.Scatter(
                x=[t_mark],
                y=[alpha_bar[int(t_mark)]],
                mode="markers",
                name=f"now: t={int(t_mark)}",
                marker=dict(size=10, color="#2b8a3e"),
            )
        )
    fig.update_layout(
        xaxis_title="t",
        yaxis=dict(title="alpha_bar", range=[0, 1.02]),
        yaxis2=dict(title="log SNR", overlaying="y", side="right", showgrid=False),
    )
    return _layout(fig, title)


def curves_figure(curves: dict[str, dict[str, np.ndarray]], key: str, title: str, ytitle: str) -> go.Figure:
    """One line per named curve (for comparing schedules)."""
    fig = go.Figure()
    for name, c in curves.items():
        y = c[key]
        fig.add_trace(go.Scatter(x=np.arange(len(y)), y=y, name=name))
    fig.update_layout(xaxis_title="t", yaxis_title=ytitle)
    return _layout(fig, title, 300)


def loss_figure(losses: Sequence[float], title: str = "Training loss") -> go.Figure:
    """The loss per step and its running mean."""
    y = np.asarray(losses, dtype=float)
    fig = go.Figure()
    if len(y):
        k = max(1, len(y) // 20)
        smooth = np.convolve(y, np.ones(k) / k, mode="valid")
        fig.add_trace(go.Scatter(y=y, name="loss", line=dict(color="#adb5bd", width=1)))
        fig.add_trace(go.Scatter(x=np.arange(k - 1, len(y)), y=smooth, name=f"mean of {k}", line=dict(color="#3b5bdb")))
    fig.update_layout(xaxis_title="step", yaxis_title="loss", yaxis_type="log")
    return _layout(fig, title)


def arrow_segments(points: np.ndarray, vectors: np.ndarray, scale: float) -> tuple[list, list]:
    """x and y lists (None-separated) drawing an arrow from each point along its vector, with a small head."""
    xs, ys = [], []
    for (x, y), (u, v) in zip(points, vectors * scale):
        ex, ey = x + u, y + v
        n = np.hypot(u, v) + 1e-9
        hx, hy = -u / n * 0.12, -v / n * 0.12
        xs += [x, ex, None, ex, ex + hx - hy * 0.6, None, ex, ex + hx + hy * 0.6, None]
        ys += [y, ey, None, ey, ey + hy + hx * 0.6, None, ey, ey + hy - hx * 0.6, None]
    return xs, ys


def scatter_figure(
    points: np.ndarray,
    x0_hat: np.ndarray | None,
    field: tuple[np.ndarray, np.ndarray] | None,
    data: np.ndarray | None,
    title: str,
    extent: float = 3.0,
) -> go.Figure:
    """The toy: the data (faint), the current cloud x_t, its predicted x_0, and the denoising direction as arrows."""
    fig = go.Figure()
    if data is not None:
        fig.add_trace(
            go.Scatter(x=data[:, 0], y=data[:, 1], mode="markers", name="data", marker=dict(size=3, color="#dee2e6"))
        )
    if field is not None:
        pts, vec = field
        xs, ys = arrow_segments(pts, vec, 0.25)
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name="x0_hat - x_t", line=dict(color="#f08c00", width=1)))
    if x0_hat is not None:
        fig.add_trace(
            go.Scatter(
                x=x0_hat[:, 0],
                y=x0_hat[:, 1],
                mode="markers",
                name="predicted x_0",
                marker=dict(size=3, color="#ff8787", opacity=0.5),
            )
        )
    fig.add_trace(
        go.Scatter(x=points[:, 0], y=points[:, 1], mode="markers", name="x_t", marker=dict(size=4, color="#3b5bdb"))
    )
    fig.update_layout(xaxis=dict(range=[-extent, extent]), yaxis=dict(range=[-extent, extent], scaleanchor="x"))
    return _layout(fig, title, 460)


def scatter_animation(
    snapshots: list[tuple[str, np.ndarray]], data: np.ndarray | None, title: str, extent: float = 3.0
) -> go.Figure:
    """The whole flow as a plotly animation: a play button and a slider over (label, points) snapshots."""
    last_label, last = snapshots[-1]
    fig = scatter_figure(last, None, None, data, title, extent)
    moving = len(fig.data) - 1  # the x_t trace is drawn last
    fig.frames = [
        go.Frame(data=[go.Scatter(x=p[:, 0], y=p[:, 1])], traces=[moving], name=label) for label, p in snapshots
    ]
    steps = [
        dict(
            method="animate",
            label=label,
            args=[[label], dict(mode="immediate", frame=dict(duration=0, redraw=True), transition=dict(duration=0))],
        )
        for label, _ in snapshots
    ]
    fig.update_layout(
        updatemenus=[
            dict(
                type="buttons",
                x=0,
                y=-0.12,
                xanchor="left",
                showactive=False,
                buttons=[
                    dict(
                        label="Play",
                        method="animate",
                        args=[
                            None,
                            dict(frame=dict(duration=80, redraw=True), transition=dict(duration=0), fromcurrent=False),
                        ],
                    )
                ],
            )
        ],
        sliders=[dict(active=len(steps) - 1, steps=steps, x=0.12, y=-0.05, len=0.88, currentvalue=dict(prefix=""))],
        height=520,
    )
    return fig


def mesh_view(paths: list[str] | None):
    """A fresh copy of the first GLB among a run's files, for a mesh viewer (LION, DreamFusion). gr.Model3D (Gradio
    6.31) leaves a GLB that a streaming event's last update sets unloaded (no request for it), and ignores the same
    path set again; a new path set by a plain event loads (measured in headless Chromium: the viewer's canvas and its
    pixels)."""
    glb = next((p for p in paths or [] if str(p).endswith(".glb")), None)
    if glb is None:
        return gr.skip()
    with tempfile.NamedTemporaryFile(prefix="mesh_view_", suffix=".glb", delete=False) as f:
        shutil.copyfile(glb, f.name)
    return f.name
