"""Captioned shapes-world images with their frozen text embeddings, cached once per distinct caption (Imagen's advice:
pre-encode the text, imagen-pytorch#304)."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor

from ..core import text
from . import shapes

CACHE_DIR = Path(__file__).resolve().parents[2] / "runs" / "cache"


@lru_cache(maxsize=2)
def captioned(n: int, size: int = 64, seed: int = 3) -> tuple[Tensor, Tensor, list[str], tuple]:
    """(images uint8 (n, 3, size, size), caption index per image (n,), distinct captions, scenes)."""
    images, scenes = shapes.dataset(n, size, seed)
    distinct = sorted({sc.caption for sc in scenes})
    where = {c: i for i, c in enumerate(distinct)}
    return images, torch.tensor([where[sc.caption] for sc in scenes]), distinct, scenes


def embed_all(captions: list[str], batch: int = 256) -> dict[str, Tensor]:
    """Frozen embeddings of many captions, cached on disk by content: tokens fp16 (U, L, 384), mask, pooled."""
    key = hashlib.sha1(("v1|%d|" % text.MAX_TOKENS + "\n".join(captions)).encode()).hexdigest()[:12]
    path = CACHE_DIR / f"captions-{len(captions)}-{key}.pt"
    if path.exists():
        return torch.load(path)
    parts = [text.encode(captions[i : i + batch]) for i in range(0, len(captions), batch)]
    out = {
        "tokens": torch.cat([p.tokens for p in parts]).half(),
        "mask": torch.cat([p.mask for p in parts]),
        "pooled": torch.cat([p.pooled for p in parts]),
    }
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    torch.save(out, path)
    return out


def cond_for(emb: dict[str, Tensor], idx: Tensor) -> dict[str, Tensor]:
    """The UNet conditioning of the captions at idx: context (B, L, 384), its mask and the pooled vector."""
    return {"context": emb["tokens"][idx].float(), "context_mask": emb["mask"][idx], "pooled": emb["pooled"][idx]}


def prompt_cond(prompts: list[str]) -> dict[str, Tensor]:
    """The same conditioning for typed prompts."""
    e = text.encode(prompts)
    return {"context": e.tokens, "context_mask": e.mask, "pooled": e.pooled}


@lru_cache(maxsize=1)
def empty_prompt() -> dict[str, Tensor]:
    """The 'no text' condition (the empty prompt), used for caption dropout and as CFG's unconditional branch."""
    return prompt_cond([""])


def _with_text(cond: dict[str, Tensor], e: dict[str, Tensor]) -> dict[str, Tensor]:
    """cond with its text entries replaced by the one prompt's e, for the whole batch (image / augmentation kept)."""
    B = cond["context"].shape[0]
    return {**cond, **{k: v.expand(B, *v.shape[1:]) for k, v in e.items()}}


def null_text(cond: dict[str, Tensor]) -> dict[str, Tensor]:
    """cond with its text replaced by the empty prompt (image / augmentation entries kept)."""
    return _with_text(cond, empty_prompt())


def without_colours(prompt: str) -> str:
    """The prompt with its colour words taken out: 'a red circle on a blue background' -> 'a circle on a background'."""
    return " ".join(w for w in prompt.split() if w.lower().strip(".,;:!?") not in shapes.COLOURS)


def against_text(prompt: str) -> Callable[[dict[str, Tensor]], dict[str, Tensor]]:
    """A null_cond for classifier_free that puts `prompt` in the other branch instead of the empty prompt."""
    e = prompt_cond([prompt])
    return lambda cond: _with_text(cond, e)


def drop_text(cond: dict[str, Tensor], gen: torch.Generator, p: float) -> dict[str, Tensor]:
    """Caption dropout for classifier-free guidance: each example's text becomes the empty prompt with probability p."""
    B = cond["context"].shape[0]
    drop = torch.rand(B, generator=gen) < p
    null = null_text(cond)
    out = dict(cond)
    for k in ("context", "context_mask", "pooled"):
        d = drop.view(-1, *([1] * (cond[k].dim() - 1)))
        out[k] = torch.where(d, null[k], cond[k])
    return out
