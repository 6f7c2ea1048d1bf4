"""One thread for all of the app's PyTorch work.

PyTorch's CPU build parallelises with GNU OpenMP, which gives every thread that runs a parallel region its own team
of workers, kept as long as the thread lives, and stops busy-waiting between regions (it sleeps and wakes on every
one) once more threads sit in teams than there are cores. Gradio runs each event on one of its worker threads, next
to the main thread's team from building the tabs: measured on 2 cores, the guided-shapes UNet's forward took 219 ms
on a worker thread once the main thread had computed, against 150 ms on a thread alone (7,851 voluntary context
switches against 0 in ten forwards), and the Annotated tab trained 48-62 steps in 20 s in the app against 102 in a
script (31 steps in 10 s on the compute thread once the tabs were built on the main thread, 51 before). So the app
builds its tabs on one dedicated thread, and `on_compute_thread` runs every event's body (and each step of a
streaming one) there too: one team, however many Gradio workers there are.

Cancelling (a Stop button's `cancels=`, gradio_client's `job.cancel()`): Gradio waits for the step in flight, never
asks for the next one and closes the event's generator; the engine's generator is then closed here, on the compute
thread (its `finally` and `with` blocks, grad mode included, run where its steps ran), so the next job's first step
runs right after the cancelled job's last one. A plain (non-generator) body is one task: it runs to its end.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import queue
import threading
from concurrent.futures import Future
from typing import Any, Callable, Generator

import torch

_tasks: queue.SimpleQueue = queue.SimpleQueue()
_thread: threading.Thread | None = None
_DONE = object()


def _serve(threads: int) -> None:
    torch.set_num_threads(threads)
    while True:
        fn, fut = _tasks.get()
        if fut.set_running_or_notify_cancel():
            try:
                fut.set_result(fn())
            except BaseException as e:  # handed to the waiting event, which raises it there
                fut.set_exception(e)
        del fn, fut  # hold no finished job's generator or result until the next task arrives


def start(threads: int) -> None:
    """Start the compute thread (once) with `threads` intra-op threads."""
    global _thread
    if _thread is None:
        _thread = threading.Thread(target=_serve, args=(threads,), name="torch-compute", daemon=True)
        _thread.start()


def run(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """fn(*args, **kwargs) on the compute thread (with the caller's context variables, which Gradio's progress
    tracking reads); inline when there is none (scripts, tests) or when already on it."""
    if _thread is None or threading.current_thread() is _thread:
        return fn(*args, **kwargs)
    fut: Future = Future()
    _tasks.put((functools.partial(contextvars.copy_context().run, fn, *args, **kwargs), fut))
    return fut.result()


def submit(fn: Callable[..., Any], *args: Any) -> Future:
    """Queue fn(*args) on the compute thread without waiting (work to have done before the first event)."""
    fut: Future = Future()
    if _thread is None:
        raise RuntimeError("start() the compute thread first")
    _tasks.put((functools.partial(fn, *args), fut))
    return fut


def close_later(it: Generator) -> None:
    """Close a generator on the compute thread without waiting for it (inline when there is none, or on it): the
    caller may be Gradio's event loop, which must not wait for the step another job has in flight."""
    if _thread is None or threading.current_thread() is _thread:
        it.close()
    else:
        _tasks.put((it.close, Future()))


def on_compute_thread(fn: Callable) -> Callable:
    """An event handler whose body runs on the compute thread; a generator's every step does, and each value is
    yielded back on Gradio's worker thread. Closed before its end (a cancelled event), it closes fn's generator on
    the compute thread and steps it no more."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def gen(*args, **kwargs):
            it = run(fn, *args, **kwargs)  # creating the generator runs nothing
            try:
                while True:
                    item = run(next, it, _DONE)
                    if item is _DONE:
                        return
                    yield item
            finally:  # GeneratorExit at the yield (cancelled), or garbage-collected unfinished: no-op once finished
                close_later(it)

        return gen

    @functools.wraps(fn)
    def call(*args, **kwargs):
        return run(fn, *args, **kwargs)

    return call
