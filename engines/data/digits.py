"""scikit-learn's 1,797 handwritten 8x8 digits, served as (N, 1, S, S) tensors in [-1, 1]."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor


@lru_cache(maxsize=4)
def load_digits_tensor(size: int = 16) -> tuple[Tensor, Tensor]:
    """(images (1797, 1, size, size) in [-1, 1], labels (1797,)); 8x8 upsampled bilinearly (ink is white)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.from_numpy(d.images.astype(np.float32) / 16.0)[:, None]  # (N, 1, 8, 8) in [0, 1]
    if size != 8:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return (x.clamp(0, 1) * 2 - 1).contiguous(), torch.from_numpy(d.target.astype(np.int64))


def to_8x8(x: Tensor) -> np.ndarray:
    """Images in [-1, 1] of any size -> (N, 64) features on scikit-learn's 0..16 scale (area downsampling)."""
    x = (x.float().clamp(-1, 1) + 1) / 2
    x = F.adaptive_avg_pool2d(x[:, :1], 8)
    return (x.reshape(x.shape[0], 64) * 16).cpu().numpy()


def digits_batches(batch_size: int, size: int = 16):
    """A batch function for the training loop: fn(step, generator) -> (batch_size, 1, size, size), drawn with replacement."""
    images, _ = load_digits_tensor(size)

    def fn(step: int, gen: torch.Generator) -> Tensor:
        return images[torch.randint(0, images.shape[0], (batch_size,), generator=gen)]

    return fn
