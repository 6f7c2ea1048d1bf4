"""Grad-TTS's bars on held-out sentences: intelligibility (word error rate of pocketsphinx's offline en-us recogniser
on the generated speech, against the same on espeak's own voice), mel-cepstral distortion against espeak's rendering
after dynamic time warping, and the length ratio. `python -m engines.tts_quality` prints the table docs/ quotes.

pocketsphinx's en-us acoustic model hears espeak's raw formant voice poorly (65-73% WER with the default bigram model
of all sentences, LM below; 109% with its general language model), so the bar's reference is espeak's own mel
through the same Griffin-Lim as Grad-TTS's (19-25%): the same band and vocoder, only the mel differs. Numbers:
docs/gradtts.md."""

from __future__ import annotations

import argparse
import time
from functools import lru_cache

import numpy as np

from .data import speech

ASR_RATE = 16000
N_MFCC = 13  # cepstra c1..c12 (c0, the energy, left out as usual for MCD)


def bigram_arpa(sentences: tuple[str, ...], discount: float = 0.5) -> str:
    """An ARPA bigram language model of the sentences (absolute discounting, backing off to add-one unigrams)."""
    import collections
    import math

    sents = [["<s>"] + [w.rstrip(",").lower() for w in s.split()] + ["</s>"] for s in sentences]
    vocab = sorted({w for s in sents for w in s})
    uni = collections.Counter(w for s in sents for w in s[1:])
    total = sum(uni.values()) + len(vocab) - 1  # add-one over every word but <s>, which is never predicted
    p_uni = {w: 0.0 if w == "<s>" else (uni[w] + 1) / total for w in vocab}
    follow: dict[str, dict[str, int]] = collections.defaultdict(dict)
    for s in sents:
        for a, b in zip(s, s[1:]):
            follow[a][b] = follow[a].get(b, 0) + 1
    ones, twos = [], []
    for w in vocab:
        seen = follow.get(w, {})
        bow = 1.0
        if seen:
            n = sum(seen.values())
            bow = discount * len(seen) / n / max(1e-9, 1 - sum(p_uni[x] for x in seen))
            twos += [f"{math.log10((c - discount) / n):.4f} {w} {x}" for x, c in seen.items()]
        ones.append(f"{-99 if w == '<s>' else math.log10(p_uni[w]):.4f} {w} {math.log10(bow):.4f}")
    return "\n".join(["\\data\\", f"ngram 1={len(ones)}", f"ngram 2={len(twos)}", "", "\\1-grams:", *ones, "",
                      "\\2-grams:", *twos, "", "\\end\\", ""])


@lru_cache(maxsize=1)
def _decoder():
    import tempfile

    from pocketsphinx import Decoder

    from .data.sentences import sentences

    lm = tempfile.NamedTemporaryFile("w", suffix=".arpa", delete=False)
    lm.write(bigram_arpa(sentences()))
    lm.close()
    return Decoder(samprate=ASR_RATE, loglevel="FATAL", lm=lm.name)


