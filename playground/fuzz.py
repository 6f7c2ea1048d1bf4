"""Bad input for every API name, as an API caller can send it: out-of-range, negative, NaN / inf and huge numbers,
floats for whole numbers, wrong types, None, odd prompts, unknown choices, odd and broken images, paths outside the
upload folder, a Palette editor value with keys missing.

`python -m playground.fuzz` starts `python app.py` itself (a fresh upload folder, a free port) and writes docs/fuzz.md;
`--url URL` fuzzes a running app instead (then memory is read only with `--pid PID`). Each case is one raw HTTP call
(POST /gradio_api/call/<name>, the answer read from its event stream), so NaN and missing keys reach the server as
sent; files are uploaded first through /gradio_api/upload, as gradio_client does. tests/test_fuzz.py runs a subset.

A new API name is one new row of APIS: its arguments, each with a kind (int, float, seed, choice, prompt, flag,
image, editor), a valid value and its range or choices; cases() makes the bad values of each kind.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from PIL import Image

from engines.checks import shown

ROOT = Path(__file__).resolve().parents[1]
META = {"_type": "gradio.FileData"}
UNEXPECTED = "the app hit an unexpected error"  # playground.widgets.UNEXPECTED (not imported: no gradio needed here)
HINTS = ("must", "choose", "upload", "type ", "give", "shorten", "limit", "not in the list", "than maximum",
         "than minimum", "not an image", "no image", "needs a mask", "no hole", "not uploaded", "not from urls",
         "input should be")  # the last: Gradio's data-model check (show_error=True), which says what is expected
GRADIO_PATTERNS = (r"^Value .* is (greater|less) than (maximum|minimum) value", r"is not in the list of choices")


@dataclass(frozen=True)
class Arg:
    """One argument of an API name: the control's name (as the messages call it), its kind and a valid value."""

    name: str
    kind: str  # int | float | seed | choice | prompt | flag | image | editor | cloud (a PLY upload)
    valid: Any = None
    lo: float = 0
    hi: float = 0
    options: tuple[str, ...] = ()
    empty_ok: bool = False  # prompt: '' is a valid request (no text)
    label: str = ""  # the component's label, when Gradio's preprocessing (and its guard) answers for it


@dataclass(frozen=True)
class Api:
    name: str
    tab: str  # playground.registry id
    args: tuple[Arg, ...]
    long: bool = False  # a valid request runs for tens of seconds: few runnable cases


def _i(name, valid, lo, hi, label=""):
    return Arg(name, "int", valid, lo, hi, label=label)


def _f(name, valid, lo, hi, label=""):
    return Arg(name, "float", valid, lo, hi, label=label)


def _c(name, valid, *options):
    return Arg(name, "choice", valid, options=options)


