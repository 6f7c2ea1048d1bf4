"""Checks of a request's values, shared by every engine, the command line and the app: each one returns the value in
its clean form or raises a ValueError whose message names the control, says what it accepts and quotes what it got
(for example "steps must be between 1 and 1000 (a whole number), got nan").

Numbers: bools, strings, None, NaN and infinities are refused, never coerced; a whole float (3.0) counts as a whole
number. Prompts: control characters (Unicode Cc: NUL, escape, ...), bidirectional overrides and unpaired surrogates
are removed, whitespace is collapsed (as the text encoder reads it), and what remains must fit the length limit.
Upload paths: read only inside the folders the caller allows (the app: Gradio's upload folder and examples/).
"""

from __future__ import annotations

import math
import numbers
import os
import unicodedata
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

MAX_SEED = 2**32 - 1  # numpy's and torch's seeds both take it
# Bidirectional embeddings and overrides (U+202A-202E, U+2066-2069) and the LRM / RLM marks: invisible, and they
# make the prompt shown back to the user read in another order than it was typed. Right-to-left letters stay.
BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def shown(value: Any, limit: int = 40) -> str:
    """A value as a message quotes it: repr, on one line, cut to about `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _range(lo: float, hi: float) -> str:
    if math.isinf(hi):
        return f"at least {lo:g}"
    return f"at most {hi:g}" if math.isinf(lo) else f"between {lo:g} and {hi:g}"


def number(name: str, value: Any, lo: float, hi: float, where: str = "") -> float:
    """A finite real number in [lo, hi] as a float (lo = -inf or hi = inf: no bound on that side)."""
    if not _is_real(value) or not math.isfinite(value):
        raise ValueError(f"{name} must be a number {_range(lo, hi)}{where}, got {shown(value)}")
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be {_range(lo, hi)}{where}, got {shown(value)}")
    return float(value)


def integer(name: str, value: Any, lo: int, hi: int, where: str = "") -> int:
    """A whole number in [lo, hi] as an int (3 and 3.0 are accepted; 2.5, True, '3', NaN and inf are not)."""
    whole = isinstance(value, numbers.Integral) or (_is_real(value) and math.isfinite(value) and value == int(value))
    if not (whole and _is_real(value)) or not lo <= value <= hi:
        raise ValueError(f"{name} must be between {lo} and {hi}{where} (a whole number), got {shown(value)}")
    return int(value)


def seed(value: Any, name: str = "seed") -> int:
    """A random seed: a whole number in [0, MAX_SEED]."""
    return integer(name, value, 0, MAX_SEED)


def choice(name: str, value: Any, options: Iterable[str]) -> str:
    """One of `options` (exact, case-sensitive)."""
    options = tuple(options)
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"unknown {name} {shown(value)}; choose one of {', '.join(options)}")
    return value


def flag(name: str, value: Any) -> bool:
    """A switch: True or False (not 0 / 1, not 'yes')."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ValueError(f"{name} must be true or false, got {shown(value)}")


def unlabel(value: Any, labels: Mapping[str, str]) -> Any:
    """The value behind a display label (the app's radio buttons show labels); anything else unchanged."""
    return labels.get(value, value) if isinstance(value, str) else value


def clean_text(text: str) -> str:
    """Text without control characters, bidirectional overrides or unpaired surrogates, whitespace collapsed."""
    kept = (
        " " if unicodedata.category(c) == "Cc" else c
        for c in text
        if c not in BIDI_CONTROLS and unicodedata.category(c) != "Cs"
    )
    return " ".join("".join(kept).split())


def prompt(
    text: Any,
    max_chars: int,
    name: str = "prompt",
    example: str = "a red circle on the left",
    empty: str | None = None,
) -> str:
    """A prompt cleaned by clean_text and at most max_chars long; `empty` is the message for an empty one (None: an
    empty prompt is allowed, which the text-to-image models read as 'no prompt')."""
    if not isinstance(text, str):
        raise ValueError(f"{name} must be text, e.g. {example!r}, got {shown(text)}")
    cleaned = clean_text(text)
    if not cleaned and empty is not None:
        raise ValueError(empty)
    if len(cleaned) > max_chars:
        raise ValueError(
            f"{name} is {len(cleaned):,} characters long; the limit is {max_chars:,} (the model reads only its first "
            f"few words): shorten it, e.g. {example!r}"
        )
    return cleaned


def inside(path: Any, roots: Sequence[str | Path], what: str = "image") -> Path:
    """The real path of a file that lies inside one of `roots` (symbolic links and '..' resolved first);
    ValueError for any other path, so a caller can never name a file it did not upload."""
    if not isinstance(path, (str, Path)) or not str(path):
        raise ValueError(f"the {what} must be an uploaded file, got {shown(path)}")
    real = Path(os.path.realpath(path))
    for root in roots:
        if real.is_relative_to(os.path.realpath(root)):
            return real
    raise ValueError(
        f"that {what} was not uploaded to this app: upload the file (from Python: gradio_client.handle_file(path)) "
        "or pick one of the examples"
    )
