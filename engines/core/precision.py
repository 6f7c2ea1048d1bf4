"""Inference precision and runtime: bfloat16 autocast where the CPU computes it natively (AVX512-BF16 or AMX); elsewhere
float32, run by ONNX Runtime when it is installed (core/runtime.py), else by PyTorch.

Measured on this project's machine (AMD EPYC with AVX512-BF16, 2 threads): the digits UNet at batch 64 runs a step in
35 ms under bf16 autocast against 66 ms in float32, with outputs within 0.03 of float32. On a CPU without native
bf16, autocast would be slower, so it is off there. PLAYGROUND_BF16=0 / 1 forces it off / on; PLAYGROUND_ONNX=0 keeps
the float32 path on PyTorch.
"""

from __future__ import annotations

import contextlib
import os
from functools import lru_cache

import torch

from . import runtime


@lru_cache(maxsize=1)
def bf16_available() -> bool:
    forced = os.getenv("PLAYGROUND_BF16")
    if forced is not None:
        return forced not in ("0", "false", "no", "")
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:  # an older torch
        return False


# How closely two inference runs of the same network may agree: float32 rounding, or bf16's where the forward runs under
# bf16 autocast (8 mantissa bits: one rounding is 0.4% of a value). The same inputs in a batch of 2 and a batch of 1
# round differently there: measured 5e-3 on Imagic's 64x64 edit (base, 50 steps, then SR), against 1e-5 in float32.
FLOAT32_ATOL = 1e-4
BF16_ATOL = 2e-2


def inference_atol() -> float:
    """The absolute tolerance (on images in [-1, 1]) within which two runs of one computation agree on this host."""
    return BF16_ATOL if bf16_available() else FLOAT32_ATOL


def autocast(device: str = "cpu"):
    """A context for network forward passes at inference: bf16 autocast when worthwhile, else a no-op."""
    if device == "cpu" and bf16_available():
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def onnx_enabled() -> bool:
    """float32 inference goes through ONNX Runtime: no native bf16, ONNX Runtime installed, not turned off."""
    return (
        os.getenv("PLAYGROUND_ONNX", "1") not in ("0", "false", "no") and not bf16_available() and runtime.available()
    )


def fast(model: torch.nn.Module, onnx: bool = True):
    """model's forward wrapped for inference, returning float32: under autocast() where bf16 is native, else by ONNX
    Runtime where enabled (onnx=False for a network still being changed, as Imagic's fine-tuned copy)."""
    if onnx and onnx_enabled():
        return runtime.onnx_forward(model)

    def forward(*args, **kwargs):
        with autocast():
            return model(*args, **kwargs).float()

    return forward