def transcribe(wav: np.ndarray, rate: int = speech.SAMPLE_RATE) -> str:
    """pocketsphinx's en-us transcript of a float waveform (resampled to 16 kHz), lower case."""
    import librosa

    x = librosa.resample(wav.astype(np.float32), orig_sr=rate, target_sr=ASR_RATE)
    pcm = (np.clip(x, -1, 1) * 32767).astype(np.int16).tobytes()
    d = _decoder()
    d.start_utt()
    d.process_raw(pcm, full_utt=True)
    d.end_utt()
    hyp = d.hyp()
    return hyp.hypstr.lower() if hyp is not None else ""


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edit distance in words, number of reference words)."""
    r, h = reference.lower().replace(",", "").split(), hypothesis.split()
    d = np.arange(len(h) + 1)
    for i in range(1, len(r) + 1):
        prev, d[0] = d.copy(), i
        for j in range(1, len(h) + 1):
            d[j] = min(prev[j] + 1, d[j - 1] + 1, prev[j - 1] + (r[i - 1] != h[j - 1]))
    return int(d[len(h)]), len(r)


def mcd(mel: np.ndarray, ref: np.ndarray) -> float:
    """Mel-cepstral distortion in dB between two log-mels (F, T) (natural log of magnitude, as engines.data.speech):
    the real cepstrum of each frame's mel log-magnitude, c_n = (1/F) sum_k m_k cos(pi n (k + 1/2) / F) for n = 1..12,
    then (10 / ln 10) sqrt(2 sum_n (c_n - c'_n)^2), averaged over the frames dynamic time warping pairs. On the mels,
    so the vocoder is not in it; the scale is the usual MCD's only approximately (no all-pass warping as in SPTK)."""
    import librosa
    from scipy.fft import dct

    def cep(m):
        return dct(m, type=2, norm=None, axis=0)[1:N_MFCC] / (2 * m.shape[0])  # (F, T) -> (12, T)

    a, b = cep(mel), cep(ref)
    _, path = librosa.sequence.dtw(X=a, Y=b, metric="euclidean")
    diff = a[:, path[:, 0]] - b[:, path[:, 1]]
    return float(np.mean(10 / np.log(10) * np.sqrt(2 * (diff**2).sum(0))))


def evaluate(n: int = 24, steps: int = 10, temperature: float = 1.5, stoc: bool = False, seed: int = 0,
             model: str = "gradtts-espeak", sampler: str = "euler") -> dict:
    """The bars on the first n held-out sentences: WER of Grad-TTS, of espeak and of Griffin-Lim on espeak's own
    mel (the vocoder's ceiling); MCD against espeak; length ratio. model: the checkpoint (the prior ablation's
    gradtts-espeak-plain, for one); sampler: euler (the paper's), ddim or dpm++."""
    from . import gradtts
    from .data.sentences import split

    voice = gradtts.load(name=model)
    texts = split()[1][:n]
    errs = {"gradtts": [0, 0], "espeak": [0, 0], "griffin_lim_of_espeak": [0, 0]}
    mcds, mcds_gl, ratios, seconds = [], [], [], []
    for i, text in enumerate(texts):
        t0 = time.perf_counter()
        out = gradtts.final_speech(gradtts.speak(text, steps, temperature, 1.0, stoc, seed + i, voice, sampler))
        wav = speech.griffin_lim(out.mel.numpy())
        seconds.append(time.perf_counter() - t0)
        ref = out.reference  # espeak's rendering, which speak() made for the phonemes
        ref_mel = speech.log_mel(ref)
        gl_ref = speech.griffin_lim(ref_mel)
        for key, w in (("gradtts", wav), ("espeak", ref), ("griffin_lim_of_espeak", gl_ref)):
            e, m = word_errors(text, transcribe(w))
            errs[key][0] += e
            errs[key][1] += m
        mcds.append(mcd(out.mel.numpy(), ref_mel))
        mcds_gl.append(mcd(speech.log_mel(gl_ref), ref_mel))
        ratios.append(len(wav) / len(ref))
    return {"sentences": len(texts), **{f"wer_{k}": round(100 * e / max(m, 1), 1) for k, (e, m) in errs.items()},
            "mcd_db": round(float(np.mean(mcds)), 2), "mcd_griffin_lim_of_espeak_db": round(float(np.mean(mcds_gl)), 2),
            "length_ratio": round(float(np.mean(ratios)), 3), "seconds_per_sentence": round(float(np.mean(seconds)), 2)}


def alignment_curve(histories: dict[str, str], out: str) -> None:
    """Plot the share of phoneme boundaries within 2 frames against training steps, one line per run's
    runs/<model>/history.jsonl (what fit() records), to a PNG (matplotlib, a development dependency)."""
    import json

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=120)
    for label, path in histories.items():
        rows = [json.loads(line) for line in open(path)]
        steps = [r["step"] for r in rows]
        ax.plot(steps, [100 * r["eval"]["boundaries_mas"] for r in rows], marker=".", label=f"{label}: MAS")
        ax.plot(steps, [100 * r["eval"]["boundaries_durations"] for r in rows], ls="--",
                label=f"{label}: duration predictor")
    ax.axhline(80, color="gray", lw=0.8, ls=":")
    ax.set_xlabel("training step")
    ax.set_ylabel("boundaries within 2 frames (%)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out)


def main() -> None:
    from . import gradtts

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--n", type=int, default=24)
    p.add_argument("--steps", type=int, nargs="*", default=[10])
    p.add_argument("--temperature", type=float, default=1.5)
    p.add_argument("--stoc", action="store_true")
    p.add_argument("--model", default="gradtts-espeak", help="the checkpoint (gradtts-espeak-plain: N(0, I) prior)")
    p.add_argument("--sampler", default="euler", choices=gradtts.SAMPLERS)
    p.add_argument("--curve", nargs="+", metavar="LABEL=HISTORY", help="plot training histories to --plot instead")
    p.add_argument("--plot", default="docs/gradtts_alignment.png")
    a = p.parse_args()
    if a.curve:
        alignment_curve(dict(c.split("=", 1) for c in a.curve), a.plot)
        return
    for steps in a.steps:
        print(steps, evaluate(a.n, steps, a.temperature, a.stoc, model=a.model, sampler=a.sampler), flush=True)


if __name__ == "__main__":
    main()
