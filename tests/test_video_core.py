"""Imagen Video's pieces without the shipped weights: the moving-shapes spec, the space-time U-Net (a one-frame video is
an image), the SR stages' conditions, and progressive distillation's target against exact toy teachers."""

import numpy as np
import pytest
import torch

from engines.core.diffusion import v_target
from engines.core.distill import (
    alpha_bar_at,
    ddim_move,
    distill_loss,
    halving_grid,
    teacher_two_steps,
    two_step_target,
)
from engines.core.nn import UNet2D, UNet3D, UNet3DConfig
from engines.core.schedules import make_schedule
from engines.data import moving
from engines.data.judge import judge

TINY = dict(in_channels=3, out_channels=3, base_channels=16, channel_mult=(1, 2), num_res_blocks=1, attn_levels=(1,),
            context_dim=8, pooled_dim=8)


def _randomise(net: torch.nn.Module) -> None:
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(0.2 * torch.randn(p.shape, generator=g))


# ---- the data spec (DESIGN.md, "Moving shapes")


@pytest.mark.parametrize("index", range(40))
def test_a_clip_follows_the_spec(index):
    c = moving.clip_for(0, index)
    assert c.background != c.colour and c.size in ("small", "large")
    assert abs(2 * c.r / moving.SIZES[c.size] - 1) <= 0.08 + 1e-9
    (x0, y0), (x1, y1) = c.start, c.end
    if c.direction in ("to the right", "to the left"):
        assert y0 == y1 and 0.4 <= y0 <= 0.6
        a, b = (x0, x1) if c.direction == "to the right" else (x1, x0)
    else:  # image y grows downwards: 'up' ends near the top edge
        assert x0 == x1 and 0.4 <= x0 <= 0.6
        a, b = (1 - y0, 1 - y1) if c.direction == "up" else (y0, y1)
    assert 0.2 <= a <= 0.3 and 0.7 <= b <= 0.8
    assert f"{c.colour} {c.shape} moving {c.direction}" in c.caption
    assert c.centre(0, 8) == c.start and np.allclose(c.centre(7, 8), c.end)
    assert np.allclose(c.centre(4, 9), ((x0 + x1) / 2, (y0 + y1) / 2))  # linear: the middle frame is half-way


def test_clips_are_deterministic_and_drawn_as_the_shapes_world():
    a, ca = moving.clips(6, 16, 32, seed=3)
    b, cb = moving.clips.__wrapped__(6, 16, 32, seed=3)
    assert torch.equal(a, b) and ca == cb and a.shape == (6, 3, 16, 32, 32) and a.dtype == torch.uint8
    for x, c in zip(a, ca):
        frames = x.permute(1, 2, 3, 0).numpy()
        read = [judge(f)[1][0] for f in (frames[0], frames[-1])]
        assert {o.colour for o in read} == {c.colour}
        for o, target in zip(read, (c.start, c.end)):
            assert abs(o.cx - target[0]) < 0.06 and abs(o.cy - target[1]) < 0.08  # the centre where the spec puts it


def test_parse_motion_reads_the_direction_or_none():
    assert moving.parse_motion("a red circle moving to the right") == "to the right"
    assert moving.parse_motion("A star moves left on a blue background") == "to the left"
    assert moving.parse_motion("a square moving up") == "up"
    assert moving.parse_motion("a red circle on the right") is None  # a position, not a motion
    assert moving.parse_motion("moving upward") is None


# ---- the space-time U-Net


@pytest.mark.parametrize("temporal", ["attention", "conv"])
def test_a_one_frame_video_is_an_image_the_temporal_layers_masked(temporal):
    cfg = UNet3DConfig(**TINY, temporal=temporal)
    net3, net2 = UNet3D(cfg).eval(), UNet2D(cfg).eval()
    _randomise(net3)
    net2.load_state_dict({k: v for k, v in net3.state_dict().items() if not k.startswith("t_")})
    x, t = torch.randn(2, 3, 8, 8), torch.tensor([10, 500])
    ctx, pooled = torch.randn(2, 3, 8), torch.randn(2, 8)
    with torch.no_grad():
        y3 = net3(x[:, :, None], t, context=ctx, pooled=pooled)  # (2, 3, 1, 8, 8)
        y2 = net2(x, t, context=ctx, pooled=pooled)
        for p in (p for k, p in net3.named_parameters() if k.startswith("t_")):
            p.add_(1.0)  # the temporal layers changed: a one-frame video does not see it
        y3b = net3(x[:, :, None], t, context=ctx, pooled=pooled)
    assert y3.shape == (2, 3, 1, 8, 8)
    assert torch.allclose(y3[:, :, 0], y2, atol=1e-5) and torch.equal(y3, y3b)


