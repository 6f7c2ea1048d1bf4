"""Every tab in a real browser: headless Chromium opens the app once and, for each tab shown (a row of TABS), clicks
its default action, waits for its finished status, checks that every result it names holds a picture, a plot, a 3-D
canvas or a sound (and that the sounds it names play), takes a screenshot, then picks one of the tab's examples and
runs it. A console error or an uncaught page error during a tab fails that tab.

A new tab is one new row. Screenshots go to tmp_path, and are also written to $PLAYGROUND_SCREENS/<tab>.png (as
256-colour PNGs) when it is set: `PLAYGROUND_SCREENS=docs/screens python -m pytest tests/test_browser.py`.
The suite's app (conftest.app_url) runs Imagic's stages A and B with IMAGIC_STEPS=4,4, so its edit takes seconds.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import ROOT, needs_tab
from engines import imagic
from playground.registry import TABS as REGISTRY

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# What proves a result is there, inside the output's block: a picture, a plotly chart, a 3-D viewer's canvas, a link
KINDS = {"image": "img", "plot": ".js-plotly-plot", "canvas": "canvas", "file": "a[href]", "gallery": "img",
         "audio": "[data-testid^=waveform-]", "video": "video"}


@dataclass(frozen=True)
class Tab:
    """One tab's browser check."""

    id: str  # playground.registry id; its title names the tab
    button: str  # the default action's button
    done: str  # text (a regular expression) that the finished action shows
    results: tuple[tuple[str, str], ...]  # (an output's label, what it must hold: a key of KINDS)
    example: tuple[str, int]  # (the examples' label, which one to pick)
    example_done: str = ""  # text (a regular expression) that only the example's finished run shows
    example_changes: str = ""  # or: the output whose picture the example's run changes (then `done` shows again)
    press: bool = True  # press the button after picking the example (False: picking it runs the tab by itself)
    plays: tuple[str, ...] = ()  # audio outputs whose Play button must start the sound (the player's clock moves)
    videos: tuple[str, ...] = ()  # video outputs that must be playing (their clock moves) once the run is done
    timeout_s: float = 240  # the machine is shared: a busy one runs several times slower than the benchmark


