"""One generic training loop for every model: AdamW, warm-up + cosine LR, grad clipping, EMA, resumable, seeded.

`Trainer.steps()` is a generator (the live-training tab streams it); `fit()` drains it with a tqdm bar, saves a
resumable state every `save_every` steps and exports the EMA weights as a shipped checkpoint.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
from torch import Tensor, nn
from tqdm import tqdm

from . import checkpoint
from .ema import EMA

RUNS_DIR = Path(__file__).resolve().parents[2] / "runs"


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings; saved in the checkpoint JSON under 'training'."""

    steps: int = 1000
    batch_size: int = 64
    lr: float = 2e-3
    warmup: int = 200
    min_lr_frac: float = 0.05
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    ema_decay: float = 0.999
    seed: int = 0
    save_every: int = 500


@dataclass(frozen=True)
class TrainStep:
    step: int  # 1-based count of optimiser steps done
    loss: float
    lr: float


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up over cfg.warmup steps, then cosine decay to cfg.min_lr_frac * cfg.lr."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    p = min(1.0, (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup))
    return cfg.lr * (cfg.min_lr_frac + (1 - cfg.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * p)))


LossFn = Callable[[nn.Module, Any, torch.Generator], Tensor]
BatchFn = Callable[[int, torch.Generator], Any]


def _channels_last(batch: Any) -> Any:
    """4-D tensors of a batch (a tensor, or a tuple / list of them) in channels-last memory format."""
    if isinstance(batch, Tensor):
        return batch.contiguous(memory_format=torch.channels_last) if batch.dim() == 4 else batch
    if isinstance(batch, (tuple, list)):
        return type(batch)(_channels_last(b) for b in batch)
    return batch


def _param_groups(model: nn.Module, lr_mult: dict[str, float]) -> list[dict]:
    """One optimiser group per distinct multiplier (1 for parameters no prefix matches)."""
    groups: dict[float, list] = {}
    for name, p in model.named_parameters():
        mult = next((m for prefix, m in lr_mult.items() if name.startswith(prefix)), 1.0)
        groups.setdefault(mult, []).append(p)
    return [{"params": ps, "mult": m} for m, ps in groups.items()]