SEED = Arg("seed", "seed", 0)
SAMPLERS = ("ddpm", "ddim", "dpm++")
APIS: tuple[Api, ...] = (
    Api("ddpm_sample", "ddpm", (_c("dataset", "digits", "digits", "shapes"),
                                _c("sampler", "DDIM", "DDPM (ancestral, Alg. 2)", "DDIM", "DPM-Solver++ (2M)"),
                                _i("steps", 2, 1, 1000), _f("eta", 0.0, 0, 1), SEED, _i("batch size", 1, 1, 256))),
    Api("annotated_forward", "annotated", (Arg("image", "image", "ok.png"), _c("schedule", "linear", "linear", "cosine"),
                                           _i("t", 10, 0, 999), _i("T", 1000, 2, 1000), SEED)),
    Api("annotated_train", "annotated", (_f("training time", 1, 1, 180), _c("loss", "huber", "huber", "l2", "l1"),
                                         _c("schedule", "linear", "linear", "cosine"), SEED), long=True),
    Api("annotated_toy", "annotated", (_c("toy data set", "moons", "moons", "swissroll"), _c("sampler", "ddpm", *SAMPLERS),
                                       _i("steps", 2, 1, 1000), _i("number of points", 100, 1, 5000), SEED,
                                       Arg("arrows", "flag", False))),
    Api("annotated_schedules", "annotated", (_i("T", 10, 2, 1000),)),
    Api("guidance_sample", "guidance", (_c("class", "red circle", "red circle"),
                                        _c("method", "classifier-free", "classifier-free", "classifier"),
                                        _f("guidance scale", 3.0, 0, 30), _i("steps", 2, 1, 1000),
                                        _i("batch size", 1, 1, 64), SEED)),
    Api("guidance_sweep", "guidance", (_c("class", "red circle", "red circle"),
                                       _c("method", "classifier-free", "classifier-free", "classifier"),
                                       _i("steps", 1, 1, 1000), _i("batch size", 1, 1, 64), SEED)),
    Api("sr3_upscale", "sr3", (Arg("image", "image", "ok.png"), _i("steps", 2, 1, 2000), SEED,
                               _c("sampler", "ddpm", *SAMPLERS))),
    Api("palette_restore", "palette", (_c("task", "inpainting", "colorization", "inpainting", "uncropping", "jpeg"),
                                       Arg("image", "editor", {"background": "ok.png", "layers": [], "composite": None}),
                                       _c("inpainting mask", "centre box", "centre box", "painted (use the brush)"),
                                       _c("uncropping side", "left", "left", "right", "top", "bottom"),
                                       _i("JPEG quality", 10, 5, 30, "JPEG quality to restore from"),
                                       Arg("already degraded", "flag", False),
                                       _i("steps", 2, 1, 1000, "Steps"), _i("number of samples", 1, 1, 8, "Samples"),
                                       replace(SEED, label="Seed"), Arg("the multi-task model", "flag", False))),
    Api("imagen_generate", "imagen", (Arg("prompt", "prompt", "a red circle", empty_ok=True),
                                      _f("guidance scale", 7.5, 0, 30), Arg("dynamic thresholding", "flag", True),
                                      _f("the thresholding percentile", 0.995, 0.5, 1), _i("steps", 2, 1, 1000),
                                      _i("super-resolution steps", 1, 0, 1000), _i("number of images", 1, 1, 16), SEED,
                                      Arg("colour guidance", "flag", True))),
    Api("ldm_generate", "ldm", (Arg("prompt", "prompt", "a red circle", empty_ok=True), _f("guidance scale", 5.0, 0, 30),
                                _i("steps", 2, 1, 1000), _i("number of images", 1, 1, 16), SEED)),
    Api("ldm_compare", "ldm", (Arg("prompt", "prompt", "a red circle", empty_ok=True), _f("guidance scale", 5.0, 0, 30),
                               _i("steps", 1, 1, 1000), _i("number of images", 1, 1, 16), SEED)),
    Api("lion_sample", "lion", (_c("category", "chair", "chair", "table", "lamp", "mug", "airplane"),
                                _f("guidance scale", 2.0, 0, 10), _i("steps", 2, 1, 1000),
                                _i("number of shapes", 1, 1, 16), SEED,
                                _c("sampler", "DDIM", "DDIM", "DDPM (ancestral)"))),
    Api("lion_vary", "lion", (Arg("shape", "cloud", "ok.ply"), _f("variation strength t/T", 0.3, 0.01, 1),
                              _i("number of variations", 1, 1, 16), _i("steps", 2, 1, 1000), SEED)),
    Api("lion_interpolate", "lion", (_c("category", "chair", "chair", "table", "lamp", "mug", "airplane"),
                                     replace(SEED, name="seed A"), replace(SEED, name="seed B"),
                                     _i("frames", 2, 2, 16), _i("steps", 2, 1, 1000),
                                     _f("guidance scale", 2.0, 0, 10))),
    Api("tts_speak", "gradtts", (Arg("the text", "prompt", "Return the popped value"), _i("steps", 2, 1, 100),
                                 _f("temperature", 1.5, 0.1, 10), _f("length scale", 1.0, 0.5, 2),
                                 Arg("stochastic", "flag", False), SEED,
                                 _c("sampler", "euler", "euler", "ddim", "dpm++"))),
    Api("dreamfusion_generate", "dreamfusion", (Arg("the prompt", "prompt", "a red ball"), _i("iterations", 2, 1, 3000),
                                                _f("guidance", 20.0, 1, 200), SEED,
                                                _c("shading", "mix", "mix", "albedo", "lambertian", "textureless"),
                                                Arg("view-dependent prompts", "flag", True))),
    Api("video_generate", "video", (Arg("the prompt", "prompt", "a red circle moving to the right"),
                                    _c("base model", "distilled", "distilled", "teacher"), _i("steps", 2, 1, 256),
                                    _f("guidance scale", 5.0, 0, 20), SEED)),
    Api("imagic_edit", "imagic", (Arg("image", "image", "imagic.png"), Arg("target text", "prompt", "a green square"),
                                  _f("eta", 1.0, 0, 1.5), SEED, Arg("stage C from the inversion", "flag", True)),
          long=True),
)