TABS: tuple[Tab, ...] = (
    Tab("ddpm", "Generate", "done:",
        (("x_t (the sample being denoised)", "image"), ("predicted x_0 at this step", "image"),
         ("Schedule, current step marked", "plot"), ("Final samples", "image"),
         ("Trajectory of the first sample (noise -> data)", "image"), ("GIF of the whole run", "file")),
        ("Try these", 1), example_done=r"done: 64 samples, 20 steps of dpm\+\+"),
    Tab("annotated", "Sample", r"done: 60 steps of ddpm",
        (("x_t, predicted x_0 and the learned direction", "plot"), ("x_t", "image"), ("x_t at several t", "image")),
        ("Example images", 1), example_changes="x_t", press=False),
    Tab("guidance", "Generate", "Judged right colour", (("x_t", "image"), ("predicted x_0", "image")),
        ("Try these", 1), example_done=r"samples of 'blue star', classifier at scale 3\. Judged"),
    Tab("sr3", "Upscale 4x", "done: 64x64 from 16x16",
        (("input (shown 4x, nearest)", "image"), ("bicubic 4x", "image"),
         ("SR3 (live: its current x0 estimate)", "image"), ("original (for examples)", "image")),
        ("Held-out photos (never trained on), with their originals", 1), example_changes="original (for examples)"),
    Tab("palette", "Restore", "done:",
        (("what the model is given", "image"), ("original", "image"), ("samples (live: their x0 estimates)", "image"),
         ("mean of the samples: least squared error, less detail", "image")),
        ("Photos it never trained on: pick one, then Restore", 0), example_done="for colorization by"),
    Tab("imagen", "Generate", "saturated pixels",
        (("base 32x32 (live)", "image"), ("super-resolution 64x64 (live)", "image"),
         ("base 32x32, the same seeds with static clipping instead of dynamic thresholding", "image")),
        ("Prompts: colour, shape, position, size, two objects", 2),
        example_done=r"'a small green triangle at the top'.*saturated pixels"),
    Tab("ldm", "Generate", "done:",
        (("latent channels z_t (a row per image, a column per channel)", "image"), ("decoded D(z)", "image")),
        ("Prompts: colour, shape, position, size, two objects", 1),
        example_done=r"done: 4 image\(s\) for 'a large blue square in the center on a yellow background'"),
    Tab("imagic", "Edit (stages A, B, C)", "move eta to edit again",
        (("edit at eta", "image"), (f"input, then eta = {', '.join(map(str, imagic.ETAS))}", "image")),
        ("Images, target texts and eta", 1), example_done=r"eta 0\.4: .*move eta to edit again"),
    Tab("lion", "Generate", "done:",
        (("Denoising, live (drag to rotate)", "plot"), ("First shape: point cloud (PLY)", "canvas"),
         ("Its mesh (GLB)", "canvas"), ("All shapes", "gallery")),
        ("Try these", 4), example_done=r"done: 4 table\(s\), 10 DDIM steps"),
    Tab("gradtts", "Speak", "done:",
        (("mel-spectrogram (live: x_t)", "image"), ("mu: the prior's mean, the 'average voice'", "image"),
         ("Alignment", "plot"), ("Grad-TTS", "audio"), ("mu alone", "audio"), ("espeak's own voice", "audio")),
        ("Held-out sentences (never trained on)", 1), example_changes="mel-spectrogram (live: x_t)",
        plays=("Grad-TTS", "espeak's own voice")),
    Tab("dreamfusion", "Generate", "done:",
        (("Views at azimuth 0, 90, 180, 270 (live)", "image"), ("Mesh (GLB, vertex colours)", "canvas"),
         ("Turntable (MP4)", "video"), ("Eight views of the mesh", "image"),
         ("The prior sampled directly for the same prompt, ', front view' (DDIM 50 steps)", "image")),
        ("Try these", 1), example_done=r"done: 'a blue cube'"),
    Tab("video", "Generate", "done:",
        (("base: 8 frames at 16x16 (live: predicted frames)", "image"), ("temporal SR: 16 frames at 16x16 (live)", "image"),
         ("spatial SR: 16 frames at 32x32 (live)", "image"), ("The clip (MP4, 16 frames at 8 fps, shown 4x)", "video"),
         ("The clip as a GIF", "image")),
        ("Try these", 1), videos=("The clip (MP4, 16 frames at 8 fps, shown 4x)",), example_done=r"done: 'a large blue square moving up on a yellow background'"),
)
TITLES = {t.id: t.title for t in REGISTRY}


@pytest.fixture(scope="module")
def browser():
    """(page, errors): one Chromium page on the app; errors collects console errors and uncaught page errors."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )
        page = b.new_page(viewport={"width": 1400, "height": 1000})
        # Headless Chromium here offers navigator.gpu with no adapter behind it: Babylon.js (gr.Model3D) then logs
        # "A fatal error occurred during WebGPU creation" before falling back to WebGL. A browser without WebGPU
        # goes to WebGL silently, and a GPU's gets WebGPU; this page is the former (WebGL runs on SwiftShader).
        page.add_init_script("delete Navigator.prototype.gpu")
        errors: list[str] = []
        page.on("console", lambda m: errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
        yield page, errors
        b.close()


@pytest.fixture(scope="module")
def app_page(browser, app_url):
    page, errors = browser
    page.goto(app_url)
    page.get_by_role("tab").first.wait_for(timeout=60_000)
    return page, errors


def _exactly(text: str) -> re.Pattern:
    return re.compile(r"^\s*" + re.escape(text) + r"\s*$")


def output(page, label: str):
    """The visible block of the output labelled `label`."""
    name = page.locator("[data-testid=block-label]").filter(has_text=_exactly(label)).filter(visible=True)
    return name.first.locator("xpath=ancestor::div[contains(concat(' ', normalize-space(@class), ' '), ' block ')][1]")


def pictures(page, label: str) -> list[str]:
    """The sources of the pictures in an output (to tell when a run has changed it)."""
    imgs = output(page, label).locator("img")
    return [imgs.nth(i).get_attribute("src") or "" for i in range(imgs.count())]


def example(page, label: str, index: int):
    """The index-th example of the visible examples labelled `label` (a row of a table, or a gallery item)."""
    head = page.locator("div.label").filter(has_text=_exactly(label)).filter(visible=True).first
    return head.locator("xpath=..").locator("button.gallery-item, tr.tr-body").nth(index)


def wait_text(page, pattern: str, timeout_s: float) -> None:
    page.get_by_text(re.compile(pattern)).filter(visible=True).first.wait_for(timeout=timeout_s * 1000)


def wait_changed(page, label: str, before: list[str], timeout_s: float) -> None:
    t0 = time.monotonic()
    while pictures(page, label) == before:
        assert time.monotonic() - t0 < timeout_s, f"the example did not change {label!r} within {timeout_s:.0f} s"
        time.sleep(0.2)


def play(page, label: str, timeout_s: float = 10) -> None:
    """Press the Play button of the audio output `label` and wait until its player's clock has left 0:00."""
    block = output(page, label)
    clock = block.locator("#time")
    assert clock.inner_text().strip() == "0:00", f"{label!r} was already playing"
    block.get_by_role("button", name="Play", exact=True).click()
    t0 = time.monotonic()
    while clock.inner_text().strip() == "0:00":
        assert time.monotonic() - t0 < timeout_s, f"{label!r} did not play: its clock stayed at 0:00 for {timeout_s} s"
        time.sleep(0.1)