class Trainer:
    """Holds model, EMA, optimiser and RNG; `steps()` yields a TrainStep after every optimiser step."""

    def __init__(
        self,
        model: nn.Module,
        loss_fn: LossFn,
        batch_fn: BatchFn,
        cfg: TrainConfig,
        device: str = "cpu",
        channels_last: bool = False,
        lr_mult: dict[str, float] | None = None,
    ):
        """lr_mult: learning-rate multipliers by parameter-name prefix, e.g. {"class_emb": 20} for a new embedding
        grafted onto a trained network."""
        torch.manual_seed(cfg.seed)
        self.cfg, self.device, self.channels_last = cfg, device, channels_last
        self.model = model.to(device).train()
        if channels_last:  # about 25% faster for convolutions on CPU (measured)
            self.model = self.model.to(memory_format=torch.channels_last)
        self.loss_fn, self.batch_fn = loss_fn, batch_fn
        self.ema = EMA(self.model, cfg.ema_decay)
        self.opt = torch.optim.AdamW(_param_groups(self.model, lr_mult or {}), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.gen = torch.Generator().manual_seed(cfg.seed)
        self.step = 0

    def steps(self, until: int | None = None) -> Iterator[TrainStep]:
        """Train until `until` (default cfg.steps) optimiser steps have been taken in total."""
        until = self.cfg.steps if until is None else until
        while self.step < until:
            lr = lr_at(self.step, self.cfg)
            for g in self.opt.param_groups:
                g["lr"] = lr * g["mult"]
            batch = self.batch_fn(self.step, self.gen)
            if self.channels_last:
                batch = _channels_last(batch)
            loss = self.loss_fn(self.model, batch, self.gen)
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            if self.cfg.grad_clip:
                nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
            self.opt.step()
            self.ema.update(self.model)
            self.step += 1
            yield TrainStep(self.step, float(loss.detach()), lr)

    def state_dict(self) -> dict:
        return {
            "model": self.model.state_dict(),
            "ema": self.ema.state_dict(),
            "opt": self.opt.state_dict(),
            "gen": self.gen.get_state(),
            "step": self.step,
            "cpu_rng": torch.get_rng_state(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.ema.load_state_dict(state["ema"])
        mults = [g["mult"] for g in self.opt.param_groups]
        self.opt.load_state_dict(state["opt"])  # saved groups may predate "mult": keep this run's multipliers
        for g, m in zip(self.opt.param_groups, mults):
            g["mult"] = m
        self.gen.set_state(state["gen"])
        torch.set_rng_state(state["cpu_rng"])
        self.step = state["step"]


def _from_weights(name: str, trainer: Trainer, meta: dict, weights_dir: Path | str | None) -> float:
    """Load the exported EMA weights into model and EMA, take their step count; returns the seconds already spent."""
    old = checkpoint.read_meta(name, weights_dir)
    cfg_cls = checkpoint.ARCHS[meta["arch"]][1]
    if old["arch"] != meta["arch"] or cfg_cls.from_dict(old["config"]) != cfg_cls.from_dict(meta["config"]):
        raise SystemExit(f"the exported {name} weights have another network config; train with --fresh instead")
    ema, _ = checkpoint.load(name, weights_dir)
    trainer.model.load_state_dict(ema.state_dict())
    trainer.ema.model.load_state_dict(ema.state_dict())
    done = old["training"]["steps_done"]
    trainer.step = trainer.ema.num_updates = done
    meta["continued_from_weights"] = {"step": done, **meta.get("continued_from_weights", {})}
    print(f"continuing {name} from its exported weights at step {done} (fresh optimiser)")
    return float(old["training"].get("seconds", 0.0))


def fit(
    name: str,
    trainer: Trainer,
    meta: dict,
    weights_dir: Path | str | None = None,
    runs_dir: Path | str = RUNS_DIR,
    resume: bool = True,
    on_save: Callable[[Trainer], dict] | None = None,
    from_weights: bool = False,
) -> Path:
    """Train with a tqdm bar, resuming from runs/<name>/state.pt; export EMA weights + JSON at every save and the end.

    on_save(trainer) may return extra entries (for example an evaluation) to record in the JSON; each is also appended,
    with its step, to runs/<name>/history.jsonl (a fresh run records step 0 first). from_weights: when the run's state
    is lost, continue from the exported EMA weights and their step count (fresh optimiser moments).
    """
    run = Path(runs_dir) / name
    run.mkdir(parents=True, exist_ok=True)
    state_path = run / "state.pt"
    elapsed = 0.0
    if resume and state_path.exists():
        state = torch.load(state_path, weights_only=False)
        trainer.load_state_dict(state["trainer"])
        elapsed = state.get("elapsed", 0.0)
        print(f"resumed {name} at step {trainer.step}")
    elif from_weights:
        elapsed = _from_weights(name, trainer, meta, weights_dir)
    cfg = trainer.cfg
    history = run / "history.jsonl"

    def record(step: int) -> dict:
        extra = on_save(trainer) if on_save is not None else {}
        if extra:
            with history.open("a") as f:
                f.write(json.dumps({"step": step, **extra}) + "\n")
        return extra

    if trainer.step == 0 and on_save is not None:
        history.unlink(missing_ok=True)
        record(0)
    t0 = time.time() - elapsed
    out = Path(weights_dir or checkpoint.WEIGHTS_DIR) / f"{name}.safetensors"
    with tqdm(total=cfg.steps, initial=trainer.step, desc=f"train {name}", mininterval=5) as bar:
        losses: list[float] = []
        for rec in trainer.steps():
            losses.append(rec.loss)
            bar.update(1)
            if rec.step % 50 == 0:
                bar.set_postfix(loss=f"{sum(losses[-50:]) / len(losses[-50:]):.4f}", lr=f"{rec.lr:.2e}")
            if rec.step % cfg.save_every == 0 or rec.step == cfg.steps:
                elapsed = time.time() - t0
                tmp = state_path.with_suffix(".tmp")  # written whole, then renamed: a run killed mid-save resumes
                torch.save({"trainer": trainer.state_dict(), "elapsed": elapsed}, tmp)
                tmp.replace(state_path)
                info = {
                    **meta,
                    "training": {
                        **asdict(cfg),
                        "steps_done": rec.step,
                        "seconds": round(elapsed, 1),
                        "final_loss": round(sum(losses[-100:]) / len(losses[-100:]), 5),
                        "device": trainer.device,
                        "threads": torch.get_num_threads(),
                        "command": f"python -m engines.train {name}",
                    },
                }
                info.update(record(rec.step))
                out = checkpoint.save(name, trainer.ema.model, info, weights_dir)
    return out
