"""Crowds: concurrent visitors through gradio_client for a bounded time, with the app's memory watched.

`python -m playground.load` starts `python app.py` itself (a free port, its own upload folder) and writes docs/load.md;
`--url URL --pid PID` loads a running app instead. Phases: one call of every quick API name (the models load); the
cancel check (a long streaming job cancelled while another visitor's job waits behind it in the same slot: how long
from the cancel to that job's first frame, against the cancelled job's time between frames; and the same with a
non-streaming job, which runs to its end); the load (VISITORS threads, each its own session, looping over a weighted
mix of API names with the tabs' default arguments and small batches, 0.5-2 s apart; visitor 0 cancels each streaming
job of its own halfway); a burst of tiny jobs past the queue's size (the explicit "queue full" answer); then idle.

A new API name is one new row of CALLS: its tab, whether it streams, its weight in the mix and its arguments.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from gradio_client import Client, handle_file

from .fuzz import alive, memory, start_app

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "examples"
PROGRESS = re.compile(r"step (\d+)/(\d+)|(\d+)/(\d+) s\b")  # "step 12/50" in a status or a figure's title; "5/20 s"


@dataclass(frozen=True)
class Call:
    """One API name in the mix: its arguments are args(seed, visitor's last results)."""

    api: str
    tab: str  # playground.registry id: skipped unless the tab is shown
    stream: bool
    weight: float
    args: Callable[[int, dict], tuple | None]  # None: not possible yet (it needs another call's result)
    slot: str = "cpu"  # the concurrency id it waits in (playground.widgets HEAVY / TRAINING; None: its own)
    warm: bool = True  # called once before the load (the long ones are not)


def _img(name: str):
    return handle_file(str(EX / name))


def _cloud(seed: int, last: dict) -> tuple | None:
    ply = last.get("/lion_sample")
    return None if ply is None else (handle_file(ply[1]), 0.3, 2, 25, seed)


PROMPT = "a red circle on the left"
CALLS: tuple[Call, ...] = (
    Call("/ddpm_sample", "ddpm", True, 3, lambda s, _: ("digits", "DDIM", 50, 0.0, s, 16)),
    Call("/annotated_forward", "annotated", False, 2, lambda s, _: (_img("coffee.png"), "linear", 250, 1000, s),
         slot=""),
    Call("/annotated_schedules", "annotated", False, 2, lambda s, _: (1000,), slot=""),
    Call("/annotated_toy", "annotated", True, 2, lambda s, _: ("moons", "ddpm", 60, 1000, s, True)),
    Call("/annotated_train", "annotated", True, 0.5, lambda s, _: (20, "huber", "linear", s), slot="train",
         warm=False),
    Call("/guidance_sample", "guidance", True, 3, lambda s, _: ("red circle", "classifier-free", 3.0, 50, 8, s)),
    Call("/guidance_sweep", "guidance", False, 1, lambda s, _: ("blue star", "classifier-free", 50, 4, s)),
    Call("/sr3_upscale", "sr3", True, 2, lambda s, _: (_img("sr3_coffee_lr.png"), 50, s, "ddpm")),
    Call("/palette_restore", "palette", True, 2,
         lambda s, _: ("inpainting", {"background": _img("coffee.png"), "layers": [], "composite": None},
                       "centre box", "right", 10, False, 50, 2, s, False)),
    Call("/imagen_generate", "imagen", True, 3, lambda s, _: (PROMPT, 7.5, True, 0.995, 50, 25, 2, s, True)),
    Call("/ldm_generate", "ldm", True, 2, lambda s, _: ("a large yellow square on a blue background", 7.5, 50, 2, s)),
    Call("/ldm_compare", "ldm", False, 1, lambda s, _: ("a blue square at the top", 7.5, 50, 1, s)),
    Call("/imagic_edit", "imagic", True, 0.5,
         lambda s, _: (_img("imagic_yellow_square.png"), "a green square", 1.0, s, True), slot="train", warm=False),
    Call("/lion_sample", "lion", True, 2, lambda s, _: ("chair", 2.0, 25, 2, s, "DDIM")),
    Call("/lion_vary", "lion", True, 1, _cloud),
    Call("/lion_interpolate", "lion", False, 1, lambda s, _: ("airplane", s, s + 1, 6, 25, 2.0)),
)
# The cancel check: (long streaming or plain job, the short job that waits behind it in the same slot)
CANCELS: tuple[tuple[str, str, tuple, str, tuple], ...] = (
    ("ddpm", "/ddpm_sample", ("digits", "DDPM (ancestral, Alg. 2)", 1000, 1.0, 0, 64),
     "/ddpm_sample", ("digits", "DDIM", 20, 0.0, 1, 4)),
    ("guidance", "/guidance_sample", ("red circle", "classifier-free", 3.0, 1000, 8, 0),
     "/ddpm_sample", ("digits", "DDIM", 20, 0.0, 1, 4)),
    ("imagen", "/imagen_generate", (PROMPT, 7.5, True, 0.995, 250, 250, 4, 0, True),
     "/ddpm_sample", ("digits", "DDIM", 20, 0.0, 1, 4)),
    ("lion", "/lion_sample", ("chair", 2.0, 250, 8, 0, "DDIM"), "/ddpm_sample", ("digits", "DDIM", 20, 0.0, 1, 4)),
    ("imagic", "/imagic_edit", ("@imagic_yellow_square.png", "a green square", 1.0, 0, True),
     "/annotated_train", (5, "huber", "linear", 0)),
    ("guidance", "/guidance_sweep", ("red circle", "classifier-free", 50, 8, 0),
     "/ddpm_sample", ("digits", "DDIM", 20, 0.0, 1, 4)),
)


@dataclass
class Record:
    api: str
    visitor: int
    start: float
    end: float = 0.0
    first: float | None = None  # the first streamed frame
    outcome: str = "ok"  # ok | cancelled | error | queue_full
    message: str = ""


def progress(update: Any) -> float | None:
    """How far a streamed update says its job is (0-1), from "step i/N" in any of its outputs."""
    m = PROGRESS.search(" ".join(str(x) for x in (update if isinstance(update, (list, tuple)) else [update])))
    if not m:
        return None
    i, n = (int(g) for g in (m.groups()[:2] if m.group(1) else m.groups()[2:]))
    return i / max(n, 1)


class Memory(threading.Thread):
    """Samples the app's VmRSS every `every` seconds."""

    def __init__(self, pid: int | None, every: float = 2.0):
        super().__init__(daemon=True)
        self.pid, self.every, self.samples, self.stop = pid, every, [], threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            m = memory(self.pid)
            if m:
                self.samples.append((time.monotonic(), m["VmRSS"]))
            self.stop.wait(self.every)


def run_one(client: Client, call: Call, args: tuple, visitor: int, cancel_at: float | None) -> tuple[Record, Any]:
    """One call: streaming ones are iterated (cancelled once they pass cancel_at of their steps); its result."""
    rec, result = Record(call.api, visitor, time.monotonic()), None
    try:
        job = client.submit(*args, api_name=call.api)
        if call.stream:
            for update in job:
                rec.first = rec.first or time.monotonic()
                p = progress(update)
                if cancel_at is not None and p is not None and p >= cancel_at and p < 1:
                    job.cancel()
                    rec.outcome = "cancelled"
                    break
        if rec.outcome == "ok":
            result = job.result()
    except Exception as e:  # noqa: BLE001  (every failure is counted, with its message)
        rec.message = str(e)[:300]
        rec.outcome = "queue_full" if "queue is full" in rec.message.lower() else "error"
    rec.end = time.monotonic()
    return rec, result


def visitor(url: str, k: int, calls: list[Call], until: float, cancels: bool, seed: int, out: list[Record]) -> None:
    """One visitor: weighted random calls until `until`, 0.5-2 s apart; cancels its streaming jobs halfway if asked."""
    rng, client, last = random.Random(seed * 100 + k), Client(url, verbose=False), {}
    while time.monotonic() < until:
        call = rng.choices(calls, [c.weight for c in calls])[0]
        args = call.args(rng.randrange(1000), last)
        if args is None:
            continue
        rec, result = run_one(client, call, args, k, 0.5 if cancels and call.stream else None)
        out.append(rec)
        if result is not None:
            last[call.api] = result
        time.sleep(rng.uniform(0.5, 2.0))


def _resolve(args: tuple) -> tuple:
    return tuple(_img(a[1:]) if isinstance(a, str) and a.startswith("@") else a for a in args)


def _first_frame(job) -> float | None:
    """Seconds from now to a streaming job's first update (None if it ended without one)."""
    t0 = time.monotonic()
    return None if next(iter(job), None) is None else time.monotonic() - t0


def cancel_check(url: str, shown: set[str], after_s: float = 3.0) -> list[dict]:
    """For each pair of CANCELS: job A runs, job B (another session) waits behind it; A is cancelled after_s seconds
    in; how long until B's first frame, against A's time between frames and B's first frame when alone."""
    rows = []
    for tab, api_a, args_a, api_b, args_b in CANCELS:
        if tab not in shown:
            continue
        stream = next(c for c in CALLS if c.api == api_a).stream
        ca, cb = Client(url, verbose=False), Client(url, verbose=False)
        alone = cb.submit(*args_b, api_name=api_b)
        b_alone = _first_frame(alone)
        alone.result(timeout=300)
        t0 = time.monotonic()
        ja = ca.submit(*_resolve(args_a), api_name=api_a)
        frames: list[float] = []
        it = iter(ja)
        if stream:
            next(it)
            frames.append(time.monotonic())
        else:
            time.sleep(1.0)
        jb = cb.submit(*args_b, api_name=api_b)  # waits in the slot A holds
        b_first: list[float] = []
        tb = threading.Thread(target=lambda j=jb, f=b_first: (next(iter(j), None), f.append(time.monotonic())),
                              daemon=True)
        tb.start()
        while time.monotonic() - t0 < after_s:
            if stream and next(it, None) is not None:
                frames.append(time.monotonic())
            elif not stream:
                time.sleep(0.05)
        t_cancel = time.monotonic()
        ja.cancel()
        t_returned = time.monotonic()
        tb.join(300)
        jb.result(timeout=300)
        gaps = [b - a for a, b in zip(frames, frames[1:])]
        rows.append({"api": api_a, "then": api_b, "stream": stream, "frames": len(frames),
                     "gap": statistics.median(gaps) if gaps else None, "gap_max": max(gaps) if gaps else None,
                     "cancel_call": t_returned - t_cancel, "to_next": b_first[0] - t_cancel if b_first else None,
                     "alone": b_alone})
        print(f"cancel check {api_a} -> {api_b}: {rows[-1]}", flush=True)
    return rows


def burst(url: str, n: int = 30, deadline_s: float = 120.0) -> dict:
    """n one-step jobs at once, each from its own session: the queue holds PLAYGROUND_QUEUE waiting jobs, the rest
    must be told "queue full"."""
    out: list[Record] = []
    # not iterated as a stream: gradio_client's iterator of a job the queue refused waits forever (measured, 6.31),
    # while its result() raises "Queue is full" at once
    quick = Call("/ddpm_sample", "ddpm", False, 1, lambda s, _: ("digits", "DDIM", 1, 0.0, s, 1))
    clients = [Client(url, verbose=False) for _ in range(n)]
    threads = [threading.Thread(target=lambda c=c, k=k: out.append(run_one(c, quick, quick.args(k, {}), k, None)[0]),
                                daemon=True) for k, c in enumerate(clients)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + deadline_s
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    done = list(out)
    messages = sorted({r.message for r in done if r.outcome != "ok"})
    return {"sent": n, **{o: sum(r.outcome == o for r in done) for o in ("ok", "queue_full", "error")},
            "unanswered": n - len(done), "messages": messages}


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(q * (len(xs) - 1))))]


