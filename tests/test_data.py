"""The data sets: digits as shipped by scikit-learn, and the shapes world as DESIGN.md specifies it."""

import numpy as np
import pytest
import torch

from engines.data import shapes
from engines.data.digits import load_digits_tensor, to_8x8


def test_digits_are_1797_images_in_range():
    x, y = load_digits_tensor(16)
    assert x.shape == (1797, 1, 16, 16) and y.shape == (1797,)
    assert x.min() >= -1 and x.max() <= 1 and set(y.tolist()) == set(range(10))
    from sklearn.datasets import load_digits

    x8, _ = load_digits_tensor(8)
    assert np.allclose(to_8x8(x8), load_digits().data, atol=1e-4)


def test_shapes_world_is_deterministic_by_seed():
    a, sa = shapes.render(3, 17, 32)
    b, sb = shapes.render(3, 17, 32)
    c, _ = shapes.render(4, 17, 32)
    assert np.array_equal(np.asarray(a), np.asarray(b)) and sa == sb
    assert not np.array_equal(np.asarray(a), np.asarray(c))


def test_scenes_follow_the_spec():
    for i in range(400):
        img, sc = shapes.render(0, i, 64)
        assert img.size == (64, 64) and img.mode == "RGB"
        assert 1 <= len(sc.objects) <= 2
        for o in sc.objects:
            assert o.colour != sc.background and o.shape in shapes.SHAPES
            assert o.r * 2 == pytest.approx(shapes.SIZES[o.size], rel=0.1)
            assert 0 <= o.cx - o.r and o.cx + o.r <= 1
        if len(sc.objects) == 2:
            a, b = sc.objects
            assert abs(a.cx - b.cx) >= a.r + b.r or abs(a.cy - b.cy) >= a.r + b.r  # no overlap
            assert sc.caption.startswith(f"a {a.colour} {a.shape} ") and sc.caption.endswith(f"a {b.colour} {b.shape}")
        else:
            o = sc.objects[0]
            assert f"{o.colour} {o.shape}" in sc.caption
            assert shapes.CLASSES[sc.label] == f"{o.colour} {o.shape}"


def test_background_pixels_have_the_background_colour():
    img, sc = shapes.render(0, 5, 64)
    corner = np.asarray(img)[0, 0].astype(int)
    assert np.abs(corner - np.array(shapes.COLOURS[sc.background])).max() <= 15


def test_captions_leave_parts_out_so_each_is_learnt_alone():
    caps = [shapes.render(1, i, 32)[1].caption for i in range(300)]
    assert any("background" in c for c in caps) and any("background" not in c for c in caps)
    assert any(c.split()[1] in shapes.SIZES for c in caps) and any(
        " to the left of " in c or " above " in c for c in caps
    )


def test_dataset_tensor():
    x, scenes = shapes.dataset(10, 32, 0)
    assert x.shape == (10, 3, 32, 32) and x.dtype == torch.uint8 and len(scenes) == 10
