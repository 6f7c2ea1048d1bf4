"""English sentences for the speech corpus (Grad-TTS), from text that ships with Python itself: the standard
library's docstrings and the reference topics in `pydoc_data`. Kept: sentences of 4-12 plain words, every word in
the CMU pronouncing dictionary inside the pocketsphinx wheel (so the offline recogniser that scores intelligibility
knows each word). Deterministic for a given Python (3.11 here); a fixed share is held out, never trained on."""

from __future__ import annotations

import ast
import hashlib
import os
import re
import sysconfig
from functools import lru_cache
from pathlib import Path

from . import package_file

MIN_WORDS, MAX_WORDS = 4, 12
HELD_OUT_EVERY = 20  # one sentence in 20 (by a hash of its text) is held out
SKIP_DIRS = {"test", "tests", "idlelib", "site-packages", "lib2to3", "__pycache__", "turtledemo"}
_WORD = re.compile(r"[A-Za-z][a-z']*,?")  # plain words: no digits, no CAPITALS (espeak spells those letter by letter)


def cmu_words() -> frozenset[str]:
    """The words of the CMU dictionary that pocketsphinx's en-us model ships (lower case)."""
    path = package_file("pocketsphinx", "model/en-us/cmudict-en-us.dict")
    with open(path, encoding="utf-8") as f:
        return frozenset(line.split(maxsplit=1)[0] for line in f if line.strip())


def _docstrings() -> list[str]:
    """Every module, class and function docstring of the standard library (sorted walk), then pydoc's topics."""
    out = []
    root = sysconfig.get_paths()["stdlib"]
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            try:
                tree = ast.parse(Path(folder, name).read_text(encoding="utf-8"))
            except (SyntaxError, UnicodeDecodeError, ValueError):
                continue
            for node in ast.walk(tree):
                if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                    doc = ast.get_docstring(node)
                    if doc:
                        out.append(doc)
    from pydoc_data.topics import topics

    out.extend(topics[k] for k in sorted(topics))
    return out


def clean(sentence: str, vocabulary: frozenset[str]) -> str | None:
    """The sentence as the corpus keeps it (one line, no final full stop), or None if it does not qualify."""
    s = re.sub(r"\s+", " ", sentence).strip().rstrip(".!?:;")
    words = s.split()
    if not MIN_WORDS <= len(words) <= MAX_WORDS:
        return None
    for w in words:
        bare = w.rstrip(",")
        if not _WORD.fullmatch(w) or bare.lower() not in vocabulary or (len(bare) == 1 and bare not in "aAI"):
            return None
    return s


@lru_cache(maxsize=1)
def sentences() -> tuple[str, ...]:
    """All qualifying sentences, each once, sorted."""
    vocabulary = cmu_words()
    found = set()
    for text in _docstrings():
        for part in re.split(r"(?<=[.!?])\s+|\n\s*\n", text):
            s = clean(part, vocabulary)
            if s is not None:
                found.add(s)
    return tuple(sorted(found))


def is_held_out(sentence: str) -> bool:
    """Whether a sentence is in the held-out share (fixed by its text, so adding sentences keeps the split)."""
    return int(hashlib.sha1(sentence.encode()).hexdigest(), 16) % HELD_OUT_EVERY == 0


def split() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(training sentences, held-out sentences)."""
    every = sentences()
    return tuple(s for s in every if not is_held_out(s)), tuple(s for s in every if is_held_out(s))
