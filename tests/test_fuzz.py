"""Bad input on every API name (playground/fuzz.py's fast subset, through the running app), and the checks behind it
(engines/checks.py, engines/images.load_upload, playground/widgets.upload_path)."""

import math
import os
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client
from PIL import Image

from conftest import ROOT
from engines import checks
from engines.images import load_upload
from playground import fuzz
from playground.registry import ready_tabs

SHOWN = {t.id for t in ready_tabs()}
QUICK = [c for c in fuzz.cases(quick=True) if c.api.tab in SHOWN]


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    return fuzz.Files(tmp_path_factory.mktemp("fuzz"))


@pytest.fixture(scope="module")
def files(app_url, samples):
    samples.upload(app_url)
    return samples


def test_every_api_name_has_a_fuzz_row_with_its_arguments(app_url):
    endpoints = Client(app_url, verbose=False).view_api(return_format="dict", print_info=False)["named_endpoints"]
    rows = {f"/{a.name}": a for a in fuzz.APIS}
    for name, info in endpoints.items():
        assert name in rows, f"{name} has no row in playground.fuzz.APIS"
        assert len(rows[name].args) == len(info["parameters"]), name
    assert {c.api.name for c in QUICK} == {a.name for a in fuzz.APIS if a.tab in SHOWN}
    kinds = {(c.api.name, c.api.args[c.arg].kind) for c in QUICK if c.arg >= 0}
    assert kinds == {(a.name, arg.kind) for a in fuzz.APIS if a.tab in SHOWN for arg in a.args}


@pytest.mark.parametrize("case", QUICK, ids=lambda c: f"{c.api.name}-{c.arg_name}-{c.what}")
def test_bad_input_gets_a_clear_message(app_url, files, case):
    r = fuzz.run_case(app_url, files, case, None, timeout=60)
    assert r.alive, "the server stopped answering"
    assert r.status not in ("hang", "accepted", "leak"), (r.status, r.message)
    if case.arg < 0:  # the control: all values valid
        assert r.status == "ran", r.message
    elif case.gradio_only:  # Gradio refuses the payload before any app code; its message is its own (docs/fuzz.md)
        assert r.status in ("message", "generic")
    else:
        assert r.status in ("message", "ran"), r.message
        assert "Traceback" not in r.message
    assert r.first_s < 30


def test_no_canary_was_read(app_url, files):
    for case in [c for c in QUICK if c.outside]:
        fuzz.run_case(app_url, files, case, None, timeout=60)
    upload_dir = Path(files.uploaded["ok.png"]).parents[1]
    assert fuzz.copies_of(files.token, files.canary, upload_dir) == []


def test_gradio_client_sees_the_engine_message(app_url):
    c = Client(app_url, verbose=False)
    with pytest.raises(Exception, match=r"steps must be between 1 and 1000 \(a whole number\), got 'abc'"):
        c.predict("digits", "DDIM", "abc", 0.0, 0, 1, api_name="/ddpm_sample")
    with pytest.raises(Exception, match="prompt is 5,000 characters long"):
        c.predict("x" * 5000, 5.0, 2, 1, 0, api_name="/ldm_generate")
    assert c.predict(10, api_name="/annotated_schedules")[0]["type"] == "plotly"


