"""Data sets made from what packages ship or generated procedurally; nothing is downloaded."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def installed(package: str) -> bool:
    """Whether a package is installed (found, not imported)."""
    return importlib.util.find_spec(package) is not None


def package_file(package: str, rel: str) -> Path:
    """A data file inside an installed package's folder, found without importing the package (importing matplotlib
    or pocketsphinx only to locate a file costs seconds); FileNotFoundError naming the fix if it is missing."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"{package} is not installed: pip install -r requirements-dev.txt")
    return Path(next(iter(spec.submodule_search_locations))) / rel
