"""The analytical shapes judge reads rendered scenes correctly (it is the referee of later tabs' quality bars)."""

import numpy as np
import pytest

from engines.data.judge import judge
from engines.data.shapes import render


@pytest.mark.parametrize("size", [32, 64])
def test_judge_reads_single_objects(size):
    hits = {"colour": 0, "shape": 0, "size": 0, "position": 0, "background": 0}
    n = 200
    for i in range(n):
        img, sc = render(21, i, size, p_two=0.0)
        bg, objs = judge(np.asarray(img))
        o, j = sc.objects[0], objs[0]
        hits["background"] += bg == sc.background
        for k in ("colour", "shape", "size", "position"):
            hits[k] += getattr(j, k) == getattr(o, k)
    assert hits["colour"] == n and hits["background"] == n and hits["size"] >= 0.99 * n
    assert hits["shape"] >= 0.97 * n and hits["position"] >= 0.95 * n


def test_judge_finds_two_objects_and_no_object_in_a_plain_image():
    img, sc = render(22, 3, 64, p_two=1.0)
    _, objs = judge(np.asarray(img))
    assert {(j.colour, j.shape) for j in objs} == {(o.colour, o.shape) for o in sc.objects}
    _, none = judge(np.full((32, 32, 3), 128, np.uint8))
    assert none == []
