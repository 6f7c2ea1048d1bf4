"""`python -m engines.bench`: the speed table (markdown) of every engine on this machine; not a timed test.

Each row is the median of several runs after a warm-up. Engines time engines only: the app's rows (the first streamed
frame through gradio_client) live on the Gradio side, in `python -m playground.bench`, which prints this table and
those rows together.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from typing import Callable

import numpy as np
import torch


def warm_up(fn: Callable[[], object]) -> None:
    """Run fn once and wait for the ONNX exports it started (engines/core/runtime.py): time the steady state."""
    from .core import runtime

    fn()
    runtime.wait_all(300)


def timed(fn: Callable[[], object], repeats: int = 3) -> float:
    """Median wall time of fn() over `repeats` runs, after one warm-up run (and the exports it started)."""
    warm_up(fn)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def timed_pair(fa: Callable[[], object], fb: Callable[[], object], repeats: int = 3) -> tuple[float, float, float]:
    """Median wall times of fa() and fb(), run in turn (a, b, a, b, ...) after a warm-up of each, and the median of
    the ratios b / a of each turn: a ratio that a change of the machine's load between two rows cannot skew."""
    warm_up(fa), warm_up(fb)
    ta, tb = [], []
    for _ in range(repeats):
        for fn, ts in ((fa, ta), (fb, tb)):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
    return statistics.median(ta), statistics.median(tb), statistics.median(b / a for a, b in zip(ta, tb))


def drain(gen) -> None:
    for _ in gen:
        pass


Row = tuple[str, str, float | str]


def rows() -> list[Row]:
    """(what, target, seconds or a ready string) for each engine benchmark."""
    from . import annotated, ddpm, toy2d

    out = [
        (
            "DDPM digits: 64 images, DDIM 50 steps",
            "< 3 s",
            timed(lambda: drain(ddpm.sample("digits", "ddim", 50, 64, 0))),
        ),
        (
            "DDPM digits: 64 images, DPM-Solver++ 20 steps",
            "",
            timed(lambda: drain(ddpm.sample("digits", "dpm++", 20, 64, 0))),
        ),
        (
            "DDPM digits: 64 images, DDPM ancestral 1000 steps",
            "",
            timed(lambda: drain(ddpm.sample("digits", "ddpm", 1000, 64, 0)), 1),
        ),
        (
            "DDPM shapes: 16 images 32x32, DDIM 50 steps",
            "< 5 s",
            timed(lambda: drain(ddpm.sample("shapes", "ddim", 50, 16, 0))),
        ),
        (
            "Annotated toy: 1,000 points, DDPM 60 steps",
            "",
            timed(lambda: drain(toy2d.sample("moons", "ddpm", 60, 1000, 0))),
        ),
        (
            "Annotated live training: 100 steps (batch 64)",
            "",
            timed(lambda: drain(annotated.live_train(180, max_steps=100, preview_every=1e9)), 1),
        ),
    ]
    out += issue3_rows()
    out += issue4_rows()
    out += lion_rows()
    out += gradtts_rows()
    out += dreamfusion_rows()
    out += video_rows()
    return out


def issue3_rows() -> list[tuple[str, str, float]]:
    """Guidance, SR3 and Palette at 50 steps, for the models that are shipped."""
    from . import guidance, palette, sr3
    from .images import to_pil
    from .train import SHIPPED

    out = []
    if guidance.MODEL in SHIPPED:
        out.append(("Guidance: 8 shapes, classifier-free s=3, DDIM 50 steps", "< 5 s",
                    timed(lambda: drain(guidance.sample("red circle", "cfg", 3.0, 50, 8, 0)))))
        out.append(("Guidance: 8 shapes, classifier s=3, DDIM 50 steps", "",
                    timed(lambda: drain(guidance.sample("red circle", "classifier", 3.0, 50, 8, 0)), 1)))
    if sr3.MODEL in SHIPPED:
        lr = "examples/sr3_coffee_lr.png"
        out.append(("SR3: one 16x16 -> 64x64, 50 steps", "< 5 s", timed(lambda: drain(sr3.upscale(lr, 50, 0)))))
    if palette.MODEL in SHIPPED:
        hole = to_pil(palette.centre_box()[0] * 2 - 1)
        job = palette.prepare("inpainting", "examples/coffee.png", hole)
        out.append(("Palette: one 64x64 inpainting, 50 steps", "< 5 s",
                    timed(lambda: drain(palette.restore(job, 50, 1, 0)))))
    if palette.JPEG_MODEL in SHIPPED:
        job = palette.prepare("jpeg", "examples/coffee.png", quality=10)
        out.append(("Palette: one 64x64 JPEG restoration (the JPEG model), 50 steps", "< 5 s",
                    timed(lambda: drain(palette.restore(job, 50, 1, 0)))))
        out.append(("Palette: four JPEG restorations and their mean, 50 steps", "",
                    timed(lambda: drain(palette.restore(job, 50, 4, 0)))))
    return out


