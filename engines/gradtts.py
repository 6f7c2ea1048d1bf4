"""Grad-TTS (Popov et al. 2021): text -> phonemes (espeak) -> mu-tilde and durations (the encoder) -> the prior
N(mu, I) over the mel frames -> the reverse diffusion (the probability-flow ODE with N Euler steps, or the reverse
SDE) -> a mel -> Griffin-Lim. Inference as `Speech-Backbones/Grad-TTS/model/tts.py:forward`."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from . import checks
from .core import checkpoint
from .core.mas import maximum_path, path_from_durations
from .core.nn.tts import GradTTS
from .core.precision import fast
from .core.samplers import Denoiser, final, sample_loop
from .core.sde import MeanRevertingVP
from .gradtts_train import MODEL, collate, intersperse, log_prior

MAX_STEPS = 100
# the paper's Euler solver of the ODE / SDE, or the core's samplers on X_t - mu as a discrete VP chain (DDIM; with
# "stochastic", eta = 1) or DPM-Solver++ 2M (deterministic)
SAMPLERS = ("euler", "ddim", "dpm++")
CHAIN_T = 1000  # the discrete chain's steps
MAX_CHARS = 300


@dataclass(frozen=True)
class Voice:
    """The shipped model, its phoneme inventory (id i = inventory[i], blank = len), its SDE and its terminal
    distribution (prior "data": N(mu, I), the paper's; "standard": N(0, I), the ablation)."""

    model: GradTTS
    inventory: tuple[str, ...]
    sde: MeanRevertingVP
    prior: str = "data"

    @property
    def blank(self) -> int:
        return len(self.inventory)

    def ids(self, phonemes: tuple[str, ...]) -> np.ndarray:
        """Phoneme names -> ids (interspersed with blanks); a phoneme the corpus never had is dropped."""
        index = {p: i for i, p in enumerate(self.inventory)}
        known = np.array([index[p] for p in phonemes if p in index], dtype=np.int64)
        return intersperse(known, self.blank)


def load(directory=None, name: str = MODEL) -> Voice:
    model, meta = checkpoint.load(name, directory)
    # channels_last: a decoder step on a 3.6 s mel (1, 80, 308) took 27 -> 19 ms in bf16, 40 -> 28 ms in float32 (2 threads)
    model.decoder.to(memory_format=torch.channels_last)
    return Voice(model.eval(), tuple(meta["inventory"]), MeanRevertingVP(**meta["sde"]), meta.get("prior", "data"))


@dataclass(frozen=True)
class Step:
    """One reverse step: index of total, at time t, the current mel (F, T)."""

    index: int
    total: int
    t: float
    mel: Tensor


@dataclass(frozen=True)
class Speech:
    """The result: the mel, the prior's mean mu (F, T), the alignment (tokens x frames; "" is a blank), and espeak's
    own rendering of the text (the corpus's voice, to compare)."""

    mel: Tensor
    mu: Tensor
    alignment: Tensor
    tokens: tuple[str, ...]
    reference: np.ndarray


@torch.no_grad()
def encode(voice: Voice, ids: np.ndarray, length_scale: float = 1.0) -> tuple[Tensor, Tensor, Tensor]:
    """ids (Tx,) -> mu_y (1, F, Ty) with Ty divisible by 4, the alignment (1, Tx, Ty) and the frames per token."""
    b = collate([ids])
    mu_x, logw, x_mask = voice.model.encoder(b["ids"], b["x_lengths"])
    w = torch.exp(logw) * x_mask
    w_ceil = torch.ceil(w * length_scale)[:, 0]  # (1, Tx)
    T = max(4, int(math.ceil(float(w_ceil.sum()) / 4) * 4))
    attn = path_from_durations(w_ceil, T)  # (1, Tx, T)
    return torch.einsum("bfi,bij->bfj", mu_x, attn), attn, w_ceil[0]


@torch.no_grad()
def reverse(voice: Voice, mu: Tensor, steps: int, temperature: float, stoc: bool, gen: torch.Generator,
            sampler: str = "euler") -> Iterator[Step]:
    """z = mu + eps / tau, then `steps` steps from t = 1 to 0: Euler steps of the probability-flow ODE (or the SDE),
    as the paper, or the core's DDIM / DPM-Solver++ on X_t - mu. With the ablation's N(0, I) prior, z = eps / tau and
    the drift reverts towards 0; the network still sees mu."""
    m = mu if voice.prior == "data" else torch.zeros_like(mu)  # the SDE's terminal mean
    decoder = fast(voice.model.decoder)  # bf16 autocast or ONNX Runtime, as the host allows
    x = m + torch.randn(mu.shape, generator=gen) / temperature
    if sampler != "euler":
        yield from _chain(voice, mu, m, x, steps, stoc, gen, sampler, decoder)
        return
    h = 1.0 / steps
    for i in range(steps):
        t = 1.0 - (i + 0.5) * h
        tt = torch.full((mu.shape[0],), t)
        lam = 1 - float(voice.sde.alpha_bar(torch.tensor(t)))  # the variance lambda_t of X_t given X_0
        score = -voice.model.eps(x, tt, mu, decoder) / math.sqrt(lam)
        noise = torch.randn(mu.shape, generator=gen) if stoc else None
        x = voice.sde.euler_step(x, m, score, t, h, noise)
        yield Step(i, steps, t, x[0])


def _chain(voice: Voice, mu: Tensor, m: Tensor, x: Tensor, steps: int, stoc: bool, gen: torch.Generator,
           sampler: str, decoder) -> Iterator[Step]:
    """The core's sampler on y = X - m, a VP chain with alpha_bar[k] = exp(-B((k + 1) / T)) (core/sde.py:chain); the
    network's eps is the same noise (X_t - m = sqrt(alpha_bar) (X_0 - m) + sqrt(1 - alpha_bar) eps)."""
    chain = voice.sde.chain(CHAIN_T)

    def net(y: Tensor, k: Tensor, _cond) -> Tensor:
        return voice.model.eps(y + m, (k.float() + 1) / CHAIN_T, mu, decoder)

    den = Denoiser(net, "eps", clip=None)
    for st in sample_loop(sampler, den, x - m, chain, steps, eta=1.0 if stoc else 0.0, generator=gen):
        yield Step(st.index, st.total, (st.t + 1) / CHAIN_T, (st.x + m)[0])


def speak(text: str, steps: int = 10, temperature: float = 1.5, length_scale: float = 1.0, stoc: bool = False,
          seed: int = 0, voice: Voice | None = None, sampler: str = "euler") -> Iterator[Step | Speech]:
    """Yield every reverse Step, then the Speech."""
    text = checks.prompt(text, MAX_CHARS, "the text", "Return the popped value",
                         empty="the text is empty: type something to say, for example 'Return the popped value'")
    steps = checks.integer("steps", steps, 1, MAX_STEPS)
    temperature = checks.number("temperature", temperature, 0.1, 10.0)
    length_scale = checks.number("length scale", length_scale, 0.5, 2.0)
    stoc = checks.flag("stochastic", stoc)
    sampler = checks.choice("sampler", sampler, SAMPLERS)
    if sampler == "dpm++" and stoc:
        raise ValueError("DPM-Solver++ is deterministic: untick 'stochastic', or choose euler (the reverse SDE) or ddim "
                         "(eta = 1)")
    from .data.espeak import espeak

    voice = voice or load()
    u = espeak().speak(text)
    ids = voice.ids(u.phonemes)
    mu, attn, _ = encode(voice, ids, length_scale)
    gen = torch.Generator().manual_seed(checks.seed(seed))
    mel = mu[0]
    for s in reverse(voice, mu, steps, temperature, stoc, gen, sampler):
        mel = s.mel
        yield s
    tokens = tuple("" if i == voice.blank else voice.inventory[i] for i in ids)
    yield Speech(mel, mu[0], attn[0], tokens, u.wav)


@torch.no_grad()
def alignment_report(model: GradTTS, corpus, n: int = 64, tolerance: int = 2) -> dict[str, float]:
    """On n held-out utterances: the share of phoneme boundaries that MAS (between the model's mu and the true mel)
    puts within `tolerance` frames of espeak's, and the same for the duration predictor's boundaries."""
    model = model.eval()
    blank = len(corpus.inventory)
    held = np.flatnonzero(corpus.held_out)[:n]
    hits_mas = hits_dur = total = 0
    for i in held:
        ids = intersperse(corpus.ids[i], blank)
        b = collate([ids], [corpus.mels[i]])
        mu_x, logw, _ = model.encoder(b["ids"], b["x_lengths"])
        attn = maximum_path(log_prior(mu_x, b["y"]), b["x_lengths"], b["y_lengths"])[0]  # (Tx, Ty)
        start_tok = attn.argmax(1)  # first frame of each token (argmax of a 0/1 row)
        true = np.cumsum(corpus.durations[i])[:-1]  # the starts of phonemes 2..P
        mas = start_tok[3::2].numpy()  # phoneme k's token is 2k + 1
        dur = np.cumsum(np.ceil(np.exp(logw[0, 0].numpy())))[2::2][: len(true)]  # the ends of tokens 2k (blanks)
        hits_mas += int((np.abs(mas - true) <= tolerance).sum())
        hits_dur += int((np.abs(dur - true[: len(dur)]) <= tolerance).sum())
        total += len(true)
    return {"boundaries_mas": round(hits_mas / max(total, 1), 4), "boundaries_durations": round(hits_dur / max(total, 1), 4),
            "utterances": len(held)}


def cli_args(p) -> None:
    """Arguments of `python -m engines tts`."""
    p.add_argument("--text", required=True, help="English text to speak (up to 300 characters)")
    p.add_argument("--steps", type=int, default=10, help="reverse-diffusion steps, 1-100")
    p.add_argument("--temperature", type=float, default=1.5, help="tau: z = mu + eps / tau")
    p.add_argument("--length-scale", type=float, default=1.0, help="durations times this (larger: slower)")
    p.add_argument("--stoc", action="store_true", help="the reverse SDE instead of the probability-flow ODE")
    p.add_argument("--sampler", choices=SAMPLERS, default="euler",
                   help="euler: the paper's solver; ddim, dpm++: the core's samplers on X_t - mu")
    p.add_argument("--seed", type=int, default=0)


def cli_main(a):
    from .data import speech
    from .files import WavFile
    from .images import heatmap

    out = final_speech(speak(a.text, a.steps, a.temperature, a.length_scale, a.stoc, a.seed, sampler=a.sampler))
    wav = speech.griffin_lim(out.mel.numpy())
    return [WavFile(wav, speech.SAMPLE_RATE)], {
        "mel.png": heatmap(out.mel.numpy(), 240),
        "mu.png": heatmap(out.mu.numpy(), 240),
        "alignment.png": heatmap(out.alignment.numpy(), 4 * out.alignment.shape[0]),
    }


def final_speech(frames: Iterator[Step | Speech]) -> Speech:
    """Drain a speak generator and return its Speech."""
    return final(frames, Speech)
