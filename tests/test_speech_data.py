"""Grad-TTS's corpus features (engines.data.speech): true durations in frames, the mel round trip, the cache."""

import numpy as np
import pytest

pytest.importorskip("espeakng_loader")
from engines.data import speech  # noqa: E402


def test_frame_durations_sum_to_the_mel_and_follow_the_starts():
    d = speech.frame_durations(np.array([300, 1000, 5000]), 8000, 32)
    assert d.sum() == 32 and list(d) == [4, 16, 12]  # edges 0, 4 (1000/256 = 3.9), 20 (19.5 rounds to 20), 32
    assert speech.frame_durations(np.array([0, 10, 20]), 100, 1).sum() == 1  # tiny phonemes: zero frames, not negative


def test_build_save_load_round_trip(tmp_path):
    texts = ("Return the popped value", "hello, my dear friend")
    c = speech.build(texts, np.array([False, True]))
    for ids, dur, mel in zip(c.ids, c.durations, c.mels):
        assert mel.shape[0] == speech.N_MELS and dur.sum() == mel.shape[1] and len(ids) == len(dur)
    assert "_" in c.inventory and c.inventory[c.ids[1][4]] == "_"  # the comma's pause
    speech.save(c, tmp_path / "c.npz")
    back = speech.load(tmp_path / "c.npz")
    assert back.sentences == texts and back.inventory == c.inventory and list(back.held_out) == [False, True]
    assert all(np.array_equal(a, b) for a, b in zip(back.ids, c.ids))
    assert all(np.abs(a - b).max() < 0.01 for a, b in zip(back.mels, c.mels))  # float16 on disk


def test_griffin_lim_inverts_the_mel_closely():
    from engines.data.espeak import espeak

    mel = speech.log_mel(espeak().speak("the quick brown fox jumps over the lazy dog").wav)
    again = speech.log_mel(speech.griffin_lim(mel))
    T = min(mel.shape[1], again.shape[1])
    loud = mel[:, :T] > np.log(1e-2)  # where there is sound
    assert np.abs(mel[:, :T] - again[:, :T])[loud].mean() < 0.3  # log-magnitude error (measured 0.10; a wrong mel: 2)
    assert abs(again.shape[1] - mel.shape[1]) <= 1