@pytest.mark.parametrize("temporal", ["attention", "conv"])
def test_the_temporal_layers_mix_frames_and_the_spatial_ones_do_not(temporal):
    net = UNet3D(UNet3DConfig(**TINY, temporal=temporal)).eval()
    _randomise(net)
    x = torch.randn(1, 3, 4, 8, 8)
    x2 = x.clone()
    x2[:, :, 1] += 1.0  # only frame 1 changes
    t = torch.tensor([300])
    with torch.no_grad():
        y, y2 = net(x, t), net(x2, t)
        for p in (p for k, p in net.named_parameters() if k.startswith("t_")):
            p.zero_()  # no temporal layers: frames are independent
        z, z2 = net(x, t), net(x2, t)
    assert (y[:, :, 0] - y2[:, :, 0]).abs().max() > 1e-3  # frame 0 hears about frame 1
    assert torch.allclose(z[:, :, 0], z2[:, :, 0], atol=1e-6)


def test_the_temporal_attention_bias_is_relative():
    net = UNet3D(UNet3DConfig(**TINY, temporal="attention", max_frames=8)).eval()
    _randomise(net)
    x = torch.randn(1, 3, 4, 8, 8)
    with torch.no_grad():  # a clip and its time reversal: relative offsets are signed, so the result differs
        y, yr = net(x, torch.tensor([100])), net(x.flip(2), torch.tensor([100])).flip(2)
    assert y.shape == yr.shape == (1, 3, 4, 8, 8) and (y - yr).abs().max() > 1e-4
    with pytest.raises(ValueError, match="at most 8 frames"):
        net(torch.randn(1, 3, 9, 8, 8), torch.tensor([1]))


def test_the_frame_embedding_starts_silent_tells_frames_apart_and_skips_images():
    net = UNet3D(UNet3DConfig(**TINY, temporal="attention", max_frames=8, frame_embedding=True)).eval()
    _randomise(net)
    with torch.no_grad():
        net.frame_emb.weight.zero_()  # as initialised: the model starts as the one without it
        x, t = torch.randn(2, 3, 4, 8, 8), torch.tensor([100, 700])
        silent = net(x, t)
        plain = UNet3D(UNet3DConfig(**TINY, temporal="attention", max_frames=8)).eval()
        plain.load_state_dict({k: v for k, v in net.state_dict().items() if not k.startswith("frame_emb")})
        assert torch.allclose(silent, plain(x, t), atol=1e-6)
        net.frame_emb.weight.normal_()
        same = x[:, :, :1].expand(-1, -1, 4, -1, -1).contiguous()  # four identical frames
        y = net(same, t)
        assert (y[:, :, 0] - y[:, :, 3]).abs().max() > 1e-3  # ... are told apart by their index
        assert torch.allclose(plain(same, t)[:, :, 0], plain(same, t)[:, :, 3], atol=1e-5)  # relative bias alone: not
        img = x[:, :, :1]
        assert torch.allclose(net(img, t), plain(img, t), atol=1e-6)  # a one-frame video gets no frame embedding


