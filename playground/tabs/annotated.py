"""Annotated Diffusion tab: the blog post made interactive, cell by cell."""

from __future__ import annotations

import time
from pathlib import Path

import gradio as gr
from PIL import Image

from engines import annotated, checks, ddpm, toy2d
from engines.core import checkpoint
from engines.core.nn import UNet2D
from engines.core.schedules import SCHEDULES

from ..widgets import (
    HEAVY,
    TRAINING,
    Throttle,
    curves_figure,
    loss_figure,
    paper_card,
    scatter_animation,
    scatter_figure,
    upload_path,
    user_errors,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@user_errors
def annotated_schedules(T: float):
    curves = annotated.schedule_curves(T)
    return (
        curves_figure(curves, "alpha_bar", "alpha_bar_t: how much signal is left", "alpha_bar"),
        curves_figure(curves, "log_snr", "log SNR(t)", "log SNR"),
    )


@user_errors
def annotated_forward(image, schedule: str, t: float, T: float, seed: float):
    """Runs with preprocess=False, so a file that is not an image reaches the engine and gets its clear message."""
    x_t, strip, ts = annotated.forward_process(upload_path(image), schedule, t, T, seed)
    big = x_t.resize((2 * x_t.width, 2 * x_t.height), Image.Resampling.NEAREST)  # show the noise pixel by pixel
    return big, strip, "strip at t = " + ", ".join(map(str, ts))


def network_table(dataset: str) -> list[list]:
    """Parts of the shipped DDPM network (or the live tiny one if the weights are missing), with parameter counts."""
    try:
        model, _ = checkpoint.load(ddpm.DATASETS[dataset].name)
    except FileNotFoundError:
        model = UNet2D(annotated.LIVE_NET)
    return [[a, b, f"{c:,}"] for a, b, c in annotated.network_parts(model)]


@user_errors
def annotated_toy(toy: str, sampler: str, steps: float, n: float, seed: float, arrows: bool):
    """Stream the cloud flowing from noise to the data (paced, at most ~10 frames a second) with the learned
    direction field at the current t; finish with an animation that can be replayed and scrubbed."""
    arrows = checks.flag("arrows", arrows)
    for s in toy2d.sample(toy, sampler, steps, n, seed):  # raw values (preprocess=False): the engine checks them
        if s.index == 0:
            ref, pace, snapshots = toy2d.data(toy, 1500, 7), Throttle(0.1), []
            keep_every = max(1, s.total // 40)
        last = s.index == s.total - 1
        if s.index % keep_every == 0 or last:
            snapshots.append((f"t={s.t}" if not last else "x_0", s.x.numpy()))
            while not pace():
                time.sleep(0.01)
            field = toy2d.direction_field(toy, s.t) if arrows and not last else None
            title = f"step {s.index + 1}/{s.total} · t = {s.t}"
            if not last:
                yield scatter_figure(s.x.numpy(), s.x0.numpy(), field, ref, title)
    yield scatter_animation(snapshots, ref, f"done: {s.total} steps of {sampler} · press Play or drag the slider")


@user_errors
def annotated_train(seconds: float, loss: str, schedule: str, seed: float):
    """Train a tiny DDPM on the digits for the chosen time, streaming its loss and samples."""
    samples = None
    for u in annotated.live_train(seconds, loss, schedule, seed=seed):  # raw values: the engine checks them
        samples = u.samples or samples
        status = f"step {u.step} · {u.seconds:.0f}/{float(seconds):.0f} s · loss {u.losses[-1]:.4f}" + (
            " · done" if u.done else ""
        )
        yield loss_figure(u.losses, f"{loss} loss while training"), samples if u.samples else gr.skip(), status


def build() -> None:
    live_params = annotated.network_parts(UNet2D(annotated.LIVE_NET))[-1][2]
    paper_card(
        "The Annotated Diffusion Model",
        "Rogge & Rasul · Hugging Face blog, 2022",
        "https://huggingface.co/blog/annotated-diffusion",
        "$q(x_t|x_0) = \\mathcal{N}(\\sqrt{\\bar\\alpha_t}\\,x_0, (1-\\bar\\alpha_t)I)$, so any $x_t$ is one step away from "
        "$x_0$; the network learns $\\epsilon_\\theta(x_t, t)$ with a Huber loss.",
        "The post has no benchmark; its observable is the Huber loss falling from 0.46 to about 0.045 after 5 epochs "
        "on Fashion-MNIST (the method's headline is DDPM's CIFAR-10 FID 3.17).",
        "Each cell of the post is live: schedules, the forward process on your image, the U-Net's parts, a 2-D toy "
        f"whose whole point cloud you can watch flow, and a 16x16 digits model ({live_params / 1e3:.0f}k parameters, "
        "T = 1000) trained here in about a minute instead of 5 epochs of Fashion-MNIST.",
        doc="annotated",
    )
    with gr.Accordion("1 · Noise schedules", open=True):
        T = gr.Slider(10, annotated.MAX_T, value=1000, step=10, label="T (diffusion steps)")
        ab0, snr0 = annotated_schedules(1000)
        with gr.Row():
            ab_plot, snr_plot = gr.Plot(ab0), gr.Plot(snr0)
        T.release(annotated_schedules, T, [ab_plot, snr_plot], api_name="annotated_schedules", preprocess=False)
    with gr.Accordion("2 · The forward process q(x_t | x_0)", open=True):
        with gr.Row():
            with gr.Column():
                image = gr.Image(
                    label="x_0: upload any image",
                    type="pil",
                    value=str(EXAMPLES / "astronaut.png"),
                    height=240,
                    sources=["upload", "clipboard"],
                )
                schedule = gr.Radio(list(SCHEDULES), value="linear", label="Schedule")
                t = gr.Slider(0, 999, value=250, step=1, label="t")
                fseed = gr.Number(0, precision=0, label="Noise seed", minimum=0)
            with gr.Column():
                first = annotated_forward(str(EXAMPLES / "astronaut.png"), "linear", 250, 1000, 0)
                x_t = gr.Image(first[0], label="x_t", type="pil", format="png", height=256)
                strip = gr.Image(first[1], label="x_t at several t", type="pil", format="png")
                ts_text = gr.Markdown(first[2])
        gr.Examples(
            [[str(EXAMPLES / f)] for f in ("astronaut.png", "chelsea.png", "coffee.png", "shapes_scene.png")],
            [image],
            label="Example images",
        )
        fwd_inputs = [image, schedule, t, T, fseed]
        fwd_outputs = [x_t, strip, ts_text]
        for trig in (t.change, schedule.change, image.change, fseed.change):  # cheap: follows the slider as it moves
            trig(
                annotated_forward,
                fwd_inputs,
                fwd_outputs,
                api_name="annotated_forward" if trig == t.change else False,
                show_progress="hidden",
                preprocess=False,
                trigger_mode="always_last",
            )
        T.release(lambda v: gr.Slider(maximum=int(v) - 1), T, t, api_visibility="private")
    with gr.Accordion("3 · The network, part by part", open=False):
        net_ds = gr.Radio(list(ddpm.DATASETS), value="digits", label="Shipped DDPM network")
        table = gr.Dataframe(
            headers=["part", "layers inside", "parameters"], value=network_table("digits"), interactive=False
        )
        net_ds.change(network_table, net_ds, table, api_visibility="private")
    with gr.Accordion("4 · A 2-D toy: watch every point flow", open=True):
        with gr.Row():
            with gr.Column(scale=1, min_width=240):
                toy = gr.Radio(list(toy2d.TOYS), value="moons", label="Data")
                toy_sampler = gr.Radio(["ddpm", "ddim", "dpm++"], value="ddpm", label="Sampler")
                toy_steps = gr.Slider(2, 200, value=60, step=1, label="Steps")
                toy_n = gr.Slider(100, toy2d.MAX_POINTS, value=1000, step=100, label="Points")
                toy_seed = gr.Number(0, precision=0, label="Seed", minimum=0)
                arrows = gr.Checkbox(True, label="Draw the denoising direction x0_hat - x_t as arrows")
                toy_run = gr.Button("Sample", variant="primary")
            toy_plot = gr.Plot(label="x_t, predicted x_0 and the learned direction")
        toy_run.click(
            annotated_toy,
            [toy, toy_sampler, toy_steps, toy_n, toy_seed, arrows],
            toy_plot,
            api_name="annotated_toy",
            concurrency_id=HEAVY,
            concurrency_limit=1,
            show_progress="minimal",
            preprocess=False,
        )
    with gr.Accordion("5 · Train it live", open=True):
        gr.Markdown(
            f"A fresh {live_params / 1e3:.0f}k-parameter U-Net learns the digits with the post's recipe (eps-prediction, Huber "
            "loss, Adam 1e-3, T = 1000). Samples (DDIM, 20 steps, same seed) refresh every 15 s."
        )
        with gr.Row():
            with gr.Column(scale=1, min_width=240):
                seconds = gr.Slider(5, annotated.MAX_LIVE_SECONDS, value=60, step=5, label="Seconds of training")
                loss = gr.Radio(["huber", "l2", "l1"], value="huber", label="Loss")
                live_sched = gr.Radio(list(SCHEDULES), value="linear", label="Schedule")
                live_seed = gr.Number(0, precision=0, label="Seed", minimum=0)
                with gr.Row():
                    train_btn = gr.Button("Train", variant="primary")
                    train_stop = gr.Button("Stop")
                train_status = gr.Markdown()
            loss_plot = gr.Plot(label="Loss")
            live_samples = gr.Image(label="Samples from the model being trained", type="pil", format="png")
        tev = train_btn.click(
            annotated_train,
            [seconds, loss, live_sched, live_seed],
            [loss_plot, live_samples, train_status],
            api_name="annotated_train",
            concurrency_id=TRAINING,
            concurrency_limit=1,
            show_progress="minimal",
            preprocess=False,
        )
        train_stop.click(None, None, None, cancels=[tev])