def video_plays(page, label: str, timeout_s: float = 10) -> None:
    """The video output `label` plays: its element has frames and its clock moves (started by autoplay, or by play()
    where the browser's policy held autoplay back)."""
    v = output(page, label).locator("video").first
    t0 = time.monotonic()
    first = v.evaluate("v => v.currentTime")
    while True:
        state = v.evaluate("v => [v.readyState, v.currentTime, v.paused, v.duration]")
        if state[0] >= 2 and state[1] != first and not state[2]:
            return
        if state[2]:
            v.evaluate("v => v.play().catch(() => {})")
        assert time.monotonic() - t0 < timeout_s, f"{label!r} did not play within {timeout_s} s: {state}"
        time.sleep(0.2)


def save_screen(page, tmp_path: Path, tab: str) -> Path:
    """A full-page screenshot in tmp_path; also to $PLAYGROUND_SCREENS/<tab>.png (256 colours) when that is set."""
    shot = tmp_path / f"{tab}.png"
    page.screenshot(path=str(shot), full_page=True)
    if os.getenv("PLAYGROUND_SCREENS"):
        from PIL import Image

        folder = Path(os.environ["PLAYGROUND_SCREENS"])
        folder = folder if folder.is_absolute() else ROOT / folder
        folder.mkdir(parents=True, exist_ok=True)
        Image.open(shot).convert("RGB").quantize(256).save(folder / f"{tab}.png", optimize=True)
    return shot


@pytest.mark.parametrize("tab", [pytest.param(t, marks=needs_tab(t.id), id=t.id) for t in TABS])
def test_tab_runs_its_default_action_and_an_example(app_page, tab: Tab, tmp_path):
    page, errors = app_page
    errors.clear()
    page.get_by_role("tab", name=TITLES[tab.id], exact=True).click()
    button = page.get_by_role("button", name=tab.button, exact=True).filter(visible=True)
    button.click()
    wait_text(page, tab.done, tab.timeout_s)
    for label, kind in tab.results:
        found = output(page, label).locator(KINDS[kind]).filter(visible=True)
        found.first.wait_for(timeout=20_000)  # the status can arrive a moment before the last picture renders
    for label in tab.plays:
        play(page, label)
    for label in tab.videos:
        video_plays(page, label)
    save_screen(page, tmp_path, tab.id)
    before = pictures(page, tab.example_changes) if tab.example_changes else []
    example(page, *tab.example).click()
    if tab.press:
        button.click()
    try:
        if tab.example_changes:
            wait_changed(page, tab.example_changes, before, tab.timeout_s)
            wait_text(page, tab.done, tab.timeout_s)
        else:
            wait_text(page, tab.example_done, tab.timeout_s)
    except Exception:
        page.screenshot(path=str(tmp_path / f"{tab.id}-example-failed.png"), full_page=True)
        raise
    assert not errors, f"the {TITLES[tab.id]} tab logged errors:\n" + "\n".join(errors)


def test_every_tab_shown_has_a_row():
    from playground.registry import ready_tabs

    assert {t.id for t in ready_tabs()} <= {t.id for t in TABS}
