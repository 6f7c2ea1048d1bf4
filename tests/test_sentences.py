"""The speech corpus's sentences (engines.data.sentences): enough of them, plain words the recogniser knows, a fixed
held-out share."""

import pytest

S = pytest.importorskip("engines.data.sentences")


def test_a_few_thousand_plain_sentences_with_a_fixed_held_out_share():
    pytest.importorskip("pocketsphinx")
    train, held = S.split()
    assert len(train) >= 2500 and 100 <= len(held) <= 0.08 * (len(train) + len(held))
    assert not set(train) & set(held)
    vocab = S.cmu_words()
    for s in train[:200] + held:
        words = s.split()
        assert S.MIN_WORDS <= len(words) <= S.MAX_WORDS
        assert all(w.rstrip(",").lower() in vocab for w in words)
    assert S.sentences() == tuple(sorted(set(S.sentences())))  # each once, sorted: deterministic


@pytest.mark.parametrize(
    "text, kept",
    [
        ("Return the popped value.", "Return the popped value"),
        ("Return the\n   popped value!", "Return the popped value"),
        ("Too short here.", None),
        ("Read the HTTP header of the request", None),  # capitals are spelt letter by letter
        ("Return 3 values from the call", None),  # digits
        ("Based on the J", None),  # a lone letter
        ("Return the qwzxv of the request", None),  # not in the dictionary
    ],
)
def test_clean(text, kept):
    vocab = frozenset("return the popped value too short here read of request http header values from call based on j".split())
    assert S.clean(text, vocab) == kept
