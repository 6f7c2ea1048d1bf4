"""`python -m playground.hosting`: the hosting dry run. The app as a Hugging Face Space starts it (`python app.py`
with the Space's environment), from a fresh virtual environment made from requirements.txt alone, in a network
namespace of its own that has nothing but a loopback device (`unshare --net`), under strace, so that any attempt to
reach the network is both impossible and recorded. Measures the seconds until it serves its page, its resident
memory then and after one request of each tab's main action, and lists every connect() the app made.

Needs root (unshare, nsenter) and strace (Debian: apt-get install -y strace); the venv is built with network first.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PORT = 7860
# What a Space sets (huggingface hub-docs, spaces-overview.md); GRADIO_SERVER_NAME 0.0.0.0 as on Spaces
SPACE_ENV = {"SYSTEM": "spaces", "SPACE_ID": "dry-run/diffusion-playground", "CPU_CORES": "2", "MEMORY": "16Gi",
             "ACCELERATOR": "none", "GRADIO_SERVER_NAME": "0.0.0.0", "GRADIO_SERVER_PORT": str(PORT)}
# One request per tab's main action, through gradio_client, run inside the app's namespace
REQUESTS = """
import json, sys, time
from gradio_client import Client, handle_file
c = Client("http://127.0.0.1:%d/", verbose=False)
calls = [("/ddpm_sample", ("digits", "DDIM", 50, 0.0, 0, 16)), ("/guidance_sample", ("red circle", "classifier-free", 3.0, 50, 8, 0)),
         ("/sr3_upscale", (handle_file("examples/sr3_coffee_lr.png"), 50, 0, "ddpm")),
         ("/imagen_generate", ("a red circle on the left", 7.5, True, 0.995, 50, 25, 4, 0, True)),
         ("/ldm_generate", ("a blue square at the top", 5.0, 50, 4, 0)), ("/lion_sample", ("chair", 2.0, 25, 4, 0, "DDIM")),
         ("/tts_speak", ("Return the popped value", 10, 1.5, 1.0, False, 0))]
names = set(c.view_api(return_format="dict", print_info=False)["named_endpoints"])
out = {}
for name, args in calls:
    if name in names:
        t0 = time.perf_counter(); c.submit(*args, api_name=name).result(); out[name] = round(time.perf_counter() - t0, 2)
print(json.dumps(out))
""" % PORT


def make_venv(path: Path) -> Path:
    """A fresh venv at path with requirements.txt alone installed (needs the package registry); its python."""
    if path.exists():
        shutil.rmtree(path)
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    subprocess.run([str(path / "bin" / "pip"), "install", "-q", "-r", str(ROOT / "requirements.txt")], check=True)
    return path / "bin" / "python"


def rss_mb(pid: int) -> tuple[float, float]:
    """(resident, peak resident) MiB of a process, from /proc."""
    status = Path(f"/proc/{pid}/status").read_text()
    get = lambda key: int(re.search(rf"{key}:\s+(\d+) kB", status).group(1)) / 1024  # noqa: E731
    return round(get("VmRSS"), 1), round(get("VmHWM"), 1)


def descendants(pid: int) -> list[int]:
    kids = [int(k) for k in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()]
    return kids + [d for k in kids for d in descendants(k)]


def app_pid(root_pid: int) -> int:
    """The python process running app.py under the launcher (unshare -> sh -> [strace ->] python)."""
    for _ in range(400):
        for pid in [root_pid, *descendants(root_pid)]:
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if os.path.basename(cmd[0]).startswith(b"python") and b"app.py" in cmd:
                return pid
        time.sleep(0.05)
    raise RuntimeError("the app's process did not start")


def in_namespace(pid: int, cmd: list[str], timeout: float = 600) -> subprocess.CompletedProcess:
    """Run cmd inside the network namespace of process pid."""
    return subprocess.run(["nsenter", "-t", str(pid), "-n", *cmd], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT)


def serve_seconds(pid: int, t0: float, limit: float = 120) -> float:
    """Seconds from t0 until the page answers 200 inside the app's namespace."""
    probe = [sys.executable, "-c", f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{PORT}/', "
             "timeout=1)"]
    while time.time() - t0 < limit:
        if in_namespace(pid, probe, 10).returncode == 0:
            return round(time.time() - t0, 2)
        time.sleep(0.2)
    raise RuntimeError(f"the app did not serve within {limit} s")