def test_the_sr_stages_conditions_have_the_cascades_shapes():
    from engines.video_train import lowres, repeat_frames, upsample

    x = torch.randn(2, 3, 8, 16, 16)
    r = repeat_frames(x)
    assert r.shape == (2, 3, 16, 16, 16) and torch.equal(r[:, :, 0::2], x) and torch.equal(r[:, :, 1::2], x)
    u = upsample(r)
    assert u.shape == (2, 3, 16, 32, 32) and torch.allclose(lowres(upsample(torch.ones(1, 3, 2, 4, 4))), torch.ones(1, 3, 2, 4, 4))
    net = UNet3D(UNet3DConfig(**{**TINY, "attn_levels": ()}, cond_channels=3, aug_embed=True, temporal="conv"))
    with torch.no_grad():
        out = net(torch.randn(2, 3, 16, 32, 32), torch.tensor([5, 6]), image=u, aug=torch.zeros(2))
    assert out.shape == (2, 3, 16, 32, 32)


# ---- progressive distillation


def test_the_halving_grid_is_nested():
    for n in (1, 2, 4, 8, 16):
        assert halving_grid(1000, n) == halving_grid(1000, 2 * n)[0::2]
    assert halving_grid(1000, 1) == [999] and halving_grid(1000, 4) == [999, 749, 500, 250]


def _gaussian_teacher(s2: float, schedule):
    """The exact x0_hat of data N(0, s2 I): E[x0 | z_t] = sqrt(ab) s2 z / (ab s2 + 1 - ab)."""

    def x0(z, t, cond):
        ab = alpha_bar_at(schedule, t).view(-1, *[1] * (z.dim() - 1))
        return ab.sqrt() * s2 * z / (ab * s2 + 1 - ab)

    return x0


def test_the_students_one_step_equals_the_teachers_two():
    sched = make_schedule("cosine", 1000)
    teacher = _gaussian_teacher(0.3, sched)
    z = torch.randn(5, 3, 2, 4, 4)
    grid = halving_grid(1000, 8) + [-1]
    for i in range(0, 8, 2):  # the student's steps: every second step of the teacher's 8
        t, tm, tn = (torch.full((5,), grid[k]) for k in (i, i + 1, i + 2))
        x_tilde = teacher_two_steps(teacher, z, t, tm, tn, sched, None)
        ab_t, ab_m, ab_n = (alpha_bar_at(sched, s) for s in (t, tm, tn))
        z_m = ddim_move(z, teacher(z, t, None), ab_t, ab_m)
        z_n = ddim_move(z_m, teacher(z_m, tm, None), ab_m, ab_n)
        assert torch.allclose(ddim_move(z, x_tilde, ab_t, ab_n), z_n, atol=1e-5)
        # a teacher that already takes straight lines (a point mass: x0_hat constant) gives its own x0 back
        c = torch.full_like(z, 0.7)
        assert torch.allclose(teacher_two_steps(lambda *_, c=c: c, z, t, tm, tn, sched, None), c, atol=1e-4)
    with pytest.raises(AssertionError):  # and the target is not the teacher's one-step x0_hat
        assert torch.allclose(x_tilde, teacher(z, t, None), atol=1e-3)


def test_the_distillation_loss_is_zero_for_the_student_that_matches_two_teacher_steps():
    sched = make_schedule("cosine", 1000)
    teacher = _gaussian_teacher(0.3, sched)
    grid = torch.tensor(halving_grid(1000, 8) + [-1])

    def student(z, t, **cond):  # the exact student of the 4-step round, as a v-prediction
        i = torch.tensor([int((grid == int(v)).nonzero()[0]) for v in t])
        x = teacher_two_steps(teacher, z, t, grid[i + 1], grid[i + 2], sched, None)
        ab = alpha_bar_at(sched, t).view(-1, 1, 1, 1, 1)
        eps = (z - ab.sqrt() * x) / (1 - ab).sqrt()
        return v_target(x, eps, ab)

    x0 = 0.3**0.5 * torch.randn(6, 3, 2, 4, 4)
    gen = torch.Generator().manual_seed(0)
    assert float(distill_loss(student, "v", teacher, x0, sched, 4, gen, {})) < 1e-8
    wrong = lambda z, t, **c: student(z, t) * 0.9
    assert float(distill_loss(wrong, "v", teacher, x0, sched, 4, gen, {})) > 1e-4
    assert torch.allclose(two_step_target(x0, x0, torch.tensor(0.5), torch.tensor(1.0)), x0)
