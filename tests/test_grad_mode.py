"""Streaming engines leave no grad mode behind between their steps.

Gradio resumes a streaming generator on whichever worker thread is free, and grad mode is thread-local: an engine
that held `torch.inference_mode()` across a yield left the thread that ran its step in inference mode, and the next
job on that thread (the Annotated tab's live training) failed.
"""

import threading

import pytest
import torch

from conftest import ROOT, needs
from engines import ddpm, guidance, imagen, ldm, palette, sr3, toy2d
from engines.core.samplers import Denoiser, sample_loop
from engines.core.schedules import make_schedule

STREAMS = [
    pytest.param(lambda: toy2d.sample("moons", "ddim", 3, 50), marks=needs("toy-moons"), id="toy2d"),
    pytest.param(lambda: ddpm.sample("digits", "ddim", 3, 2), marks=needs("ddpm-digits"), id="ddpm"),
    pytest.param(lambda: guidance.sample("red circle", "cfg", 3.0, 3, 2), marks=needs("guided-shapes"), id="cfg"),
    pytest.param(
        lambda: guidance.sample("red circle", "classifier", 3.0, 3, 2),
        marks=needs("guided-shapes", "classifier-shapes"),
        id="classifier",
    ),
    pytest.param(lambda: sr3.upscale(str(ROOT / "examples" / "coffee.png"), 3), marks=needs("sr3-photos"), id="sr3"),
    pytest.param(
        lambda: palette.restore(palette.prepare("jpeg", str(ROOT / "examples" / "coffee.png"), quality=10), 3),
        marks=needs("palette-jpeg"),
        id="palette",
    ),
    pytest.param(
        lambda: imagen.generate("red circle", steps=3, n=1, sr_steps=2),
        marks=needs("imagen-base", "imagen-sr"),
        id="imagen",
    ),
    pytest.param(
        lambda: ldm.generate("red circle", steps=3, n=1), marks=needs("ldm-autoencoder", "ldm-text"), id="ldm"
    ),
]


def modes() -> tuple[bool, bool]:
    return torch.is_inference_mode_enabled(), torch.is_grad_enabled()


@pytest.mark.parametrize("make", STREAMS)
def test_between_steps_the_caller_keeps_its_grad_mode(make):
    stream, seen = make(), []
    for _ in stream:
        seen.append(modes())
    assert len(seen) >= 3 and set(seen) == {(False, True)}


def test_a_sampler_step_run_on_another_thread_leaves_that_thread_as_it_was():
    def steps_seen_grad(x, t, c):
        seen.append(torch.is_grad_enabled())
        return torch.zeros_like(x)

    seen, after = [], []
    denoiser = Denoiser(steps_seen_grad, "eps")
    stream = sample_loop("ddim", denoiser, torch.randn(2, 1, 4, 4), make_schedule("linear", 100), 3)
    for _ in range(3):  # each step on a fresh thread, as Gradio's worker pool may do
        t = threading.Thread(target=lambda: (next(stream), after.append(modes())))
        t.start()
        t.join()
    assert seen == [False] * 3  # the network runs without grad
    assert after == [(False, True)] * 3  # and the thread gets its grad mode back
