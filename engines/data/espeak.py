"""espeak-ng through the library inside the `espeakng-loader` wheel (ctypes, synchronous synthesis with a callback;
no subprocess, nothing downloaded): a sentence's waveform at 22,050 Hz, its phonemes, and where each phoneme starts
(espeak's phoneme events), which Grad-TTS's corpus keeps as the true durations to score the alignment against.

espeak carries a little state from one utterance to the next inside the library (measured: the same sentence three
times in a row is 57,650, 57,642 and 57,659 samples long, the same sequence in every process, and neither
espeak_ng_SetRandSeed nor re-initialising resets it), so a corpus is reproducible when built in one fixed order."""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

# speak_lib.h
AUDIO_OUTPUT_SYNCHRONOUS = 2
INITIALIZE_PHONEME_EVENTS, INITIALIZE_DONT_EXIT = 0x0001, 0x8000
EVENT_LIST_TERMINATED, EVENT_WORD, EVENT_END, EVENT_PHONEME = 0, 1, 5, 7
POS_CHARACTER, CHARS_UTF8 = 1, 1
PHONEMES_IPA = 0x02
PAUSE = "_"  # espeak's "_:" (a pause at a comma or the end), as one phoneme
MAX_CHARS = 1000  # one utterance; the corpus's sentences are a few words


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
                ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", _EventId)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


@dataclass(frozen=True)
class Utterance:
    """espeak's rendering of one text: the waveform, its phonemes (espeak's mnemonics, stress marks dropped, PAUSE
    for a pause) and the sample at which each starts; word_starts: the index into phonemes where each word begins."""

    text: str
    wav: np.ndarray  # (T,) float32 in [-1, 1]
    sample_rate: int
    phonemes: tuple[str, ...]
    starts: np.ndarray  # (P,) int: the first sample of each phoneme, increasing
    word_starts: tuple[int, ...]

    def durations(self) -> np.ndarray:
        """(P,) samples per phoneme, the last one running to the end of the waveform."""
        return np.diff(np.append(self.starts, len(self.wav)))


class Espeak:
    """One initialised espeak-ng (the library keeps global state, so calls are serialised by a lock)."""

    def __init__(self, voice: str = "en-us"):
        import espeakng_loader

        self._lib = lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        path = espeakng_loader.get_data_path().encode()
        self.sample_rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, path,
                                                 INITIALIZE_PHONEME_EVENTS | INITIALIZE_DONT_EXIT)
        if self.sample_rate <= 0:
            raise RuntimeError("espeak-ng did not initialise (its data folder is missing from espeakng-loader)")
        if lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise ValueError(f"espeak-ng has no voice {voice!r}")
        self._lock = threading.Lock()
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[int, str, int]] = []
        self._callback = _CALLBACK(self._on_audio)  # kept alive: the library holds a raw pointer to it
        lib.espeak_SetSynthCallback(self._callback)

    def _on_audio(self, wav, n: int, events) -> int:
        if n > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, (n,)).copy())
        i = 0
        while events[i].type != EVENT_LIST_TERMINATED:
            e = events[i]
            if e.type == EVENT_PHONEME:
                self._events.append((EVENT_PHONEME, e.id.string.decode("utf-8", "replace"), e.sample))
            elif e.type == EVENT_WORD:
                self._events.append((EVENT_WORD, "", e.sample))
            i += 1
        return 0  # 0: go on synthesising

    def speak(self, text: str, rate: int | None = None) -> Utterance:
        """Synthesise text (words per minute: rate, espeak's default 175) with its phoneme events."""
        if not text.strip() or len(text) > MAX_CHARS:
            raise ValueError(f"the text must have 1-{MAX_CHARS} characters, got {len(text)}")
        data = text.encode("utf-8")
        with self._lock:
            self._chunks, self._events = [], []
            if rate is not None:
                self._lib.espeak_SetParameter(1, int(rate), 0)  # espeakRATE
            self._lib.espeak_Synth(data, len(data) + 1, 0, POS_CHARACTER, 0, CHARS_UTF8, None, None)
            self._lib.espeak_Synchronize()
            chunks, events = self._chunks, self._events
        wav = (np.concatenate(chunks) if chunks else np.zeros(0, np.int16)).astype(np.float32) / 32768.0
        phonemes, starts, words = [], [], []
        for kind, name, sample in events:
            if kind == EVENT_WORD:
                words.append(len(phonemes))
                continue
            if name == "_":  # a word boundary, 0 samples long
                continue
            name = PAUSE if name == "_:" else name.strip("',")  # stress marks dropped; "_:" is a pause
            if not name:
                continue
            if starts and sample <= starts[-1]:  # a phoneme of no duration: the later event names the sound
                phonemes[-1] = name
                continue
            phonemes.append(name)
            starts.append(sample)
        return Utterance(text, wav, self.sample_rate, tuple(phonemes), np.asarray(starts, dtype=np.int64),
                         tuple(words))

    def ipa(self, text: str) -> str:
        """The text's phonemes in IPA, words separated by spaces (espeak_TextToPhonemes)."""
        with self._lock:
            ptr = ctypes.c_char_p(text.encode("utf-8"))
            out = []
            while ptr.value:
                out.append(self._lib.espeak_TextToPhonemes(ctypes.byref(ptr), CHARS_UTF8, PHONEMES_IPA).decode())
        return " ".join(out)


@lru_cache(maxsize=1)
def espeak() -> Espeak:
    """The process's espeak-ng (initialised once)."""
    return Espeak()