def launch(python: Path, trace: Path | None) -> subprocess.Popen:
    """`python app.py` in a new network namespace with only loopback up, optionally under strace (connect calls)."""
    strace = f"strace -f -qq --seccomp-bpf -e trace=connect -o {trace} " if trace else ""
    env = {**os.environ, **SPACE_ENV}
    for k in ("GRADIO_ANALYTICS_ENABLED", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        env.pop(k, None)  # as a Space would start it: nothing set on the app's behalf
    script = f"ip link set lo up && exec {strace}{python} app.py"
    return subprocess.Popen(["unshare", "--net", "--", "sh", "-c", script], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


def stop(proc: subprocess.Popen, pid: int | None) -> None:
    """End the app (its own process first: strace does not pass a SIGTERM on) and its launcher."""
    for p in (pid, proc.pid):
        if p is not None:
            try:
                os.kill(p, 15)
            except ProcessLookupError:
                pass
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def outside_connects(trace: Path) -> list[str]:
    """Every connect() in the strace log to anything but loopback or a local (AF_UNIX) socket."""
    calls = [ln for ln in trace.read_text().splitlines() if "connect(" in ln]
    local = re.compile(r"sa_family=AF_UNIX|inet_addr\(\"127\.|inet_pton\(AF_INET6, \"::1\"|::ffff:127\.")
    return [ln.strip() for ln in calls if not local.search(ln)]


def dry_run(python: Path) -> dict:
    """Serve time without strace, then memory, requests and connect() calls with it."""
    t0 = time.time()
    proc, pid = launch(python, None), None
    try:
        pid = app_pid(proc.pid)
        served = serve_seconds(pid, t0)
        time.sleep(3)  # the text encoder preloads on the compute thread just after the page is up
        rss_start = rss_mb(pid)
    finally:
        stop(proc, pid)
    trace = Path(tempfile.mkdtemp()) / "connect.trace"
    t0 = time.time()
    proc, pid = launch(python, trace), None
    try:
        pid = app_pid(proc.pid)
        served_traced = serve_seconds(pid, t0, 300)
        res = in_namespace(pid, [sys.executable, "-c", REQUESTS])
        if res.returncode != 0:
            raise RuntimeError(res.stderr[-2000:])
        seconds = json.loads(res.stdout.strip().splitlines()[-1])
        rss_after = rss_mb(pid)
    finally:
        stop(proc, pid)
    connects = [ln for ln in trace.read_text().splitlines() if "connect(" in ln]
    return {"serve_s": served, "serve_s_under_strace": served_traced, "rss_mb_at_start": rss_start[0],
            "rss_mb_after_requests": rss_after[0], "peak_rss_mb": rss_after[1], "request_s": seconds,
            "connect_calls": len(connects), "outside_loopback": outside_connects(trace)}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m playground.hosting", description=__doc__)
    p.add_argument("--venv", type=Path, default=Path(tempfile.gettempdir()) / "space-venv")
    p.add_argument("--reuse", action="store_true", help="use the venv as it is (built by an earlier run)")
    a = p.parse_args(argv)
    t0 = time.time()
    python = a.venv / "bin" / "python" if a.reuse else make_venv(a.venv)
    print(f"venv ready ({time.time() - t0:.0f} s): {python}", flush=True)
    print(json.dumps(dry_run(python), indent=2))


if __name__ == "__main__":
    main()
