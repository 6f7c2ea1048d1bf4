"""Guidance and image-to-image wrappers against closed forms and exact toy denoisers."""

import torch

from engines.core.diffusion import split_prediction
from engines.core.guidance import classifier_free, classifier_guidance, dynamic_threshold, thresholded
from engines.core.samplers import Denoiser, final, sample_loop
from engines.core.schedules import make_schedule
from engines.core.wrappers import known_pixels, tiled

NULL = 9


def toy_net(x, t, y):
    """A 'conditional' prediction that depends on the label in an obvious way: pred = 0.1 x + y."""
    return 0.1 * x + y.float().view(-1, 1, 1, 1)


def test_cfg_scale_0_is_unconditional_and_1_is_conditional():
    d = Denoiser(toy_net, "eps")
    x, t, y = torch.randn(3, 1, 4, 4), torch.tensor([5, 5, 5]), torch.tensor([1, 2, 3])
    null = lambda c: torch.full_like(c, NULL)
    assert torch.allclose(classifier_free(d, null, 0.0)(x, t, y), toy_net(x, t, null(y)))
    assert torch.allclose(classifier_free(d, null, 1.0)(x, t, y), toy_net(x, t, y))
    s = 3.0  # u + s (c - u), computed in one doubled batch
    expect = toy_net(x, t, null(y)) + s * (toy_net(x, t, y) - toy_net(x, t, null(y)))
    assert torch.allclose(classifier_free(d, null, s)(x, t, y), expect)


def test_cfg_handles_dict_conditions():
    d = Denoiser(lambda x, t, c: x * c["w"].view(-1, 1), "eps")
    out = classifier_free(d, lambda c: {"w": torch.zeros_like(c["w"])}, 2.0)(
        torch.ones(2, 3), torch.zeros(2), {"w": torch.tensor([1.0, 2.0])}
    )
    assert torch.allclose(out, torch.tensor([[2.0] * 3, [4.0] * 3]))


def test_classifier_gradient_has_the_right_sign():
    """log p(y|x) = -|x - mu_y|^2 / 2: guidance must move x_0 towards mu_y, more with a larger scale."""
    s = make_schedule("linear", 1000)
    mu = torch.tensor([2.0, -2.0])

    def log_prob(x, t, y):
        return -0.5 * ((x - mu[y].view(-1, 1)) ** 2).sum(1)

    base = Denoiser(lambda x, t, y: torch.zeros_like(x), "eps", clip=None)  # prior: eps = 0
    x = torch.zeros(2, 3)
    y = torch.tensor([0, 1])
    t = torch.tensor([500, 500])
    ab = s.at(t)
    moves = []
    for scale in (0.0, 1.0, 4.0):
        eps = classifier_guidance(base, log_prob, s, scale)(x, t, y)
        x0, _ = split_prediction(eps, x, ab, "eps")
        moves.append(x0.mean(1))
    assert torch.allclose(moves[0], torch.zeros(2))
    assert moves[1][0] > 0 and moves[1][1] < 0  # towards +2 for class 0, towards -2 for class 1
    assert moves[2][0] > moves[1][0] and moves[2][1] < moves[1][1]


def test_dynamic_threshold_matches_its_definition():
    x0 = torch.tensor([[0.5, -3.0, 2.0, 0.1], [0.2, 0.3, -0.4, 0.9]])
    out = dynamic_threshold(x0, p=1.0)
    assert torch.allclose(out[0], x0[0].clamp(-3, 3) / 3)  # s = max |x0| = 3
    assert torch.allclose(out[1], x0[1])  # s clamps to 1: unchanged inside [-1, 1]
    q = torch.quantile(x0[0].abs(), 0.5)
    assert torch.allclose(dynamic_threshold(x0, 0.5)[0], x0[0].clamp(-q, q) / q)


def test_dynamic_thresholding_prevents_the_saturation_of_static_clipping():
    """An over-confident denoiser (x0_hat = 3 * pattern) saturates under static clipping; dynamic thresholding keeps
    the samples in [-1, 1] with the pattern's shape, as in Imagen's high-guidance samples."""
    s = make_schedule("linear", 1000)
    pattern = torch.linspace(-1, 1, 64).view(1, 1, 8, 8)
    wild = Denoiser(lambda x, t, c: 3 * pattern.expand_as(x), "x0", clip=(-1.0, 1.0))
    x_T = torch.randn(4, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    static = final(sample_loop("ddim", wild, x_T, s, 10)).x
    dyn = final(sample_loop("ddim", thresholded(wild, s, 0.995), x_T, s, 10)).x
    saturated = lambda x: (x.abs() > 0.999).float().mean().item()
    assert saturated(static) > 0.5 and saturated(dyn) < 0.1
    assert dyn.abs().max() <= 1.0 + 1e-5
    assert torch.corrcoef(torch.stack([dyn[0].flatten(), pattern.flatten()]))[0, 1] > 0.99


def test_known_pixels_are_kept_exactly():
    s = make_schedule("linear", 1000)
    y0 = torch.rand(2, 3, 8, 8) * 2 - 1
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., 2:6, 2:6] = 1
    d = known_pixels(Denoiser(lambda x, t, c: torch.randn_like(x), "eps"), y0, mask, s)
    for name in ("ddpm", "ddim", "dpm++"):
        out = final(sample_loop(name, d, torch.randn(2, 3, 8, 8), s, 6)).x
        assert torch.equal(out * (1 - mask), y0 * (1 - mask))
        assert not torch.allclose(out * mask, y0 * mask)


def test_tiling_equals_the_plain_net_for_a_local_operator():
    """A pointwise network gives the same answer tiled or not; tiles must cover every pixel once blended."""
    d = Denoiser(lambda x, t, c: 2 * x + c, "eps")
    x, c = torch.randn(1, 3, 100, 72), torch.randn(1, 3, 100, 72)
    t = torch.tensor([3])
    assert torch.allclose(tiled(d, 32, 8)(x, t, c), d(x, t, c), atol=1e-5)


def test_tiling_runs_the_network_on_tiles_only():
    sizes = []
    d = Denoiser(lambda x, t, c: sizes.append(tuple(x.shape[-2:])) or x, "eps")
    tiled(d, 64, 16)(torch.randn(1, 3, 256, 256), torch.tensor([0]), None)
    assert set(sizes) == {(64, 64)} and len(sizes) == 25
