"""Monotonic Alignment Search (Glow-TTS, Kim et al. 2020, Alg. 1; used by Grad-TTS): the monotonic, surjective
alignment of text tokens to frames that maximises the summed log-likelihood, by dynamic programming (numba)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

NEG = -1e9


def _path_py(value: np.ndarray, t_x: int, t_y: int) -> np.ndarray:
    """value (Tx, Ty) log-likelihoods, overwritten with the best cumulative scores -> path (Tx, Ty) of 0/1."""
    path = np.zeros(value.shape, dtype=np.float32)
    for y in range(t_y):
        for x in range(max(0, t_x + y - t_y), min(t_x, y + 1)):
            v_cur = NEG if x == y else value[x, y - 1]  # stay on token x
            if x == 0:
                v_prev = 0.0 if y == 0 else NEG
            else:
                v_prev = value[x - 1, y - 1]  # move on from token x - 1
            value[x, y] += max(v_cur, v_prev)
    index = t_x - 1
    for y in range(t_y - 1, -1, -1):
        path[index, y] = 1.0
        if index != 0 and (index == y or value[index, y - 1] < value[index - 1, y - 1]):
            index -= 1
    return path


@lru_cache(maxsize=1)
def _path():
    """_path_py compiled by numba on first use (importing numba costs 0.2 s, which the CLI and the app need not pay)."""
    import numba

    return numba.njit(cache=True)(_path_py)


def maximum_path(log_p: Tensor, x_lengths: Tensor, y_lengths: Tensor) -> Tensor:
    """(B, Tx, Ty) log-likelihood of frame y under token x -> (B, Tx, Ty) 0/1 alignment (detached; each token gets
    at least one frame, each frame exactly one token, in order). Needs y_length >= x_length per item."""
    v = log_p.detach().float().cpu().numpy().copy()
    out = np.zeros_like(v)
    for b in range(v.shape[0]):
        tx, ty = int(x_lengths[b]), int(y_lengths[b])
        if ty < tx:
            raise ValueError(f"an utterance of {ty} frames cannot align {tx} tokens")
        out[b, :tx, :ty] = _path()(np.ascontiguousarray(v[b, :tx, :ty]), tx, ty)
    return torch.from_numpy(out).to(log_p.device)


def path_from_durations(durations: Tensor, t_y: int) -> Tensor:
    """(B, Tx) integer frames per token -> (B, Tx, t_y) 0/1 alignment (token x covers its run of frames)."""
    ends = durations.long().cumsum(-1)  # (B, Tx)
    frames = torch.arange(t_y, device=durations.device)  # (Ty,)
    return ((frames[None, None] < ends[..., None]) & (frames[None, None] >= (ends - durations.long())[..., None])).float()
