"""Checkpoints: weights as .safetensors (fp16) plus a .json config that rebuilds the model; load(name) is cached."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from safetensors.torch import load_file, save_file
from torch import nn

from .nn import ARCHS

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"


class MissingWeightsError(FileNotFoundError):
    """A shipped model's weights are not on disk; the message says which command trains them."""

    def __init__(self, name: str, path: Path):
        self.name = name
        super().__init__(
            f"The weights for '{name}' are missing ({path}). Train them with: python -m engines.train {name}"
        )


def build(meta: dict) -> nn.Module:
    """A freshly initialised network from the 'arch' and 'config' entries of a checkpoint's JSON."""
    arch = meta["arch"]
    if arch not in ARCHS:
        raise ValueError(f"unknown architecture {arch!r} in checkpoint config")
    cls, cfg_cls = ARCHS[arch]
    return cls(cfg_cls.from_dict(meta["config"]))


def save(name: str, model: nn.Module, meta: dict, directory: Path | str | None = None, half: bool = True) -> Path:
    """Write DIR/name.safetensors (fp16 by default) and DIR/name.json; meta must hold 'arch' and 'config'."""
    directory = Path(directory or WEIGHTS_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    state = {
        k: (v.half() if half and v.is_floating_point() else v).contiguous().cpu() for k, v in model.state_dict().items()
    }
    save_file(state, str(directory / f"{name}.safetensors"))
    (directory / f"{name}.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    load.cache_clear()
    return directory / f"{name}.safetensors"


def read_meta(name: str, directory: Path | str | None = None) -> dict:
    """The JSON config of a checkpoint, without loading its weights."""
    path = Path(directory or WEIGHTS_DIR) / f"{name}.json"
    if not path.exists():
        raise MissingWeightsError(name, path)
    return json.loads(path.read_text())


@lru_cache(maxsize=16)
def load(name: str, directory: Path | str | None = None, device: str = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """(model in eval mode, float32, meta) for the named checkpoint; cached, so each model loads once per process."""
    meta = read_meta(name, directory)
    weights = Path(directory or WEIGHTS_DIR) / f"{name}.safetensors"
    if not weights.exists():
        raise MissingWeightsError(name, weights)
    model = build(meta)
    state = {k: v.float() if v.is_floating_point() else v for k, v in load_file(str(weights)).items()}
    model.load_state_dict(state)
    return model.to(device).eval().requires_grad_(False), meta


def available(name: str, directory: Path | str | None = None) -> bool:
    """True when both files of the named checkpoint are present."""
    d = Path(directory or WEIGHTS_DIR)
    return (d / f"{name}.json").exists() and (d / f"{name}.safetensors").exists()


def warm_start(
    model: nn.Module, name: str, meta: dict, zero: tuple[str, ...] = (), directory: Path | str | None = None
) -> bool:
    """Start a bigger model from a shipped one it extends (same layers plus new conditioning): copy every weight
    whose name and shape match, zero the parameters under the `zero` prefixes (so the new conditioning starts
    silent and the model starts as the shipped one), and record it in meta['init']. False when `name` is missing."""
    if not available(name, directory):
        return False
    base, _ = load(name, directory)
    own = model.state_dict()
    own.update({k: v for k, v in base.state_dict().items() if k in own and own[k].shape == v.shape})
    model.load_state_dict(own)
    for k, p in model.named_parameters():
        if k.startswith(zero):
            nn.init.zeros_(p)
    meta["init"] = name
    return True
