"""Grad-TTS's corpus: each sentence of engines.data.sentences spoken by espeak-ng, as an 80-bin log-mel spectrogram
at 22,050 Hz (n_fft 1024, hop 256, 0-8 kHz: the HiFi-GAN features Grad-TTS uses), its phoneme ids and each
phoneme's true length in frames from espeak's phoneme events (to score the learned alignment). Built once (about
6 minutes on 2 cores) into runs/speech/corpus.npz; Griffin-Lim (librosa) turns a mel back into sound."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

SAMPLE_RATE, N_FFT, HOP, N_MELS, F_MIN, F_MAX = 22050, 1024, 256, 80, 0.0, 8000.0
LOG_FLOOR = 1e-5  # log(max(mel, 1e-5)), as HiFi-GAN's features
LOG_MAX = 5.0  # above any log-mel of the corpus (espeak's loudest frames: 0.8)
CACHE = Path(__file__).resolve().parents[2] / "runs" / "speech" / "corpus.npz"


def log_mel(wav: np.ndarray) -> np.ndarray:
    """(T_samples,) float waveform -> (N_MELS, T_frames) log-magnitude mel spectrogram."""
    import librosa

    m = librosa.feature.melspectrogram(y=wav.astype(np.float32), sr=SAMPLE_RATE, n_fft=N_FFT, hop_length=HOP,
                                       win_length=N_FFT, n_mels=N_MELS, fmin=F_MIN, fmax=F_MAX, power=1.0)
    return np.log(np.maximum(m, LOG_FLOOR)).astype(np.float32)


@lru_cache(maxsize=1)
def mel_pinv() -> np.ndarray:
    """(1 + N_FFT / 2, N_MELS): the pseudo-inverse of the mel filter bank."""
    import librosa

    fb = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS, fmin=F_MIN, fmax=F_MAX)
    return np.linalg.pinv(fb).astype(np.float32)


def griffin_lim(mel: np.ndarray, n_iter: int = 32, momentum: float = 0.99, seed: int = 0) -> np.ndarray:
    """(N_MELS, T) log-mel -> (T * HOP,) float32 waveform in [-1, 1] by the fast Griffin-Lim algorithm (Perraudin et
    al. 2013, librosa's griffinlim, on torch.stft): the magnitude is the filter bank's pseudo-inverse clipped at 0,
    the phase starts random (seeded) and is projected n_iter times. librosa's own mel_to_audio gives the same
    magnitude (its non-negative least squares starts there and returned it unchanged on the corpus's mels) but took
    0.21 s for it per 1.5 s of speech, and its istft 1.9 s on the first call of every process."""
    import torch

    # a mel beyond the features' range (DDIM at 1-2 steps reaches +-110) is clipped first: exp would overflow to inf
    mel = np.clip(mel, np.log(LOG_FLOOR), LOG_MAX)
    S = torch.from_numpy(np.maximum(mel_pinv() @ np.exp(mel), 0.0))  # (1 + N_FFT / 2, T) magnitude
    window = torch.hann_window(N_FFT)
    n = S.shape[1] * HOP

    def istft(X: torch.Tensor) -> torch.Tensor:
        return torch.istft(X, N_FFT, HOP, N_FFT, window, center=True, length=n)

    def stft(x: torch.Tensor) -> torch.Tensor:
        return torch.stft(x, N_FFT, HOP, N_FFT, window, center=True, pad_mode="constant", return_complex=True)

    gen = torch.Generator().manual_seed(seed)
    angles = torch.exp(2j * torch.pi * torch.rand(S.shape, generator=gen)).to(torch.complex64)
    rebuilt = torch.zeros_like(angles)
    for _ in range(n_iter):
        previous = rebuilt
        rebuilt = stft(istft(S * angles))[:, : S.shape[1]]
        angles = rebuilt - (momentum / (1 + momentum)) * previous
        angles = angles / (angles.abs() + 1e-16)
    wav = istft(S * angles).numpy()
    peak = float(np.abs(wav).max()) if wav.size else 0.0
    return (wav / peak * 0.95 if peak > 1 else wav).astype(np.float32)


def frame_durations(starts: np.ndarray, n_samples: int, n_frames: int) -> np.ndarray:
    """Phoneme start samples -> (P,) frames per phoneme, summing to n_frames (the leading silence joins the first
    phoneme; boundaries rounded to the nearest frame)."""
    edges = np.round(np.append(starts, n_samples) / HOP).astype(np.int64)
    edges[0], edges[-1] = 0, n_frames
    edges = np.maximum.accumulate(np.clip(edges, 0, n_frames))
    return np.diff(edges)


@dataclass(frozen=True)
class Corpus:
    """Every utterance: phoneme ids (concatenated, split by offsets), true frames per phoneme, log-mels."""

    sentences: tuple[str, ...]
    held_out: np.ndarray  # (S,) bool
    inventory: tuple[str, ...]  # phoneme id i is inventory[i]
    ids: list[np.ndarray]  # S x (P_s,) int64
    durations: list[np.ndarray]  # S x (P_s,) frames, summing to the mel's length
    mels: list[np.ndarray]  # S x (N_MELS, T_s)

    def __len__(self) -> int:
        return len(self.sentences)


def build(sentences: tuple[str, ...], held_out: np.ndarray) -> Corpus:
    """Speak every sentence in order (espeak is reproducible in a fixed order) and take its features."""
    from .espeak import espeak

    voice = espeak()
    phon, durs, mels = [], [], []
    for s in sentences:
        u = voice.speak(s)
        m = log_mel(u.wav)
        phon.append(u.phonemes)
        durs.append(frame_durations(u.starts, len(u.wav), m.shape[1]))
        mels.append(m)
    inventory = tuple(sorted({p for ps in phon for p in ps}))
    index = {p: i for i, p in enumerate(inventory)}
    ids = [np.array([index[p] for p in ps], dtype=np.int64) for ps in phon]
    return Corpus(tuple(sentences), held_out, inventory, ids, durs, mels)


def save(c: Corpus, path: Path = CACHE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    offsets = np.cumsum([0] + [len(i) for i in c.ids])
    frames = np.cumsum([0] + [m.shape[1] for m in c.mels])
    np.savez_compressed(path, sentences=np.array(c.sentences), held_out=c.held_out, inventory=np.array(c.inventory),
                        ids=np.concatenate(c.ids), durations=np.concatenate(c.durations), offsets=offsets,
                        mels=np.concatenate(c.mels, axis=1).astype(np.float16), frames=frames)


def load(path: Path = CACHE) -> Corpus:
    z = np.load(path)
    o, f = z["offsets"], z["frames"]
    mels = z["mels"].astype(np.float32)
    return Corpus(tuple(str(s) for s in z["sentences"]), z["held_out"], tuple(str(p) for p in z["inventory"]),
                  [z["ids"][o[i]:o[i + 1]] for i in range(len(o) - 1)],
                  [z["durations"][o[i]:o[i + 1]] for i in range(len(o) - 1)],
                  [mels[:, f[i]:f[i + 1]] for i in range(len(f) - 1)])


@lru_cache(maxsize=1)
def corpus(path: Path = CACHE) -> Corpus:
    """The whole corpus, built and cached on first use."""
    if not Path(path).exists():
        from .sentences import is_held_out, sentences

        every = sentences()
        save(build(every, np.array([is_held_out(s) for s in every])), Path(path))
    return load(Path(path))
