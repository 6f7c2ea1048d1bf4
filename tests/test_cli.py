"""The command line end to end: `python -m engines <engine> ... --out DIR` writes DIR/000.png ..."""

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, needs
from engines.__main__ import ENGINES


def run(*args, ok=True):
    p = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert (p.returncode == 0) == ok, p.stderr
    return p


def test_ddpm_cli_writes_numbered_samples_and_a_grid(tmp_path):
    run(
        "engines",
        "ddpm",
        "--dataset",
        "shapes",
        "--sampler",
        "dpm++",
        "--steps",
        "5",
        "--n",
        "3",
        "--seed",
        "1",
        "--out",
        str(tmp_path),
    )
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["000.png", "001.png", "002.png", "grid.png"]
    assert Image.open(tmp_path / "000.png").size == (32, 32)


def test_ddpm_cli_is_reproducible(tmp_path):
    for d in ("a", "b"):
        run(
            "engines",
            "ddpm",
            "--dataset",
            "digits",
            "--steps",
            "8",
            "--n",
            "2",
            "--seed",
            "3",
            "--out",
            str(tmp_path / d),
        )
    assert (tmp_path / "a" / "001.png").read_bytes() == (tmp_path / "b" / "001.png").read_bytes()


def test_cli_errors_are_messages_not_tracebacks(tmp_path):
    p = run("engines", "ddpm", "--steps", "0", "--out", str(tmp_path), ok=False)
    assert "steps must be between 1 and 1000" in p.stderr and "Traceback" not in p.stderr


@pytest.mark.parametrize("engine", ENGINES)
def test_every_engine_documents_itself(engine):
    p = run("engines", engine, "--help")
    assert "--out" in p.stdout and "--seed" in p.stdout


def test_annotated_cli_forward_and_toy(tmp_path):
    run(
        "engines",
        "annotated",
        "--input",
        str(ROOT / "examples" / "chelsea.png"),
        "--t",
        "300",
        "--out",
        str(tmp_path / "f"),
    )
    assert (tmp_path / "f" / "000.png").exists() and (tmp_path / "f" / "strip.png").exists()
    run("engines", "annotated", "--toy", "swissroll", "--steps", "10", "--n", "200", "--out", str(tmp_path / "t"))
    assert Image.open(tmp_path / "t" / "000.png").size == (256, 256)


def test_train_cli_lists_models():
    p = run("engines.train", "--help")
    assert "ddpm-digits" in p.stdout and "toy-moons" in p.stdout


@needs("imagen-base", "imagen-sr")
def test_imagen_and_imagic_cli(tmp_path):
    run("engines", "imagen", "--prompt", "a red circle", "--steps", "3", "--sr-steps", "2", "--n", "2",
        "--out", str(tmp_path / "i"))
    assert sorted(p.name for p in (tmp_path / "i").iterdir()) == ["000.png", "001.png", "grid.png"]
    assert Image.open(tmp_path / "i" / "000.png").size == (64, 64)
    run("engines", "imagic", "--input", str(ROOT / "examples" / "imagic_yellow_square.png"), "--prompt",
        "a green square", "--steps-a", "2", "--steps-b", "2", "--out", str(tmp_path / "e"))
    assert (tmp_path / "e" / "000.png").exists() and (tmp_path / "e" / "strip.png").exists()


@needs("ldm-autoencoder", "ldm-text")
def test_ldm_cli_and_an_empty_prompt(tmp_path):
    run("engines", "ldm", "--prompt", "", "--steps", "3", "--n", "1", "--out", str(tmp_path))
    assert Image.open(tmp_path / "000.png").size == (64, 64)
    p = run("engines", "ldm", "--prompt", "a red circle", "--scale", "99", "--out", str(tmp_path), ok=False)
    assert "guidance scale must be between" in p.stderr


