"""Shared test settings (offline, no analytics, the repository on sys.path) and the running app."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from engines.train import SHIPPED  # noqa: E402  (after sys.path)


def needs(*models: str):
    """Skip a test of a model that is still in training (not in engines.train.SHIPPED); it runs once shipped."""
    missing = [m for m in models if m not in SHIPPED]
    return pytest.mark.skipif(bool(missing), reason=f"not shipped yet: {', '.join(missing)}")


def needs_tab(tab_id: str):
    """Skip a test of a tab the app does not show yet (its models not shipped)."""
    from playground.registry import TABS

    spec = next(t for t in TABS if t.id == tab_id)
    return pytest.mark.skipif(not spec.ready, reason=f"the {spec.title} tab is not shown yet")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


APP_LOG: list[Path] = []  # the running app's log, shown under a failing test that used it


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing test that talked to the app gets the end of the app's log (its tracebacks) in its report."""
    rep = (yield).get_result()
    if rep.failed and APP_LOG and {"app_url", "client"} & set(item.fixturenames):
        rep.sections.append(("app log (last 6000 characters)", APP_LOG[0].read_text(errors="replace")[-6000:]))


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    port = free_port()
    env = {
        **os.environ,
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_TEMP_DIR": str(tmp_path_factory.mktemp("gradio")),
        "IMAGIC_STEPS": "4,4",  # stages A and B in a second: the browser test runs the whole edit twice
        "DREAMFUSION_ITERS": "50",  # SDS in ~5 s instead of ~35: the browser test runs it twice
    }
    log_path = tmp_path_factory.mktemp("log") / "app.log"
    APP_LOG[:] = [log_path]
    log = open(log_path, "w+")
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    t0 = time.time()
    while time.time() - t0 < 60:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    else:
        proc.kill()
        log.seek(0)
        pytest.fail("the app did not answer within 60 s:\n" + log.read())
    yield url
    proc.terminate()
    proc.wait(10)
