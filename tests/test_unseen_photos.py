"""The unseen-photo checks of Palette and SR3 (engines.unseen_photos): the photos inside other wheels load and were
never trained on, and the measures agree with their closed forms."""

import numpy as np
import pytest
import torch

from conftest import needs
from engines import palette, sr3, unseen_photos
from engines.data import photos


def test_external_photos_load_and_are_never_trained_on():
    names = photos.available(tuple(photos.EXTERNAL))
    assert names == tuple(photos.EXTERNAL), "requirements-dev.txt installs matplotlib and mahotas"
    for n in names:
        a = photos.load_photo(n)
        assert a.dtype == np.uint8 and a.ndim == 3 and a.shape[2] == 3 and min(a.shape[:2]) >= 256
        assert a.std() > 20  # a photo, not a blank file
    assert not set(photos.EXTERNAL) & set(photos.TRAIN + photos.COLOUR_TRAIN)
    assert not set(photos.HELD_OUT) & set(photos.TRAIN + photos.COLOUR_TRAIN)


def test_a_missing_package_is_skipped_not_fatal(monkeypatch):
    monkeypatch.setitem(photos.EXTERNAL, "nowhere", ("no_such_package_here", "x.jpg"))
    assert "nowhere" not in photos.available(("coffee", "nowhere"))
    with pytest.raises(FileNotFoundError, match="requirements-dev"):
        photos._external("no_such_package_here", "x.jpg")


def test_hole_psnr_is_the_closed_form_over_the_hole_only():
    clean = torch.zeros(1, 3, 8, 8)
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., :4] = 1
    x = clean.clone()
    x[..., :4] = 0.2  # the hole off by 0.2 everywhere
    x[..., 4:] = 5.0  # outside the hole: ignored
    assert unseen_photos._hole_db(x, clean, mask) == pytest.approx(10 * np.log10(4 / 0.04), abs=1e-4)


def test_crops_are_deterministic_and_per_photo():
    a, b = unseen_photos.crops(("coffee", "flower"), 2), unseen_photos.crops(("coffee", "flower"), 2)
    assert [n for n, _ in a] == ["coffee", "coffee", "flower", "flower"]
    assert all(torch.equal(x, y) for (_, x), (_, y) in zip(a, b))
    assert a[0][1].shape == (3, 64, 64)


@needs("palette-photos", "palette-jpeg", "sr3-photos")
def test_each_row_measures_what_it_says_on_one_crop():
    _, x = unseen_photos.crops(("coffee",), 1)[0]
    u = unseen_photos.uncrop_row(x, 2, 4, 0)
    # the flat fill's PSNR, recomputed: the hole (left half) filled with the known half's mean colour
    hr = x[None]
    right = hr[..., 32:]
    flat_err = (hr[..., :32] - right.mean((2, 3), keepdim=True)).pow(2).mean()
    assert u["uncrop_flat_db"] == pytest.approx(10 * float(np.log10(4 / float(flat_err))), abs=0.05)
    j = unseen_photos.jpeg_row(x, 2, 4, 0)
    job = palette.prepare("jpeg", unseen_photos.to_pil(x), quality=10)
    assert j["jpeg_input_db"] == pytest.approx(sr3.psnr(job.cond, job.clean), abs=1e-6)
    assert 0 <= j["jpeg_samples_below_input"] <= 1
    s = unseen_photos.sr3_row(x, 4, 0)
    assert s["bicubic_grad_ratio"] < 1 and s["sr3_consistency_db"] > 25