@dataclass(frozen=True)
class Case:
    api: Api
    arg: int  # index of the bad argument
    what: str  # the case, in words
    value: Any  # the bad value (file names are resolved by Files.payload)
    expect: str = "refused"  # refused | either (valid after coercion or downscaling: may run)
    gradio_only: bool = False  # refused by Gradio's payload validation before any app code runs
    outside: bool = False  # names a file outside the upload folder: running would read it (a leak)

    @property
    def arg_name(self) -> str:
        return self.api.args[self.arg].name if self.arg >= 0 else "(all valid)"


def _number_cases(a: Arg) -> list[tuple[str, Any, str]]:
    whole = a.kind in ("int", "seed")
    hi = 2**32 - 1 if a.kind == "seed" else a.hi
    out = [("below range", a.lo - 1, "refused"), ("above range", hi + 1, "refused"), ("negative", -7, "refused"),
           ("huge", 10**30, "refused"), ("1e308", 1e308, "refused"), ("NaN", float("nan"), "refused"),
           ("inf", float("inf"), "refused"), ("-inf", float("-inf"), "refused"),
           ("string", "3", "refused"), ("None", None, "refused"), ("bool", True, "refused"),
           ("list", [1], "refused"), ("dict", {"value": 1}, "refused")]
    if whole:
        out.append(("float for int", a.lo + 0.5 if a.hi - a.lo >= 1 else 2.5, "either"))
    return out


def _values(a: Arg) -> list[tuple[str, Any, str]]:
    """(what, value, expect) of every bad value of an argument's kind; expect: refused, either (valid after coercion
    or downscaling: may run) or gradio (refused by Gradio before any app code)."""
    if a.kind in ("int", "float", "seed"):
        return _number_cases(a)
    if a.kind == "choice":
        return [("unknown choice", "no such thing", "refused"), ("empty", "", "refused"), ("None", None, "refused"),
                ("number", 5, "refused"), ("list", [a.valid], "refused"), ("dict", {"a": 1}, "refused"),
                ("upper case", a.valid.upper(), "either")]
    if a.kind == "flag":
        return [("string", "yes", "refused"), ("number", 1, "refused"), ("None", None, "refused")]
    if a.kind == "prompt":
        empty = "either" if a.empty_ok else "refused"
        return [("empty", "", empty), ("blanks", " \t\n ", empty), ("5,000 characters", "a red circle " * 385, "refused"),
                ("emoji", "a 🔴 circle 🟦 on the left 😀", "either"), ("right-to-left", "دائرة حمراء على اليسار", "either"),
                ("control characters", "a red\x00 circle\x1b[31m\x07 on the \u202eleft", "either"),
                ("lone surrogate", "a red \ud800circle", "either"), ("None", None, "refused"),
                ("number", 5, "refused"), ("list", ["a red circle"], "refused")]
    images = [("1x1", "1x1.png", "refused"), ("6000x4000", "big.png", "either"), ("RGBA", "rgba.png", "either"),
              ("greyscale", "grey.png", "either"), ("16-bit PNG", "16bit.png", "either"),
              ("truncated PNG", "trunc.png", "refused"), ("truncated JPEG", "trunc.jpg", "refused"),
              ("text file named .png", "text.png", "refused"), ("empty file", "empty.png", "refused")]
    # "gradio": refused by Gradio's file data model or its upload-folder check before any app code runs; the editor's
    # model requires the FileData meta, so there every path without it is Gradio's to refuse too
    bare = "gradio" if a.kind == "editor" else "refused"
    outside = [("path outside, no meta", {"path": "CANARY"}, bare), ("/etc/passwd, no meta", {"path": "/etc/passwd"}, bare),
               ("traversal out of the upload folder", {"path": "TRAVERSAL"}, bare),
               ("url only", {"url": "http://127.0.0.1:9/x.png"}, bare),
               ("path outside, with meta", {"path": "CANARY", "meta": META}, "gradio")]
    if a.kind == "cloud":  # every picture is not a point cloud; a cloud too small, with NaN, or 200,000 points
        clouds = [("PLY of 10 points", "few.ply", "refused"), ("PLY with a NaN point", "nan.ply", "refused"),
                  ("PLY of 200,000 points", "many.ply", "either"), ("a mesh (GLB)", "mesh.glb", "either")]
        return [(w, v, "refused") for w, v, _ in images] + clouds + outside + [
            ("None", None, "refused"), ("empty dict", {}, "refused"), ("number", 5, "gradio"),
            ("bare path string", "CANARY", "gradio")]
    if a.kind == "image":
        return images + outside + [("None", None, "refused"), ("empty dict", {}, "refused"), ("number", 5, "gradio"),
                                   ("bare path string", "CANARY", "gradio")]
    editor = lambda v: {"background": v, "layers": [], "composite": None}  # noqa: E731
    return [(w, editor(v), e) for w, v, e in images + outside] + [
        ("None", None, "refused"), ("keys missing", {}, "refused"),
        ("layers None", {"background": "ok.png", "layers": None, "composite": None}, "gradio"),
        ("background None", editor(None), "refused"),
        ("layer not an image", {"background": "ok.png", "layers": ["text.png"], "composite": None}, "refused"),
        ("a string", "ok.png", "gradio")]


