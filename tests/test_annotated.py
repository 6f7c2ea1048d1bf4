"""The Annotated Diffusion engine: schedules, the forward process on any upload, the toy, live training."""

import numpy as np
import pytest
from PIL import Image

from engines import annotated, toy2d
from engines.core.samplers import final


def test_schedule_curves_cover_every_schedule():
    c = annotated.schedule_curves(500)
    assert set(c) == {"linear", "cosine", "sigmoid", "scaled_linear"}
    assert all(len(v["alpha_bar"]) == 500 for v in c.values())
    with pytest.raises(ValueError):
        annotated.schedule_curves(0)


@pytest.mark.parametrize(
    "mode,size", [("RGBA", (40, 30)), ("L", (64, 64)), ("P", (17, 99)), ("RGB", (6000, 4000)), ("I;16", (50, 50))]
)
def test_forward_process_takes_any_image(mode, size):
    img = Image.new(mode, size)
    x_t, strip, ts = annotated.forward_process(img, "cosine", 10, 1000)
    assert x_t.size == (128, 128) and strip.size[0] > 5 * 128 and ts[0] == 0 and ts[-1] == 999


def test_forward_process_destroys_signal_as_t_grows(tmp_path):
    img = Image.open("examples/astronaut.png")
    ref = np.asarray(img.resize((128, 128)), dtype=float)
    corr = []
    for t in (0, 300, 999):
        x_t, _, _ = annotated.forward_process(img, "linear", t, 1000)
        corr.append(np.corrcoef(ref.ravel(), np.asarray(x_t, dtype=float).ravel())[0, 1])
    assert corr[0] > 0.95 and corr[0] > corr[1] > corr[2] and corr[2] < 0.1


def test_forward_process_rejects_bad_input(tmp_path):
    bad = tmp_path / "x.png"
    bad.write_text("not an image")
    with pytest.raises(ValueError, match="not an image"):
        annotated.forward_process(str(bad), "linear", 10, 1000)
    with pytest.raises(ValueError, match="t must be"):
        annotated.forward_process(Image.new("RGB", (8, 8)), "linear", 1000, 1000)
    with pytest.raises(ValueError, match="no image"):
        annotated.forward_process(None, "linear", 10, 1000)


def test_network_parts_add_up():
    from engines.core.nn import UNet2D

    m = UNet2D(annotated.LIVE_NET)
    rows = annotated.network_parts(m)
    assert rows[-1][0] == "total" and rows[-1][2] == sum(p.numel() for p in m.parameters())
    assert sum(r[2] for r in rows[:-1]) == rows[-1][2]


@pytest.mark.parametrize("toy", toy2d.TOYS)
def test_toy_samples_land_on_the_data(toy):
    x = final(toy2d.sample(toy, "ddpm", 100, 1000, 0)).x.numpy()
    noise = np.random.default_rng(0).standard_normal((1000, 2)).astype(np.float32)
    assert toy2d.nearest_data_distance(x, toy) < 0.25 * toy2d.nearest_data_distance(noise, toy)


def test_direction_field_points_towards_the_data():
    pts, vec = toy2d.direction_field("moons", 100, extent=3.0, k=9)
    moved = pts + vec
    assert toy2d.nearest_data_distance(moved, "moons") < toy2d.nearest_data_distance(pts, "moons")


def test_live_training_streams_and_learns():
    updates = list(annotated.live_train(seconds=120, max_steps=40, batch_size=16, preview_every=1, n_preview=4))
    assert updates[-1].done and updates[-1].samples is not None and updates[-1].step == 40
    losses = updates[-1].losses
    assert len(losses) == 40 and np.mean(losses[-8:]) < 0.9 * np.mean(losses[:8])
    with pytest.raises(ValueError):
        next(annotated.live_train(seconds=10_000))
