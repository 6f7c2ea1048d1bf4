"""The speech measures (engines.tts_quality): word errors by edit distance, the corpus language model, MCD."""

import math

import numpy as np
import pytest

from engines import tts_quality as q


def test_word_errors_are_the_edit_distance_in_words():
    assert q.word_errors("Return the value", "return the value") == (0, 3)
    assert q.word_errors("a b c", "a x c d") == (2, 3)  # one substitution, one insertion
    assert q.word_errors("a, b c", "") == (3, 3)


def test_the_bigram_model_is_normalised():
    arpa = q.bigram_arpa(("Return the value", "Return a value", "Return the key"))
    uni = {ln.split()[1]: (float(ln.split()[0]), float(ln.split()[2])) for ln in
           arpa.split("\\1-grams:")[1].split("\\2-grams:")[0].strip().splitlines()}
    big = [ln.split() for ln in arpa.split("\\2-grams:")[1].split("\\end\\")[0].strip().splitlines()]
    # P(w | "return") over the whole vocabulary: the seen bigrams plus the back-off mass on unigrams
    seen = {w: 10 ** float(p) for p, h, w in big if h == "return"}
    bow = 10 ** uni["return"][1]
    total = sum(seen.values()) + bow * sum(10 ** lp for w, (lp, _) in uni.items() if w not in seen and w != "<s>")
    assert math.isclose(total, 1.0, rel_tol=1e-3)
    assert seen["the"] > seen["a"]  # seen twice against once


def test_mcd_is_zero_for_the_same_sound_and_grows_with_a_different_one():
    pytest.importorskip("espeakng_loader")
    from engines.data.espeak import espeak
    from engines.data.speech import log_mel

    a = log_mel(espeak().speak("the quick brown fox").wav)
    b = log_mel(espeak().speak("a lazy dog sleeps").wav)
    assert q.mcd(a, a) < 1e-6
    assert q.mcd(a, a + 0.1) < 1e-4  # a gain change lives in c0, which MCD leaves out
    assert q.mcd(a, b) > 3 and np.isfinite(q.mcd(a, b))