def cases(apis: tuple[Api, ...] = APIS, quick: bool = False) -> list[Case]:
    """Every bad value of every argument of every API name; quick: one or two of each kind per API name (the test)."""
    out = []
    for api in apis:
        if not (quick and api.long):  # the control: every value valid, it must run
            out.append(Case(api, -1, "all valid (control)", None, "either"))
        for i, a in enumerate(api.args):
            vals = _values(a)
            if api.long:  # a valid request runs for tens of seconds: keep the ones that must be refused (+ 2 runs)
                runs = [v for v in vals if v[2] == "either"][:0 if quick else 2]
                vals = [v for v in vals if v[2] != "either"] + runs
            if quick:
                picks = {0, (i * 5 + 3) % len(vals)} | ({k for k, v in enumerate(vals) if "outside" in v[0]}
                                                       if a.kind in ("image", "editor", "cloud") else set())
                vals = [v for k, v in enumerate(vals) if k in picks]
            out += [Case(api, i, w, v, "refused" if e == "gradio" else e, e == "gradio",
                         any(k in json.dumps(v, default=str) for k in ("CANARY", "passwd", "TRAVERSAL")))
                    for w, v, e in vals]
    return out


class Files:
    """The sample files: made in a temp folder, uploaded once; payload() turns names in a case into FileData."""

    def __init__(self, folder: Path):
        self.folder, self.uploaded, self.token = folder, {}, f"CANARY-{uuid.uuid4().hex}"
        self.canary_dir = Path(tempfile.mkdtemp(prefix="fuzz-canary-"))  # outside every folder the app may read
        self.canary = self.canary_dir / "canary.png"
        img = Image.new("RGB", (64, 64), (201, 13, 77))
        from PIL import PngImagePlugin

        info = PngImagePlugin.PngInfo()
        info.add_text("secret", self.token)
        img.save(self.canary, pnginfo=info)
        d = folder
        Image.open(ROOT / "examples" / "sr3_coffee_lr.png").convert("RGB").save(d / "ok.png")
        Image.open(ROOT / "examples" / "imagic_yellow_square.png").convert("RGB").save(d / "imagic.png")
        Image.new("RGB", (1, 1), (10, 200, 30)).save(d / "1x1.png")
        big = np.empty((4000, 6000, 3), np.uint8)  # a smooth picture: a small file that decodes to 24 Mpixels
        big[..., 0], big[..., 1] = np.linspace(0, 255, 6000, dtype=np.uint8), np.linspace(0, 255, 4000, dtype=np.uint8)[:, None]
        big[..., 2] = 128
        Image.fromarray(big).save(d / "big.png", compress_level=1)
        Image.new("RGBA", (16, 16), (220, 40, 40, 120)).save(d / "rgba.png")
        Image.new("L", (16, 16), 90).save(d / "grey.png")
        Image.fromarray((np.arange(16 * 16).reshape(16, 16) * 250).astype(np.uint16)).save(d / "16bit.png")
        png = (ROOT / "examples" / "coffee.png").read_bytes()
        (d / "trunc.png").write_bytes(png[: len(png) // 3])
        Image.open(ROOT / "examples" / "coffee.png").convert("RGB").save(d / "full.jpg", quality=90)
        jpg = (d / "full.jpg").read_bytes()
        (d / "trunc.jpg").write_bytes(jpg[: len(jpg) // 3])
        (d / "text.png").write_text("hello: this is a text file, not a picture\n")
        (d / "empty.png").write_bytes(b"")
        import trimesh

        from engines.data import shapes3d

        chair = shapes3d.point_clouds("chair", 1, 0)[0]
        trimesh.PointCloud(chair).export(d / "ok.ply")
        trimesh.PointCloud(chair[:10]).export(d / "few.ply")
        trimesh.PointCloud(np.r_[chair[:-1], [[np.nan, 0, 0]]]).export(d / "nan.ply")
        trimesh.PointCloud(np.random.default_rng(0).normal(size=(200_000, 3))).export(d / "many.ply")
        trimesh.creation.icosphere(4).export(d / "mesh.glb")

    def upload(self, base: str) -> None:
        names = ["ok.png", "imagic.png", "1x1.png", "big.png", "rgba.png", "grey.png", "16bit.png", "trunc.png",
                 "trunc.jpg", "text.png", "empty.png", "ok.ply", "few.ply", "nan.ply", "many.ply", "mesh.glb"]
        files = [("files", (n, (self.folder / n).read_bytes(), "application/octet-stream")) for n in names]
        r = httpx.post(base + "gradio_api/upload", files=files, timeout=60)
        r.raise_for_status()
        self.uploaded = dict(zip(names, r.json()))

    def payload(self, value: Any) -> Any:
        """Names of sample files as uploaded FileData; CANARY / TRAVERSAL as the canary's path."""
        if isinstance(value, str) and value in self.uploaded:
            return {"path": self.uploaded[value], "orig_name": value, "meta": META}
        if value == "CANARY":
            return str(self.canary)
        if value == "TRAVERSAL":
            up = Path(self.uploaded["ok.png"]).parent
            return str(up / os.path.relpath(self.canary, up))
        if isinstance(value, dict):
            return {k: self.payload(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.payload(v) for v in value]
        return value


@dataclass
class Result:
    case: Case
    status: str  # message | ran | generic | hang | accepted | leak | death
    message: str
    layer: str
    first_s: float  # seconds to the first answer (an error, a streamed update or the result)
    total_s: float
    rss_mb: float | None
    alive: bool
    raw: str = field(default="", repr=False)


def call(base: str, api: str, data: list, timeout: float) -> tuple[str, str, float, float, str]:
    """One raw call: (kind: error | complete | hang, message, seconds to the first event, total seconds, raw text)."""
    t0 = time.perf_counter()
    r = httpx.post(f"{base}gradio_api/call/{api}", content=json.dumps({"data": data}),
                   headers={"content-type": "application/json"}, timeout=timeout)
    if r.status_code != 200:
        return "error", r.text, time.perf_counter() - t0, time.perf_counter() - t0, r.text
    event_id, first, kind, data_line, raw = r.json()["event_id"], None, "hang", "", []
    try:
        with httpx.stream("GET", f"{base}gradio_api/call/{api}/{event_id}", timeout=timeout) as s:
            event = ""
            for line in s.iter_lines():
                raw.append(line)
                if line.startswith("event:"):
                    event = line[6:].strip()
                    if event in ("generating", "complete", "error") and first is None:
                        first = time.perf_counter() - t0
                elif line.startswith("data:") and event in ("complete", "error"):
                    kind, data_line = event, line[5:].strip()
                    break
                if time.perf_counter() - t0 > timeout:
                    break
    except httpx.TimeoutException:
        pass
    total = time.perf_counter() - t0
    message = ""
    if kind == "error":
        try:
            message = (json.loads(data_line) or {}).get("error") or ""
        except (json.JSONDecodeError, AttributeError):
            message = data_line
    return kind, message, first if first is not None else total, total, "\n".join(raw)


def memory(pid: int | None) -> dict[str, float]:
    """VmRSS and VmHWM (peak) of a process, MB ({} when it is not there)."""
    out: dict[str, float] = {}
    if pid is None:
        return out
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) / 1024
    except OSError:
        pass
    return out


def rss_mb(pid: int | None) -> float | None:
    """Resident memory of a process (VmRSS), MB."""
    return memory(pid).get("VmRSS")


def alive(base: str) -> bool:
    try:
        return httpx.get(base, timeout=10).status_code == 200
    except httpx.HTTPError:
        return False


def clear(message: str, arg: Arg, value: Any) -> bool:
    """A message a visitor can act on: not empty, not a bare 'Error', no traceback, not an unexpected error; and
    about this argument: it names the control or quotes the value (a file's message says what to do instead)."""
    m = message.strip()
    if not m or m.lower() in ("error", "none") or "Traceback" in m or UNEXPECTED in m or "upstream Gradio app" in m:
        return False
    if arg.kind in ("image", "editor", "cloud"):
        return any(h in m.lower() for h in HINTS)
    named = arg.name.lower() in m.lower() or bool(arg.label and arg.label.lower() in m.lower())
    return named or shown(value) in m or repr(value) in m


def layer(message: str, arg: Arg) -> str:
    """Who answered: Gradio's own checks (its messages, or none), the engine's checks, or those reached through the
    preprocessing guard (playground.widgets.clear_preprocess) for a component Gradio still preprocesses."""
    if not message or any(re.search(p, message) for p in GRADIO_PATTERNS):
        return "Gradio"
    if arg.label and message.startswith(arg.label):
        return "engine (via preprocess guard)"
    return "engine"


def run_case(base: str, files: Files, case: Case, pid: int | None, timeout: float) -> Result:
    """Send one case (the other arguments valid) and judge the answer."""
    data = [files.payload(a.valid) for a in case.api.args]
    if case.arg >= 0:
        data[case.arg] = files.payload(case.value)
    kind, message, first, total, raw = call(base, case.api.name, data, timeout)
    arg = case.api.args[max(case.arg, 0)]
    if kind == "hang":
        status = "hang"
    elif kind == "complete":
        status = "ran" if case.expect == "either" else ("leak" if case.outside else "accepted")
    else:
        status = "message" if clear(message, arg, case.value) and case.arg >= 0 else "generic"
    if files.token in raw:
        status = "leak"
    ok = alive(base)
    return Result(case, status if ok else "death", message, layer(message, arg), first, total, rss_mb(pid), ok, raw)


def snapshot(folders: list[Path]) -> set[str]:
    """Every file under the folders (to tell which ones a run created)."""
    out = set()
    for f in folders:
        for dirpath, dirnames, filenames in os.walk(f):
            dirnames[:] = [d for d in dirnames if d not in (".git", ".venv", "__pycache__", "runs", ".pytest_cache")]
            out |= {os.path.join(dirpath, n) for n in filenames}
    return out


def copies_of(token: str, canary: Path, folder: Path) -> list[str]:
    """Files in the app's upload / cache folder holding the canary's bytes or its secret: evidence it was read."""
    data, found = canary.read_bytes(), []
    for dirpath, _, filenames in os.walk(folder):
        for n in filenames:
            p = os.path.join(dirpath, n)
            try:
                b = Path(p).read_bytes()
            except OSError:
                continue
            if b == data or token.encode() in b:
                found.append(p)
    return found


def start_app(upload_dir: Path) -> tuple[subprocess.Popen, str]:
    """`python app.py` on a free port with its own upload folder; waits until it answers."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1",
           "GRADIO_TEMP_DIR": str(upload_dir), "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
    log = open(upload_dir.parent / "app.log", "w")
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/"
    for _ in range(240):
        if alive(base):
            return proc, base
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError("the app did not answer within 120 s")


def warm_up(base: str) -> None:
    """One small valid call of each quick API name, so that loading models is not counted as a bad case's time."""
    for api in APIS:
        if not api.long and not any(a.kind in ("image", "editor", "cloud") for a in api.args):
            call(base, api.name, [a.valid for a in api.args], 300)


def _cell(text: str, limit: int = 120) -> str:
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 3] + "..."


HOW = """## What the app does with bad input

- Every API event but /palette_restore runs with `preprocess=False`: its values reach the engine as sent, and the
  engine's checks (engines/checks.py, the same ones the CLI runs) answer, naming the control, its range or choices
  and the value: "steps must be between 1 and 1000 (a whole number), got nan". Numbers: bools, strings, None, NaN and
  infinities are refused, never coerced; 3.0 counts as a whole number, 2.5 does not. Seeds: 0 to 2^32 - 1.
- /palette_restore keeps Gradio's preprocessing, which its ImageEditor needs (the browser sends painted layers as
  blobs that only the component's preprocess reads). Gradio's own choice messages answer there ("Value: 'x' (type:
  <class 'str'>) is not in the list of choices: [...]"); its sliders and number fields first go through the
  engine's number check with the component's range (playground/widgets.clear_preprocess), since Gradio would fail
  with a bare "Error" on a string or None, round True to 1 and let NaN through a slider.
- Prompts: control characters (NUL, escape, bell, ...), bidirectional overrides (U+202A-202E, U+2066-2069) and
  unpaired surrogates are removed and whitespace collapsed, then the prompt must be at most 1,000 characters (the
  encoder reads only its first 24 word pieces). An empty prompt is valid for Imagen and Latent Diffusion (no text:
  unconditional); Imagic's target text may not be empty. Emoji and right-to-left text are kept (the encoder reads
  them as unknown tokens).
- Uploads are read only from Gradio's upload folder (GRADIO_TEMP_DIR or its default) and examples/, after symbolic
  links and `..` are resolved (playground/widgets.upload_path over engines.checks.inside); URLs are not fetched.
  Images: at least 4x4 pixels; larger than 2048 pixels on a side, reduced right after decoding (JPEGs decode
  reduced); 16-bit greyscale scaled to 8 bits; RGBA composited on white; truncated or non-image files get a message.
- Anything else that goes wrong in an event is named "the app hit an unexpected error (...)" with its text (and
  logged), never a bare "Error"; the fuzz counts it as generic.
- Memory: every case here is a call without a session, so a new Gradio session, whose state (a copy of the
  components' values) Gradio keeps in memory up to `launch(state_session_capacity=...)` sessions, 10,000 by
  default (measured before app.py bounded it: about 0.6 MB a case, 1,771 MB after 1,652 cases). app.py keeps 500
  (PLAYGROUND_SESSIONS), so the growth stops at about 300 MB; calls in one session do not grow it.
- What no app code can answer: Gradio validates each file payload against its data model and checks that a file
  with FileData meta lies in its upload folder before any event code runs. With `launch(show_error=True)` (app.py)
  its own text reaches the caller ("1 validation error for ImageData: Input should be a valid dictionary ...",
  "Cannot move /... to the gradio cache dir because it was not uploaded by a user."), counted as clear: it says what
  is expected. They are all refused and none reads a file.

## How to run it

```bash
python -m playground.fuzz                      # starts `python app.py` (own port, own upload folder), writes docs/fuzz.md
python -m playground.fuzz --url http://127.0.0.1:7860/ --pid PID --upload-dir GRADIO_TEMP_DIR   # a running app
python -m pytest tests/test_fuzz.py -q         # the fast subset, in the suite
```

Each case sends one API name its valid tiny arguments with one of them bad, as raw HTTP (POST
`/gradio_api/call/<name>`, then its event stream), so NaN, infinities, missing keys and paths reach the server as an
API caller can send them; sample files are uploaded first through `/gradio_api/upload`, as `gradio_client` does.
After every case the page must still load. A canary PNG with a secret text chunk lies outside every folder the app
may read; it is named in many ways (a path without the FileData meta, with it, `..` out of the upload folder, a bare
string). A leak is a case that named it and ran, any answer that holds its secret, a copy of it in the upload folder,
or a new file under examples/, engines/ or playground/. Results: `message` (a clear message: not empty, not a bare
"Error", no traceback, not "unexpected error", and it names the control or says what to change), `ran` (valid after
coercion or downscaling: a 6000x4000 upload, RGBA, 16-bit, an emoji prompt), `generic`, `hang` (no answer within the
time limit), `accepted` (a bad value that ran), `leak`, `death`. "Answered by": Gradio (its own checks, before any
app code), the engine (engines/checks.py, shared with the CLI), or the engine's checks reached through the
preprocessing guard (playground/widgets.clear_preprocess: /palette_restore keeps Gradio's preprocessing, which its
ImageEditor needs). Seconds are to the first answer (an error, the first streamed update, or the result).
"""


def write_report(out: Path, results: list[Result], rss0: float | None, pass_rss: list[float | None], per_pass: int,
                 new: list[str], copies: list[str], url: str | None) -> None:
    """docs/fuzz.md: how to run it, the totals (every pass), each API name's counts and the table of the first pass."""
    count = lambda st, rs=results: sum(r.status == st for r in rs)  # noqa: E731
    gradio_generic = sum(r.status == "generic" and r.case.gradio_only for r in results)
    rss = [r.rss_mb for r in results if r.rss_mb is not None]
    first = sorted(r.first_s for r in results)
    lines = ["# Bad input, every API name", "",
             f"Run of {time.strftime('%Y-%m-%d %H:%M')} against {url or 'its own `python app.py`'} "
             f"(CPU_CORES={os.getenv('CPU_CORES', 'all')}), `python -m playground.fuzz`: {per_pass} cases over "
             f"{len({r.case.api.name for r in results})} API names, sent {len(results) // max(1, per_pass)} times "
             "(the totals count every pass; the table below is the first).", "",
             "| cases | server deaths | hangs | files leaked | generic messages | of which from Gradio before any app code | bad values accepted | clear messages | ran (valid after coercion) |",
             "|---|---|---|---|---|---|---|---|---|",
             f"| {len(results)} | {count('death')} | {count('hang')} | {count('leak') + len(copies) + len(new)} | "
             f"{count('generic')} | {gradio_generic} | {count('accepted')} | {count('message')} | {count('ran')} |", "",
             f"Seconds to the first answer: median {first[len(first) // 2]:.2f}, slowest {first[-1]:.2f}. "
             if first else "",
             (f"Resident memory of the app (VmRSS): {rss0:.0f} MB after warm-up, at most {max(rss):.0f} MB; at the end "
              f"of each pass of the {per_pass} cases: {', '.join(f'{m:.0f}' for m in pass_rss if m)} MB"
              + (f" ({(pass_rss[-1] - pass_rss[-2]) / per_pass * 1000:.0f} kB a case in the last pass)."
                 if len(pass_rss) > 1 and None not in pass_rss[-2:] else ".")
              if rss and rss0 else ""),
             f"Canary copies in the upload folder: {len(copies)}; new files under examples/, engines/, playground/: "
             f"{len(new)}.", "",
             "| API name | cases | clear message | ran | generic | hang / accepted / leak / death |", "|---|---|---|---|---|---|"]
    for name in dict.fromkeys(r.case.api.name for r in results):
        rs = [r for r in results if r.case.api.name == name]
        lines.append(f"| /{name} | {len(rs)} | {count('message', rs)} | {count('ran', rs)} | {count('generic', rs)} | "
                     f"{sum(r.status in ('hang', 'accepted', 'leak', 'death') for r in rs)} |")
    lines += ["", HOW, "## The cases", "",
              "| # | API name | argument | case | result | answered by | s | MB | message |",
              "|---|---|---|---|---|---|---|---|---|"]
    for k, r in enumerate(results[:per_pass], 1):
        layer_ = "Gradio (payload check)" if r.case.gradio_only and r.status == "generic" else r.layer
        lines.append(f"| {k} | /{r.case.api.name} | {r.case.arg_name} | {_cell(r.case.what)} | {r.status} | "
                     f"{layer_ if r.status != 'ran' else ''} | {r.first_s:.2f} | {r.rss_mb or 0:.0f} | {_cell(r.message)} |")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m playground.fuzz", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", help="a running app (default: start `python app.py` here)")
    p.add_argument("--pid", type=int, help="with --url: the app's process id, to read its memory")
    p.add_argument("--upload-dir", type=Path, help="with --url: the app's GRADIO_TEMP_DIR, to look for canary copies")
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "fuzz.md")
    p.add_argument("--quick", action="store_true", help="the test's subset only")
    p.add_argument("--passes", type=int, default=2, help="send every case this many times (memory must level off)")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds without an answer before a case counts as a hang")
    a = p.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="fuzz-"))
    (work / "files").mkdir()
    files = Files(work / "files")
    proc = None
    if a.url:
        base, pid, upload_dir = a.url.rstrip("/") + "/", a.pid, a.upload_dir
    else:
        upload_dir = work / "gradio"
        upload_dir.mkdir()
        proc, base = start_app(upload_dir)
        pid = proc.pid
    watched = [ROOT / "examples", ROOT / "engines", ROOT / "playground", files.canary_dir]
    before = snapshot(watched)
    try:
        from .registry import ready_tabs

        shown = {t.id for t in ready_tabs()}
        apis = tuple(api for api in APIS if api.tab in shown)
        files.upload(base)
        warm_up(base)
        rss0, results, pass_rss = rss_mb(pid), [], []
        todo = cases(apis, a.quick)
        for p_ in range(a.passes):
            for k, case in enumerate(todo):
                r = run_case(base, files, case, pid, a.timeout)
                results.append(r)
                print(f"[{p_ + 1}: {k + 1}/{len(todo)}] /{case.api.name} {case.arg_name}: {case.what} "
                      f"-> {r.status} ({r.first_s:.2f} s, {r.total_s:.1f} s in all) {r.message[:90]!r}", flush=True)
                if not r.alive:
                    break
            pass_rss.append(rss_mb(pid))
        new = sorted(snapshot(watched) - before)
        copies = copies_of(files.token, files.canary, upload_dir) if upload_dir else []
        write_report(a.out, results, rss0, pass_rss, len(todo), new, copies, base if a.url else None)
        print(f"wrote {a.out}")
        bad = [r for r in results if r.status in ("hang", "accepted", "leak", "death")]
        return 1 if bad or new or copies else 0
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(20)


if __name__ == "__main__":
    sys.exit(main())
