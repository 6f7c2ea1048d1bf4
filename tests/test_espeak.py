"""espeak-ng through ctypes (engines.data.espeak): waveform, phonemes and their start samples agree."""

import numpy as np
import pytest

espeak_mod = pytest.importorskip("engines.data.espeak")


@pytest.fixture(scope="module")
def voice():
    pytest.importorskip("espeakng_loader")
    return espeak_mod.espeak()


def test_a_sentence_has_audio_phonemes_and_increasing_starts(voice):
    u = voice.speak("the quick brown fox jumps over the lazy dog")
    assert u.sample_rate == 22050 and u.wav.dtype == np.float32
    assert 1.5 < len(u.wav) / u.sample_rate < 4.0 and 0.1 < np.abs(u.wav).max() <= 1
    assert u.phonemes[:2] == ("D", "@2") and "aU" in u.phonemes  # "the", "brown"
    assert u.phonemes[-1] == "_"  # the final pause
    assert len(u.starts) == len(u.phonemes) and (np.diff(u.starts) > 0).all()
    assert u.durations().sum() == len(u.wav) - u.starts[0]
    assert len(u.word_starts) == 9 and u.word_starts[0] == 0


def test_phoneme_starts_track_the_audio(voice):
    # the sound inside the phonemes is louder than the silence before the first one
    u = voice.speak("hello there")
    before = np.abs(u.wav[: u.starts[0]]).mean()
    inside = np.abs(u.wav[u.starts[0] :]).mean()
    assert inside > 10 * before + 1e-4


def test_longer_text_takes_longer_and_rate_speeds_it_up(voice):
    short, long_ = voice.speak("one two"), voice.speak("one two three four five six")
    assert len(long_.wav) > 2 * len(short.wav)
    fast = voice.speak("one two three four five six", rate=300)
    voice.speak("x", rate=175)  # back to espeak's default for the other tests
    assert len(fast.wav) < 0.8 * len(long_.wav)


def test_ipa_and_bad_text(voice):
    assert voice.ipa("the cat") == "ðə kˈæt"
    with pytest.raises(ValueError, match="1-1000 characters"):
        voice.speak("   ")


def test_a_comma_is_a_pause_phoneme_with_the_silence_in_it(voice):
    u = voice.speak("hello, my friend")
    i = u.phonemes.index("_")
    assert u.phonemes[i - 1] == "oU" and u.phonemes[i + 1] == "m"
    a, b = u.starts[i], u.starts[i + 1]
    assert b - a > 0.05 * u.sample_rate  # a pause lasts
    assert np.abs(u.wav[a + 200 : b - 200]).mean() < 0.2 * np.abs(u.wav).mean()  # and is quiet
