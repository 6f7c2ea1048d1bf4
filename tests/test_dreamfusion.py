"""DreamFusion's pieces that need no trained prior: Score Distillation Sampling's gradient on a toy denoiser, the
prompt parser and its messages, the view buckets, and the renders the prior trains on."""

from __future__ import annotations

import pytest
import torch

from engines import dreamfusion as df
from engines import dreamfusion_train as dt
from engines.core.samplers import Denoiser
from engines.core.schedules import make_schedule


def test_the_sds_gradient_is_w_times_eps_hat_minus_eps_and_skips_the_unets_jacobian():
    schedule = make_schedule("cosine", 1000)
    weight = torch.nn.Parameter(torch.tensor(0.7))  # a toy eps-network: eps_hat = 0.7 x_t + 0.1

    def net(x_t, t, cond):
        return weight * x_t + 0.1

    toy = Denoiser(net, "eps", clip=None)
    x = torch.randn(1, 3, 8, 8, requires_grad=True)
    eps = torch.randn(1, 3, 8, 8)
    t = 600
    grad = df.sds_grad(toy, schedule, x.detach(), None, t, eps)
    ab = schedule.alpha_bar[t].float()
    x_t = ab.sqrt() * x.detach() + (1 - ab).sqrt() * eps
    assert torch.allclose(grad, (1 - ab) * (0.7 * x_t + 0.1 - eps), atol=1e-6)
    df.sds_loss(x, grad).backward()
    assert torch.allclose(x.grad, grad, atol=1e-6)  # the surrogate's gradient in the render is exactly grad
    assert weight.grad is None  # nothing flowed into the denoiser


def test_sds_moves_a_render_towards_what_the_toy_prior_believes():
    # a prior that believes every image is 0.5 everywhere: eps_hat = (x_t - sqrt(ab) 0.5) / sqrt(1 - ab)
    schedule = make_schedule("cosine", 1000)

    def net(x_t, t, cond):
        ab = schedule.alpha_bar[t].float().view(-1, 1, 1, 1)
        return (x_t - ab.sqrt() * 0.5) / (1 - ab).sqrt()

    toy = Denoiser(net, "eps", clip=None)
    x = torch.zeros(1, 3, 4, 4, requires_grad=True)
    opt = torch.optim.SGD([x], lr=0.5)
    g = torch.Generator().manual_seed(0)
    for _ in range(200):
        t = int(torch.randint(20, 980, (1,), generator=g))
        grad = df.sds_grad(toy, schedule, x.detach(), None, t, torch.randn(x.shape, generator=g))
        opt.zero_grad()
        df.sds_loss(x, grad).backward()
        opt.step()
    assert float((x - 0.5).abs().max()) < 0.05


@pytest.mark.parametrize("prompt, expected", [
    ("a red ball", "a red ball"), ("A big BLUE sphere, please", "a blue ball"), ("grey torus", "a gray ring"),
    ("a red cube with a blue front", "a red cube with a blue front"), ("a red cube with a red front", "a red cube"),
])
def test_prompts_are_read_for_a_colour_and_an_object(prompt, expected):
    assert df.parse(prompt)[0] == expected


@pytest.mark.parametrize("prompt, message", [
    ("", "empty"), ("a dragon", "no colour"), ("something red", "no object"), ("x" * 5000, "limit"),
    ("красный шар", "no colour"), (None, "must be text"),
])
def test_bad_prompts_say_what_is_known(prompt, message):
    with pytest.raises(ValueError, match=message):
        df.parse(prompt)


@pytest.mark.parametrize("kwargs, message", [
    ({"iters": 0}, "iterations"), ({"iters": 10**6}, "iterations"), ({"guidance": 0.5}, "guidance"),
    ({"guidance": float("nan")}, "guidance"), ({"shading": "phong"}, "shading"),
])
def test_out_of_range_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        df.check("a red ball", **kwargs)


def test_view_buckets_follow_stable_dreamfusion():
    assert [dt.view_of(a, 10) for a in (0, 29, 31, 90, 149, 151, 209, 211, 330, 359)] == [
        "front", "front", "side", "side", "side", "back", "back", "side", "front", "front"]
    assert dt.view_of(180, 61) == "overhead"


