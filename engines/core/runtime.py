"""A trained network's forward run by ONNX Runtime: the inference path on CPUs without native bf16.

On such a CPU (AVX2 only) PyTorch's eager float32 forward is the bottleneck of every tab; the same network exported to
ONNX and run by ONNX Runtime (graph fusions, blocked convolution layouts) computes the same numbers (max difference
3e-6) in less time. Measured on this project's machine, 2 threads, the guided-shapes UNet at batch 16 (one
classifier-free guided step of 8 samples): PyTorch 112-145 ms, ONNX Runtime 86-89 ms.

The export (PyTorch's TorchScript-based exporter, about 1.4 s for the digits UNet) starts at the first call with each set
of keyword inputs, in a background thread, every dimension dynamic; PyTorch answers until it is ready, so no request
waits for it. The first ONNX Runtime call at every new input shape is also run by PyTorch and compared; a shape where
the two disagree (or where export fails) stays on PyTorch. So the runtime costs no result beyond float32 rounding
(a 50-step sample differs by about 1e-5 between the two).
"""

from __future__ import annotations

import io
import logging
import threading
import warnings
import weakref
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

log = logging.getLogger(__name__)
# The tracer's warnings (a Python value it treats as a constant) and the exporter's deprecation notice: every export
# is checked against PyTorch instead. Filters, not catch_warnings(), which is not thread-safe.
warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX export", category=DeprecationWarning)
ATOL = 1e-3  # agreement asked of ONNX Runtime on a new shape, relative to the output's largest magnitude


def available() -> bool:
    """ONNX Runtime and the exporter's onnx package are installed."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


class _Positional(nn.Module):
    """model(x, t, **{name: tensor}) with the keyword inputs passed positionally (what the exporter traces)."""

    def __init__(self, model: nn.Module, names: tuple[str, ...]):
        super().__init__()
        self.model, self.names = model, names

    def forward(self, x: Tensor, t: Tensor, *rest: Tensor) -> Tensor:
        return self.model(x, t, **dict(zip(self.names, rest)))


_PENDING, _FAILED = "exporting", "failed"


def _session(model: nn.Module, names: tuple[str, ...], inputs: list[Tensor], threads: int):
    """An ONNX Runtime session of model with inputs ('x', 't', *names), every dimension dynamic."""
    import onnx
    import onnxruntime as ort

    all_names = ["x", "t", *names]
    dynamic = {n: {d: f"{n}_{d}" for d in range(v.dim())} for n, v in zip(all_names, inputs)}
    buf = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(
            _Positional(model, names).eval(),
            tuple(inputs),
            buf,
            input_names=all_names,
            output_names=["out"],
            dynamic_axes=dynamic,
            dynamo=False,
        )
    graph_inputs = [i.name for i in onnx.load_model_from_string(buf.getvalue()).graph.input]
    if graph_inputs != all_names:  # an input the trace folded into a constant: the graph would ignore it
        raise ValueError(f"the traced graph takes {graph_inputs}, not {all_names}")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3  # errors only
    # Workers spin during a run (about 10% faster than sleeping between ops) but stop when it returns: left spinning,
    # they took the cores from PyTorch's work between two runs (the classifier's gradient, the decoders): classifier
    # guidance of 8 shapes took 6.40 s, against 4.06 s all on PyTorch.
    opts.add_session_config_entry("session.force_spinning_stop", "1")
    return ort.InferenceSession(buf.getvalue(), opts, providers=["CPUExecutionProvider"])


_FORWARDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_FORWARDS_LOCK = threading.Lock()


def onnx_forward(model: nn.Module) -> OnnxForward:
    """The one OnnxForward of a model (checkpoints load once per process, so each exports once)."""
    with _FORWARDS_LOCK:
        if model not in _FORWARDS:
            _FORWARDS[model] = OnnxForward(model)
        return _FORWARDS[model]


def wait_all(timeout: float | None = None) -> None:
    """Block until every export started so far has finished (a benchmark's warm-up)."""
    for f in list(_FORWARDS.values()):
        f.wait(timeout)


class OnnxForward:
    """Callable like model(x, t, **cond) at inference; float32 out. PyTorch runs while the export is in progress
    (a background thread, so no request waits for it) and for any input signature ONNX Runtime cannot match."""

    def __init__(self, model: nn.Module):
        self.model = model.eval()
        self.sessions: dict[tuple, Any] = {}  # (keyword names, dtypes, ranks) -> session, _PENDING or _FAILED
        self.exports: dict[tuple, threading.Thread] = {}
        self.checked: dict[tuple, bool] = {}  # full signature with shapes -> ONNX Runtime agreed with PyTorch
        self.lock = threading.Lock()

    def torch_forward(self, x: Tensor, t: Tensor, **cond: Any) -> Tensor:
        with torch.no_grad():
            return self.model(x, t, **cond).float()

    def wait(self, timeout: float | None = None) -> None:
        """Block until every export started so far has finished (tests, benchmarks)."""
        for thread in list(self.exports.values()):
            thread.join(timeout)

    def _export(self, key: tuple, names: tuple[str, ...], inputs: list[Tensor], threads: int) -> None:
        try:
            session = _session(self.model, names, inputs, threads)
        except Exception as e:  # an op the exporter cannot write: this signature stays on PyTorch
            log.warning("ONNX export failed (%s); running %s on PyTorch", e, type(self.model).__name__)
            session = _FAILED
        with self.lock:
            self.sessions[key] = session

    def _session_for(self, key: tuple, names: tuple[str, ...], inputs: list[Tensor]):
        """The ready session for this signature, or None (export started now, still running, or failed)."""
        with self.lock:
            session = self.sessions.get(key)
            if session is None:
                self.sessions[key] = _PENDING
                copies = [v.detach().clone().contiguous() for v in inputs]
                # not a daemon: the interpreter waits for it at exit (a tracer killed mid-export aborts the process)
                thread = threading.Thread(target=self._export, args=(key, names, copies, torch.get_num_threads()))
                self.exports[key] = thread
                thread.start()
        return None if session in (None, _PENDING, _FAILED) else session

    def __call__(self, x: Tensor, t: Tensor, **cond: Any) -> Tensor:
        names = tuple(sorted(k for k, v in cond.items() if v is not None))
        inputs = [x, t, *(cond[k] for k in names)]
        if not all(isinstance(v, Tensor) for v in inputs):
            return self.torch_forward(x, t, **cond)
        key = (names, tuple((v.dtype, v.dim()) for v in inputs))
        shape_key = (key, tuple(tuple(v.shape) for v in inputs))
        session = self._session_for(key, names, inputs)
        if session is None or self.checked.get(shape_key) is False:
            return self.torch_forward(x, t, **cond)
        feed = {n: v.detach().contiguous().numpy() for n, v in zip(("x", "t", *names), inputs)}
        try:
            out = torch.from_numpy(np.asarray(session.run(None, feed)[0])).float()  # (B, C, H, W) like the model's
        except Exception as e:  # a shape the graph cannot take: PyTorch for it from now on
            log.warning("ONNX Runtime failed at input shapes %s (%s); using PyTorch", shape_key[1], e)
            self.checked[shape_key] = False
            return self.torch_forward(x, t, **cond)
        if shape_key not in self.checked:
            ref = self.torch_forward(x, t, **cond)
            ok = out.shape == ref.shape and float((out - ref).abs().max()) <= ATOL * max(1.0, float(ref.abs().max()))
            self.checked[shape_key] = ok
            if not ok:
                log.warning("ONNX Runtime disagrees with PyTorch at input shapes %s; using PyTorch", shape_key[1])
                return ref
        return out
