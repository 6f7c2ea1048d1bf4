"""The app's compute thread (playground/compute.py): every event body and every step of a streaming one runs there,
errors and context variables cross over, and without the thread (scripts, tests) nothing changes."""

import contextvars
import threading

import pytest
import torch

from playground import compute

WHERE = contextvars.ContextVar("where", default="unset")


@compute.on_compute_thread
def body(fail: bool = False) -> tuple[str, str]:
    if fail:
        raise ValueError("a clear message")
    return threading.current_thread().name, WHERE.get()


@compute.on_compute_thread
def steps(n: int):
    for i in range(n):
        yield i, threading.current_thread().name


def on_a_worker(fn):
    """fn() on a fresh thread, as Gradio runs an event; its result or exception."""
    out = {}

    def target():
        try:
            out["value"] = fn()
        except Exception as e:
            out["error"] = e

    t = threading.Thread(target=target, name="gradio-worker")
    t.start()
    t.join(30)
    return out


def test_without_the_thread_everything_runs_inline():
    if compute._thread is not None:
        pytest.skip("the compute thread is already running in this process")
    assert body()[0] == threading.current_thread().name
    assert [name for _, name in steps(2)] == [threading.current_thread().name] * 2


def test_bodies_and_every_step_run_on_the_compute_thread():
    compute.start(torch.get_num_threads())  # the process keeps its thread count

    def call():
        WHERE.set("set by the worker")
        return body()

    assert on_a_worker(call)["value"] == ("torch-compute", "set by the worker")
    out = on_a_worker(lambda: list(steps(3)))["value"]
    assert out == [(0, "torch-compute"), (1, "torch-compute"), (2, "torch-compute")]
    error = on_a_worker(lambda: body(fail=True))["error"]
    assert isinstance(error, ValueError) and "a clear message" in str(error)
    assert compute.run(compute.run, body)[0] == "torch-compute"  # a nested call runs inline, no deadlock


def test_submitted_work_runs_on_the_thread_before_later_events():
    compute.start(torch.get_num_threads())
    order = []
    gate = threading.Event()
    first = compute.submit(lambda: (gate.wait(10), order.append(("preload", threading.current_thread().name))))
    later = threading.Thread(target=lambda: order.append(("event", compute.run(body)[0])))
    later.start()  # queued behind the preload, which is still waiting
    gate.set()
    later.join(30)
    first.result(10)
    assert order == [("preload", "torch-compute"), ("event", "torch-compute")]
