"""The data sets: digits as shipped by scikit-learn, the shapes world as DESIGN.md specifies it, Palette's training pairs."""

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


def test_palette_training_pairs_tell_the_task_and_recolour_keeps_luma():
    from engines.data import degrade

    x = torch.rand(8, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 0.6 - 0.3  # mid-range: no clamping
    targets, cond, mask, task = degrade.random_training_pairs(x, torch.Generator().manual_seed(1))
    assert targets.shape == cond.shape == x.shape and mask.shape == (8, 1, 64, 64) and task.shape == (8,)
    for i, k in enumerate(task.tolist()):
        if degrade.TASKS[k] == "colorization":  # grey condition of the untouched target
            assert torch.allclose(cond[i], degrade.grayscale(x[i : i + 1])[0], atol=1e-6)
            assert torch.equal(targets[i], x[i])

    class Fixed:  # hue turned by 90 degrees, saturation, contrast and offset left alone
        def uniform(self, lo, hi):
            return {(0.5, 1.5): 1.0, (0.8, 1.1): 1.0, (-0.15, 0.15): 0.0}.get((lo, hi), np.pi / 2)

    y = degrade.recolour(x, Fixed())
    assert torch.allclose(degrade.grayscale(y), degrade.grayscale(x), atol=1e-5)  # same luma ...
    assert (y - x).abs().max() > 0.05  # ... other colours