def issue4_rows() -> list[tuple[str, str, float | str]]:
    """Imagen's cascade and Latent Diffusion, four 64x64 images each, and the latent / pixel speed ratio."""
    from . import imagen, ldm
    from .train import SHIPPED

    out: list[tuple[str, str, float | str]] = []
    prompt = "a red circle to the left of a blue square"
    if {imagen.BASE, imagen.SR} <= set(SHIPPED):
        out.append(("Imagen: four 64x64 images, base 50 + SR 25 steps", "< 10 s",
                    timed(lambda: drain(imagen.generate(prompt, imagen.SCALE, 50, 4, 0, imagen.PERCENTILE, 25)))))
    if {ldm.AE, ldm.LDM} <= set(SHIPPED):
        def latent() -> object:
            return ldm.timed_generation(prompt, 50, 4)

        if not {imagen.BASE, imagen.SR} <= set(SHIPPED):
            out.append(("Latent Diffusion: four 64x64 images, 50 steps, decoding included", "< 3 s", timed(latent)))
            return out
        t_latent, t_pixel, ratio = timed_pair(
            latent, lambda: drain(imagen.generate(prompt, imagen.SCALE, 50, 4, 0, imagen.PERCENTILE, 50)), 5
        )
        out.append(("Latent Diffusion: four 64x64 images, 50 steps, decoding included", "< 3 s", t_latent))
        out.append(("Pixel space at 64x64 (Imagen cascade, 50 + 50 steps): four images", "", t_pixel))
        out.append(("Latent vs pixel space at 64x64, same steps (median of 5 turns, each timing both)", ">= 4x",
                    f"{ratio:.1f}x"))
    return out


def lion_rows() -> list[Row]:
    """LION: one 2,048-point shape through both priors (25 DDIM steps each) and the decoder, and its mesh."""
    from . import lion
    from .core.mesh import points_mesh
    from .train import SHIPPED

    if not set(lion.MODELS) <= set(SHIPPED):
        return []
    one = lambda: lion.final_shapes(lion.sample("chair", 1, 25, 0))  # noqa: E731
    points = one().points[0].numpy()
    return [
        ("LION: one 2,048-point shape, 25 DDIM steps of each prior + decoding", "< 1 s", timed(one)),
        ("LION: 16 shapes, 25 DDIM steps of each prior + decoding (per shape)", "",
         timed(lambda: lion.final_shapes(lion.sample("chair", 16, 25, 0)), 1) / 16),
        ("LION: the mesh of one shape (closed offset, marching cubes, shrink-wrap)", "< 1 s",
         timed(lambda: points_mesh(points))),
    ]


def gradtts_rows() -> list[Row]:
    """Grad-TTS: text to a waveform (espeak's phonemes, the encoder, 10 ODE steps, Griffin-Lim) against the length of
    the speech, and the wait for the first streamed mel."""
    from . import gradtts
    from .data import speech
    from .train import SHIPPED

    if gradtts.MODEL not in SHIPPED:
        return []
    text = "Merge multiple sorted inputs into a single sorted output"
    voice = gradtts.load()

    def say() -> np.ndarray:
        return speech.griffin_lim(gradtts.final_speech(gradtts.speak(text, 10, 1.5, 1.0, False, 0, voice)).mel.numpy())

    seconds = len(say()) / speech.SAMPLE_RATE
    wall = timed(say, 5)
    return [
        (f"Grad-TTS: one sentence ({seconds:.2f} s of speech), 10 ODE steps + Griffin-Lim", "", wall),
        ("Grad-TTS: real-time factor of that (seconds of compute per second of speech)", "<= 0.1",
         f"{wall / seconds:.3f}"),
        ("Grad-TTS: text to the first reverse step's mel (espeak, encoder, one decoder step)", "< 1 s",
         timed(lambda: next(iter(gradtts.speak(text, 10, 1.5, 1.0, False, 0, voice))), 5)),
    ]


def dreamfusion_rows() -> list[Row]:
    """DreamFusion: one prompt at the default iterations (SDS, then the mesh, views and turntable), and the wait for
    the first streamed views."""
    from . import dreamfusion as df
    from .train import SHIPPED

    if df.MODEL not in SHIPPED:
        return []

    def whole() -> object:
        return df.outputs(df.final_result(df.generate("a red ball", df.ITERS, df.GUIDANCE, 0)))

    return [
        (f"DreamFusion: one prompt, {df.ITERS} SDS iterations + mesh, eight views, turntable", "<= 60 s",
         timed(whole, 1)),
        ("DreamFusion: the prompt to its first streamed views", "< 2 s",
         timed(lambda: next(iter(df.generate("a red ball", df.ITERS, df.GUIDANCE, 0))), 3)),
    ]