@pytest.mark.parametrize(
    "fn,value,match",
    [
        (lambda v: checks.integer("steps", v, 1, 1000), math.nan, r"steps must be between 1 and 1000 \(a whole number\), got nan"),
        (lambda v: checks.integer("steps", v, 1, 1000), math.inf, "got inf"),
        (lambda v: checks.integer("steps", v, 1, 1000), True, "got True"),
        (lambda v: checks.integer("steps", v, 1, 1000), "5", "got '5'"),
        (lambda v: checks.integer("steps", v, 1, 1000), 2.5, "got 2.5"),
        (lambda v: checks.integer("steps", v, 1, 1000), 10**400, "must be between"),
        (lambda v: checks.number("eta", v, 0, 1), None, "eta must be a number between 0 and 1, got None"),
        (lambda v: checks.number("eta", v, 0, 1), -math.inf, "eta must be a number"),
        (lambda v: checks.number("eta", v, 0, 1), np.bool_(True), "eta must be a number"),
        (lambda v: checks.choice("sampler", v, ("ddpm", "ddim")), ["ddim"], "unknown sampler"),
        (lambda v: checks.choice("sampler", v, ("ddpm", "ddim")), {"a": 1}, "choose one of ddpm, ddim"),
        (lambda v: checks.flag("arrows", v), "no", "arrows must be true or false"),
        (lambda v: checks.seed(v), 2**32, "seed must be between 0 and 4294967295"),
        (lambda v: checks.prompt(v, 1000), None, "prompt must be text"),
        (lambda v: checks.prompt(v, 1000), "x " * 3000, "characters long; the limit is 1,000"),
        (lambda v: checks.prompt(v, 1000, empty="type a prompt"), " \x00\t ", "type a prompt"),
    ],
)
def test_checks_refuse_with_the_control_and_the_range(fn, value, match):
    with pytest.raises(ValueError, match=match):
        fn(value)


def test_checks_accept_clean_values():
    assert checks.integer("steps", 3.0, 1, 10) == 3 and isinstance(checks.integer("steps", np.int64(4), 1, 10), int)
    assert checks.number("eta", 1, 0, 1) == 1.0 and checks.flag("x", np.bool_(False)) is False
    assert checks.prompt("a red\x00 circle\x1b \u202eon the  left\ud800", 1000) == "a red circle on the left"
    assert checks.prompt("دائرة 🔴", 1000) == "دائرة 🔴" and checks.prompt("", 1000) == ""


def test_upload_path_reads_only_uploads_and_examples(tmp_path, monkeypatch):
    from playground import widgets

    uploads = tmp_path / "gradio"
    (uploads / "abc").mkdir(parents=True)
    (uploads / "abc" / "in.png").write_bytes(b"x")
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"x")
    os.symlink(secret, uploads / "abc" / "link.png")
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(uploads))
    assert widgets.upload_path({"path": str(uploads / "abc" / "in.png")}) == str((uploads / "abc" / "in.png").resolve())
    assert widgets.upload_path(str(ROOT / "examples" / "coffee.png")).endswith("coffee.png")
    assert widgets.upload_path(None) is None
    for bad in (str(secret), {"path": "/etc/passwd"}, str(uploads / "abc" / ".." / ".." / "secret.png"),
                str(uploads / "abc" / "link.png"), {"url": "http://127.0.0.1:9/x.png"}, 5):
        with pytest.raises(ValueError, match="not uploaded|not from URLs|must be an uploaded file"):
            widgets.upload_path(bad)


def test_odd_uploads_load_or_get_a_message(samples):
    d = samples.folder
    big = load_upload(str(d / "big.png"))
    assert max(big.size) <= 2048 and big.info["original_size"] == (6000, 4000)
    deep = load_upload(str(d / "16bit.png"))  # 16-bit grey: scaled, not clipped to white
    assert deep.mode == "RGB" and 0 < np.asarray(deep).mean() < 250
    assert load_upload(str(d / "rgba.png")).getpixel((0, 0))[1] > 100  # composited on white
    for name, match in (("1x1.png", "at least 4x4"), ("trunc.png", "damaged or cut short"),
                        ("trunc.jpg", "damaged or cut short"), ("text.png", "not an image"),
                        ("empty.png", "not an image")):
        with pytest.raises(ValueError, match=match):
            load_upload(str(d / name))
    with pytest.raises(ValueError, match="no such image file"):
        load_upload(str(d / "missing.png"))
    assert load_upload(str(ROOT / "examples" / "coffee.png")).size == (256, 256)
    assert samples.canary.exists() and Image.open(samples.canary).size == (64, 64)