def _s(x: float | None) -> str:
    return "" if x is None else f"{x:.2f}"


def report(a, recs: list[Record], checks: list[dict], bur: dict, mem: dict, load_before: str,
           started: str, elapsed: float) -> str:
    """docs/load.md: the per-API-name table, memory, the cancel check, the burst and how to run it."""
    errors = [r for r in recs if r.outcome == "error"]
    lines = ["# Under load", "",
             f"Run of {started}: `python -m playground.load --visitors {a.visitors} --minutes {a.minutes:g}` "
             f"against {'a running app' if a.url else 'its own `python app.py`'} on 2 CPU cores "
             f"(CPU_CORES={os.getenv('CPU_CORES', 'all')}); `uptime` before it: {load_before}.", "",
             f"{a.visitors} visitors (each its own gradio_client session) for {elapsed / 60:.1f} minutes: "
             f"{len(recs)} calls, {sum(r.outcome == 'ok' for r in recs)} completed, "
             f"{sum(r.outcome == 'cancelled' for r in recs)} cancelled halfway by visitor 0, "
             f"{sum(r.outcome == 'queue_full' for r in recs)} answered \"queue full\", **{len(errors)} errors**.", "",
             "| API name | calls | completed | cancelled | errors | queue full | latency p50 (s) | p95 (s) | "
             "first frame p50 (s) | p95 (s) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for api in dict.fromkeys(c.api for c in CALLS):
        rs = [r for r in recs if r.api == api]
        if not rs:
            continue
        ok = [r.end - r.start for r in rs if r.outcome == "ok"]
        first = [r.first - r.start for r in rs if r.first is not None]
        lines.append(f"| {api} | {len(rs)} | {len(ok)} | {sum(r.outcome == 'cancelled' for r in rs)} | "
                     f"{sum(r.outcome == 'error' for r in rs)} | {sum(r.outcome == 'queue_full' for r in rs)} | "
                     f"{_s(_pct(ok, .5) if ok else None)} | {_s(_pct(ok, .95) if ok else None)} | "
                     f"{_s(_pct(first, .5) if first else None)} | {_s(_pct(first, .95) if first else None)} |")
    lines += ["", "Latency: from submitting to the last update (a completed call), queue wait included. All "
              "heavy API names share one slot (concurrency id `cpu`, one at a time), /annotated_train and "
              "/imagic_edit another (`train`), and every step of every one of them runs on the app's one compute "
              "thread, so a visitor's latency is mostly the other visitors' jobs ahead of it."]
    for r in errors[:10]:
        lines.append(f"- error in {r.api}: {r.message}")
    lines += ["", "## Memory", "",
              "| app's resident memory (VmRSS) | MB |", "|---|---|",
              f"| just started | {mem['boot']:.0f} |", f"| after one call of each API name (models loaded) | "
              f"{mem['start']:.0f} |", f"| highest sample during the load (every 2 s) | {mem['peak']:.0f} |",
              f"| peak of the process (VmHWM) | {mem['hwm']:.0f} |",
              f"| {a.idle:.0f} s after the load and the burst, idle | {mem['after']:.0f} |", "",
              "## Cancelling frees the compute thread within a step", "",
              "A long job A streams; another session's short job B waits behind it in the same slot; A is cancelled "
              "(gradio_client `job.cancel()`, the same /cancel the Stop button sends) a few seconds in. "
              "\"A's step\" is the time between A's streamed frames (one step of its generator on the compute "
              "thread); \"cancel -> B's first frame\" includes B's own first step.", "",
              "| A (cancelled) | streams | A's step, median / max (s) | cancel() returned after (s) | B | "
              "B alone: first frame (s) | cancel -> B's first frame (s) |", "|---|---|---|---|---|---|---|"]
    for c in checks:
        lines.append(f"| {c['api']} | {'yes' if c['stream'] else 'no'} | {_s(c['gap'])} / {_s(c['gap_max'])} | "
                     f"{_s(c['cancel_call'])} | {c['then']} | {_s(c['alone'])} | {_s(c['to_next'])} |")
    lines += ["", "A call that does not stream (here /guidance_sweep) is one task on the compute thread: Gradio "
              "cannot interrupt it, so the job behind it waits for its end.", "",
              "## Queue full", "",
              f"{bur['sent']} one-step /ddpm_sample jobs at once, each from its own session (the queue holds "
              f"PLAYGROUND_QUEUE = {os.getenv('PLAYGROUND_QUEUE', '20')} waiting jobs): {bur['ok']} completed, "
              f"{bur['queue_full']} answered queue full, {bur['error']} errors, {bur['unanswered']} without an answer "
              f"after 120 s. "
              + (f"Messages: {'; '.join(repr(m) for m in bur['messages'])}." if bur["messages"] else ""), "",
              "## How to run it", "",
              "```bash",
              "python -m playground.load                              # starts python app.py, writes docs/load.md",
              "python -m playground.load --url http://127.0.0.1:7860/ --pid PID   # a running app",
              "python -m playground.load --minutes 1 --out /tmp/load.md           # a short run",
              "```", "",
              "Each visitor picks API names at random by weight (CALLS in playground/load.py: the heavy and the "
              "training ones rarely), with the tabs' default arguments and small batches (2-16 images), 0.5-2 s "
              "apart; visitor 0 cancels each of its streaming jobs once its status says it is half done. "
              "Before the load, one call of each API name but the two training ones loads the models. "
              "A tab that is not shown (its weights not shipped) has its rows skipped."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m playground.load", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", help="a running app (default: start `python app.py` here)")
    p.add_argument("--pid", type=int, help="with --url: the app's process id, to read its memory")
    p.add_argument("--visitors", type=int, default=4)
    p.add_argument("--minutes", type=float, default=5.0)
    p.add_argument("--idle", type=float, default=30.0, help="seconds idle after the load before memory is read")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "load.md")
    p.add_argument("--burst-only", action="store_true", help="with --url: only the queue-full burst, printed")
    a = p.parse_args(argv)
    if a.burst_only:
        print(burst(a.url.rstrip("/") + "/"))
        return 0
    load_before = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    started = time.strftime("%Y-%m-%d %H:%M")
    proc = None
    if a.url:
        url, pid = a.url.rstrip("/") + "/", a.pid
    else:
        upload = Path(tempfile.mkdtemp(prefix="load-")) / "gradio"
        upload.mkdir()
        proc, url = start_app(upload)
        pid = proc.pid
    try:
        from .registry import ready_tabs

        shown = {t.id for t in ready_tabs()}
        calls = [c for c in CALLS if c.tab in shown]
        mem = {"boot": memory(pid).get("VmRSS", 0.0)}
        client, warm, last = Client(url, verbose=False), [], {}
        for c in calls:
            args = c.args(0, last)
            if c.warm and args is not None:
                rec, result = run_one(client, c, args, -1, None)
                warm.append(rec)
                last[c.api] = result
                print(f"warm-up {c.api}: {rec.outcome} {rec.end - rec.start:.1f} s {rec.message[:120]}", flush=True)
        mem["start"] = memory(pid).get("VmRSS", 0.0)
        checks = cancel_check(url, shown)
        watch = Memory(pid)
        watch.start()
        recs: list[Record] = []
        t0 = time.monotonic()
        until = t0 + a.minutes * 60
        threads = [threading.Thread(target=visitor, args=(url, k, calls, until, k == 0, a.seed, recs), daemon=True)
                   for k in range(a.visitors)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - t0
        print(f"load: {len(recs)} calls in {elapsed:.0f} s", flush=True)
        bur = burst(url)
        print(f"burst: {bur}", flush=True)
        time.sleep(a.idle)
        watch.stop.set()
        m = memory(pid)
        mem.update(peak=max([v for _, v in watch.samples], default=0.0), hwm=m.get("VmHWM", 0.0),
                   after=m.get("VmRSS", 0.0))
        text = report(a, recs, checks, bur, mem, load_before, started, elapsed)
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(text)
        print(text)
        return 1 if any(r.outcome == "error" for r in recs) or not alive(url) else 0
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(20)


if __name__ == "__main__":
    sys.exit(main())