def video_rows() -> list[Row]:
    """Imagen Video: one 16-frame clip through the whole cascade (distilled 8-step base and the teacher at 32 steps), the
    base stage alone for each, and the click to the first streamed frames."""
    from . import video
    from .train import SHIPPED

    if not {"video-base", "video-tsr", "video-ssr", "video-base-8"} <= set(SHIPPED):
        return []
    prompt = video.EXAMPLE

    def run(base: str, steps: int, stages: int = 3):
        return lambda: [None for _ in video.generate(prompt, base, steps, stages=stages)]

    return [
        (f"Imagen Video: one 16-frame 32x32 clip, distilled 8-step base + 2 SR stages ({video.SR_STEPS} steps each)",
         "< 10 s", timed(run("distilled", 8), 3)),
        ("Imagen Video: the same clip with the guided teacher's base at 32 steps", "", timed(run("teacher", 32), 2)),
        ("Imagen Video: the base alone, distilled 8 steps (8 frames at 16x16)", "", timed(run("distilled", 8, 1), 5)),
        ("Imagen Video: the base alone, teacher 32 steps guided (two passes a step)", ">= 4x the distilled",
         timed(run("teacher", 32, 1), 3)),
        ("Imagen Video: the prompt to the first streamed base frames", "< 1 s",
         timed(lambda: next(iter(video.generate(prompt))), 5)),
    ]


def parameter_count(path) -> int:
    """The number of numbers stored in a .safetensors file (its tensors' sizes; the header not counted)."""
    import math

    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        return sum(math.prod(f.get_slice(k).get_shape()) for k in f.keys())


def weights_table() -> str:
    """Markdown: every shipped checkpoint, its size, parameters, training steps, time and command (from its JSON)."""
    import json

    from .core.checkpoint import WEIGHTS_DIR
    from .train import SHIPPED

    lines = ["| model | parameters | file | steps | batch | training time | command |", "|---|---|---|---|---|---|---|"]
    total = 0
    for js in sorted(WEIGHTS_DIR / f"{name}.json" for name in SHIPPED):
        meta = json.loads(js.read_text())
        st = js.with_suffix(".safetensors")
        size = st.stat().st_size if st.exists() else 0
        total += size
        tr = meta.get("training", {})
        params = parameter_count(st) if st.exists() else 0
        lines.append(
            f"| {js.stem} | {params / 1e6:.2f}M | {size / 2**20:.1f} MB | {tr.get('steps_done', '?')} | "
            f"{tr.get('batch_size', '?')} | {tr.get('seconds', 0) / 60:.0f} min on {tr.get('threads', '?')} "
            f"thread(s) | `{tr.get('command', '')}` |"
        )
    lines.append(f"\nAll weights: {total / 2**20:.1f} MB.")
    return "\n".join(lines)


def inference_path() -> str:
    """How the networks' forward passes run on this CPU (engines/core/precision.py)."""
    from .core.precision import bf16_available, onnx_enabled

    if bf16_available():
        return "in bf16 (PyTorch autocast, native on this CPU)"
    return "in float32 by ONNX Runtime" if onnx_enabled() else "in float32 by PyTorch"


def header(threads: int) -> str:
    """The table's first line: torch, threads, CPU, and the path the networks run on."""
    return (
        f"torch {torch.__version__}, {threads} threads, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs visible, networks run {inference_path()}\n"
    )


def print_table(row_sources: list[Callable[[], list[Row]]]) -> None:
    """Print the markdown table, each row as soon as it is measured."""
    print("| benchmark | target | measured |\n|---|---|---|")
    for source in row_sources:
        for what, target, sec in source():
            print(f"| {what} | {target} | {sec if isinstance(sec, str) else f'{sec:.2f} s'} |", flush=True)


def arguments(prog: str, doc: str | None) -> argparse.ArgumentParser:
    """The options this bench and playground.bench share."""
    p = argparse.ArgumentParser(prog=prog, description=doc)
    p.add_argument(
        "--threads",
        type=int,
        default=int(os.getenv("CPU_CORES", "2")),
        help="torch threads (default 2, the size of a free Hugging Face Space)",
    )
    p.add_argument("--weights", action="store_true", help="print the table of shipped weights instead")
    return p


def main(argv: list[str] | None = None) -> None:
    a = arguments("python -m engines.bench", __doc__).parse_args(argv)
    if a.weights:
        print(weights_table())
        return
    torch.set_num_threads(a.threads)
    print(header(a.threads))
    print_table([rows])


if __name__ == "__main__":
    main()
