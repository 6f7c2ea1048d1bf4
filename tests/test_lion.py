"""LION with its shipped weights: the engine streams both stages and meets a small version of its bars, the
command line writes PLY and GLB files that trimesh loads, bad requests get messages, and the API names work."""

import subprocess
import sys

import numpy as np
import pytest
import torch
import trimesh

from conftest import ROOT, needs

pytestmark = needs("lion-vae", "lion-prior-z", "lion-prior-h")


def test_sampling_streams_both_stages_then_decodes_clouds_on_the_unit_sphere():
    from engines import lion

    items = list(lion.sample("chair", 2, 6, 0))
    frames, out = items[:-1], items[-1]
    assert [f.stage for f in frames] == ["z"] * 6 + ["h"] * 6
    assert frames[0].cloud().shape == (1, 2048, 3) and frames[-1].cloud().shape == (2, 2048, 3)
    assert out.points.shape == (2, 2048, 3) and out.z0.shape[0] == 2
    r = out.points.norm(dim=-1).amax(1)
    assert ((r > 0.8) & (r < 1.2)).all()  # like the training data: farthest point at distance 1
    again = lion.final_shapes(lion.sample("chair", 2, 6, 0))
    assert torch.allclose(again.points, out.points, atol=1e-4)  # the same seed, the same shapes


def test_each_category_is_recognised_in_its_samples():
    """A small version of the bar (90% over 128): 8 samples of each category, 25 steps, read by the nearest of 16
    fresh shapes per category."""
    from engines import lion, lion_quality
    from engines.point_metrics import nearest_category

    refs = {c: lion_quality.subsample(lion_quality.clouds(c, 16, 2), 512) for c in lion.shapes3d.CATEGORIES}
    right = 0
    for c in lion.shapes3d.CATEGORIES:
        pts = lion.final_shapes(lion.sample(c, 8, 25, 0)).points
        right += sum(k == c for k in nearest_category(lion_quality.subsample(pts, 512), refs))
    assert right / 40 >= 0.85


def test_a_small_diffusion_keeps_the_shape_and_a_full_one_samples_anew():
    from engines import lion
    from engines.data import shapes3d
    from engines.point_metrics import chamfer

    src = shapes3d.point_clouds("airplane", 1, 9)[0]
    x = torch.from_numpy(src)[None]
    near = lion.final_shapes(lion.vary(src, 0.05, 2, 25, 0)).points
    far = lion.final_shapes(lion.vary(src, 1.0, 2, 25, 0)).points
    d_near = chamfer(near, x.expand(2, -1, -1)).mean()
    assert d_near < 0.5 * chamfer(far, x.expand(2, -1, -1)).mean() and d_near < 5e-3


def test_bad_requests_get_messages_that_say_what_to_change():
    from engines import lion

    for args, msg in (
        (("sofa", 1, 25, 0, 2.0), "unknown category 'sofa'; choose one of chair, table, lamp, mug, airplane"),
        (("chair", 1, 0, 0, 2.0), "steps must be between 1 and 1000"),
        (("chair", 500, 25, 0, 2.0), "number of shapes must be between 1 and 16 on this machine"),
        (("chair", 1, 25, 0, float("nan")), "guidance scale must be a number"),
    ):
        with pytest.raises(ValueError, match=msg.replace("(", r"\(")):
            next(lion.sample(*args))
    with pytest.raises(ValueError, match="no shape to vary"):
        next(lion.vary(None))
    with pytest.raises(ValueError, match="point cloud this app can read"):
        lion.read_cloud(ROOT / "README.md")


def test_the_cli_writes_each_shape_as_a_ply_and_a_glb(tmp_path):
    out = tmp_path / "lion"
    cmd = [sys.executable, "-m", "engines", "lion", "--category", "mug", "--n", "2", "--steps", "8", "--seed", "0",
           "--out", str(out)]
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in out.iterdir()) == ["000.glb", "000.ply", "001.glb", "001.ply"]
    cloud = trimesh.load(out / "000.ply")
    assert cloud.vertices.shape == (2048, 3) and np.isfinite(cloud.vertices).all()
    mesh = trimesh.load(out / "000.glb", force="mesh")
    assert mesh.is_watertight and len(mesh.faces) > 500
    bad = subprocess.run(cmd[:4] + ["--category", "sofa", "--out", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 2 and "invalid choice: 'sofa'" in bad.stderr
