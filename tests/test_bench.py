"""The benchmark's timing helpers (the table itself is `python -m playground.bench`, not a test)."""
import time

from engines.bench import timed_pair


def test_timed_pair_gives_each_median_and_the_ratio_of_turns():
    calls = []

    def a():
        calls.append("a")
        time.sleep(0.01)

    def b():
        calls.append("b")
        time.sleep(0.04)

    ta, tb, ratio = timed_pair(a, b, 3)
    assert calls == ["a", "b"] * 4  # a warm-up of each, then turns
    assert 0.01 <= ta < 0.1 and 0.04 <= tb < 0.2 and 1.5 < ratio < 4.5  # b / a, not a / b (0.25); slack for load