@needs("guided-shapes", "sr3-photos", "palette-photos")
def test_guidance_sr3_and_palette_cli(tmp_path):
    run("engines", "guidance", "--method", "cfg", "--scale", "3", "--label", "red circle", "--steps", "3", "--n", "2",
        "--out", str(tmp_path / "g"))
    assert {"000.png", "001.png"} <= {p.name for p in (tmp_path / "g").iterdir()}
    run("engines", "sr3", "--input", str(ROOT / "examples" / "sr3_coffee_lr.png"), "--steps", "3", "--out",
        str(tmp_path / "s"))
    assert Image.open(tmp_path / "s" / "000.png").size == (64, 64) and (tmp_path / "s" / "bicubic.png").exists()
    run("engines", "palette", "--task", "jpeg", "--input", str(ROOT / "examples" / "coffee.png"), "--quality", "10",
        "--steps", "3", "--n", "2", "--out", str(tmp_path / "p"))
    assert {"000.png", "001.png", "input.png", "mean.png"} <= {p.name for p in (tmp_path / "p").iterdir()}
    assert Image.open(tmp_path / "p" / "000.png").size == (64, 64)
    p = run("engines", "palette", "--task", "inpainting", "--input", str(ROOT / "examples" / "coffee.png"), "--mask",
            str(ROOT / "README.md"), "--out", str(tmp_path / "x"), ok=False)
    assert "Traceback" not in p.stderr and p.stderr.strip()


@needs("gradtts-espeak")
def test_tts_cli_writes_a_wav_its_mel_and_alignment(tmp_path):
    import wave

    run("engines", "tts", "--text", "Return the popped value", "--steps", "4", "--temperature", "1.5", "--seed", "0",
        "--out", str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["000.wav", "alignment.png", "mel.png", "mu.png"]
    with wave.open(str(tmp_path / "000.wav")) as w:
        assert w.getframerate() == 22050 and 0.8 < w.getnframes() / 22050 < 4.0
    run("engines", "tts", "--text", "Return the popped value", "--steps", "4", "--sampler", "dpm++", "--out",
        str(tmp_path / "dpm"))
    assert (tmp_path / "dpm" / "000.wav").stat().st_size > 20_000
    p = run("engines", "tts", "--text", "   ", "--out", str(tmp_path / "x"), ok=False)
    assert "type something to say" in p.stderr


@needs("dreamfusion-prior")
def test_dreamfusion_cli_writes_a_coloured_glb_eight_views_and_a_turntable(tmp_path):
    import imageio.v2 as imageio
    import trimesh

    run("engines", "dreamfusion", "--prompt", "a red ball", "--iters", "30", "--seed", "0", "--out", str(tmp_path))
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["000.glb", "turntable.mp4"] + [f"view_{i:02d}.png" for i in range(8)]
    mesh = trimesh.load(tmp_path / "000.glb", force="mesh")
    colours = mesh.visual.vertex_colors[:, :3].astype(float)
    assert len(mesh.faces) > 100 and colours[:, 0].mean() > colours[:, 2].mean() + 40  # red, as asked
    assert imageio.get_reader(str(tmp_path / "turntable.mp4")).count_frames() == 36
    p = run("engines", "dreamfusion", "--prompt", "a dragon", "--out", str(tmp_path / "x"), ok=False)
    assert "names no colour" in p.stderr


@needs("video-base-8", "video-tsr", "video-ssr")
def test_video_cli_writes_each_clip_as_an_mp4_of_16_frames_and_its_pngs(tmp_path):
    import imageio.v2 as imageio

    from engines.data.judge import judge

    run("engines", "video", "--prompt", "a red circle moving to the right", "--n", "2", "--seed", "0",
        "--out", str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["000", "000.mp4", "001", "001.mp4"]
    for clip in ("000", "001"):
        pngs = sorted(p.name for p in (tmp_path / clip).iterdir())
        assert pngs == [f"{i:02d}.png" for i in range(16)]
        assert imageio.get_reader(str(tmp_path / f"{clip}.mp4")).count_frames() == 16
    frames = [np.asarray(Image.open(tmp_path / "000" / f"{i:02d}.png")) for i in range(16)]
    assert frames[0].shape == (32, 32, 3)
    objs = [judge(f)[1][0] for f in frames]
    assert sum(o.colour == "red" for o in objs) >= 12
    assert objs[-1].cx - objs[0].cx > 0.2  # it moved to the right
    p = run("engines", "video", "--prompt", "a red circle", "--out", str(tmp_path / "x"), ok=False)
    assert "must say where the shape goes" in p.stderr