def test_the_priors_renders_show_the_object_in_its_colour_on_another_background():
    images, captions = dt.make_renders(n_objects=4, per_object=2, seed=3)
    assert images.shape == (8, 3, dt.SIZE, dt.SIZE) and images.dtype == torch.uint8 and len(captions) == 8
    for img, cap in zip(images.float() / 255, captions):
        centre, corner = img[:, 14:18, 14:18].mean((1, 2)), img[:, :2, :2].mean((1, 2))
        assert (centre - corner).abs().max() > 0.1, cap  # the object stands out from the background
        prompt = cap.split(",")[0]
        assert df.parse(prompt)[0] == prompt


def _true_mesh(kind: str, colour: str = "red", rotation: float = 20.0):
    from engines.data import objects3d as o3
    from engines.data.shapes import COLOURS
    from engines.dreamfusion_mesh import mesh_of

    rgb = tuple(v / 255 for v in COLOURS[colour])
    raw, albedo = o3.voxelise(o3.Object3D(kind, colour, rgb, rotation), 32)
    return mesh_of(torch.nn.functional.softplus(raw), torch.sigmoid(albedo), bound=o3.BOUND)


@pytest.mark.parametrize("kind", ["ball", "cube", "cylinder", "cone", "ring"])
def test_the_judge_names_each_true_objects_shape_and_colour_from_its_mesh(kind):
    from engines import dreamfusion_quality as dq

    m = _true_mesh(kind, "green")
    assert m.mesh.is_watertight and m.floaters == 0.0
    assert dq.shape_of(m.mesh)[0] == kind
    names, saturation = dq.colours_of(m.mesh)
    assert names == ["green"] * 8 and saturation > 0.5


def test_a_flat_card_or_floaters_are_not_a_solid():
    import trimesh

    from engines import dreamfusion_quality as dq

    ball = _true_mesh("ball")
    assert dq.is_solid(ball.mesh, ball.floaters)[1]
    assert not dq.is_solid(ball.mesh, 0.2)[1]
    assert not dq.is_solid(trimesh.creation.box((1.6, 1.6, 0.1)), 0.0)[1]
    # a box with a small one floating beside it: its share of the surface is counted, then it is dropped
    from engines.dreamfusion_mesh import mesh_of

    sigma = torch.zeros(32, 32, 32)
    sigma[8:24, 8:24, 8:24] = 30.0
    sigma[27:30, 27:30, 27:30] = 30.0
    m = mesh_of(sigma, torch.full((3, 32, 32, 32), 0.5))
    assert 0.02 < m.floaters < 0.05 and m.dropped == pytest.approx(m.floaters)
    assert len(m.mesh.split(only_watertight=False)) == 1


def test_mesh_views_and_the_turntable_show_the_mesh(tmp_path):
    import imageio.v2 as imageio

    from engines.dreamfusion_mesh import mesh_views, turntable

    m = _true_mesh("cube", "blue")
    views = mesh_views(m.mesh, 64)
    assert len(views) == 8
    centre = torch.tensor(list(views[0].getdata())).reshape(64, 64, 3)[28:36, 28:36].float().mean((0, 1))
    assert centre[2] > centre[0] + 40  # blue where the cube is
    path = turntable(m.mesh, frames=6, size=64).save(tmp_path / "t.mp4")
    reader = imageio.get_reader(str(path))
    assert reader.get_meta_data()["codec"] == "h264" and reader.count_frames() == 6


def test_the_janus_judge_sees_a_true_marked_front_only_from_the_front():
    from engines import dreamfusion_quality as dq
    from engines.data import objects3d as o3
    from engines.data.shapes import COLOURS
    from engines.dreamfusion_mesh import mesh_of

    cube = o3.Object3D("cube", "red", tuple(v / 255 for v in COLOURS["red"]), 0.0)
    raw, albedo = o3.voxelise(cube, 32)
    albedo = dt.paint_front(albedo, cube, tuple(v / 255 for v in COLOURS["blue"]), 32)
    shares = dq.mark_shares(mesh_of(torch.nn.functional.softplus(raw), torch.sigmoid(albedo), bound=o3.BOUND).mesh,
                            "blue")
    assert all(shares[i] > 0.15 for i in dq.FRONT_VIEWS) and all(shares[i] < 0.05 for i in dq.BACK_VIEWS)
