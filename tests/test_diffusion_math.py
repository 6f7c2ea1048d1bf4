"""The Gaussian diffusion maths against closed forms."""

import math

import pytest
import torch

from engines.core import diffusion as D
from engines.core.schedules import SCHEDULES, alpha_sigma_from_log_snr, log_snr_cosine, log_snr_linear, make_schedule


@pytest.mark.parametrize("name", SCHEDULES)
def test_schedules_decrease_from_one_to_near_zero(name):
    s = make_schedule(name, 1000)
    ab = s.alpha_bar
    assert ab.shape == (1000,)
    assert torch.all(ab[1:] < ab[:-1]), "alpha_bar must decrease"
    assert 0.99 < ab[0] <= 1 and ab[-1] < 0.06
    assert torch.allclose(torch.cumprod(1 - s.betas, 0), ab)


def test_linear_and_cosine_match_their_definitions():
    s = make_schedule("linear", 1000)
    assert s.betas[0].item() == pytest.approx(1e-4) and s.betas[-1].item() == pytest.approx(0.02)
    c = make_schedule("cosine", 1000)
    f = lambda t: math.cos((t / 1000 + 0.008) / 1.008 * math.pi / 2) ** 2
    for t in (0, 100, 500, 900):
        assert c.alpha_bar[t].item() == pytest.approx(f(t + 1) / f(0), rel=1e-6)


def test_continuous_log_snr_gives_variance_preserving_pairs():
    t = torch.linspace(0.01, 0.99, 50, dtype=torch.float64)
    for ls in (log_snr_linear(t), log_snr_cosine(t)):
        a, s = alpha_sigma_from_log_snr(ls)
        assert torch.allclose(a**2 + s**2, torch.ones_like(a))
        assert torch.all(ls[1:] < ls[:-1])
        assert torch.allclose(torch.log(a**2 / s**2), ls, atol=1e-8)


def test_q_sample_moments():
    torch.manual_seed(0)
    x0 = torch.full((200_000,), 0.7)
    for ab in (0.9, 0.5, 0.05):
        x_t = D.q_sample(x0, torch.tensor(ab), torch.randn_like(x0))
        assert x_t.mean().item() == pytest.approx(math.sqrt(ab) * 0.7, abs=0.01)
        assert x_t.var().item() == pytest.approx(1 - ab, rel=0.02)


def test_posterior_matches_bayes_rule():
    """q(x_{t-1} | x_t, x_0) ∝ N(x_t; sqrt(alpha_t) x_{t-1}, beta_t) N(x_{t-1}; sqrt(ab_{t-1}) x_0, 1 - ab_{t-1})."""
    s = make_schedule("linear", 1000)
    x0, x_t = torch.tensor([0.3, -0.8]), torch.tensor([1.2, 0.1])
    for t in (1, 10, 500, 999):
        ab_t, ab_prev = s.alpha_bar[t].float(), s.alpha_bar[t - 1].float()
        alpha, beta = ab_t / ab_prev, 1 - ab_t / ab_prev
        precision = alpha / beta + 1 / (1 - ab_prev)
        mean = (alpha.sqrt() * x_t / beta + ab_prev.sqrt() * x0 / (1 - ab_prev)) / precision
        m, v = D.q_posterior(x0, x_t, ab_t, ab_prev)
        assert torch.allclose(m, mean, rtol=1e-4, atol=1e-5)
        assert v.item() == pytest.approx(1 / precision.item(), rel=1e-4)
        assert v.item() == pytest.approx((beta * (1 - ab_prev) / (1 - ab_t)).item(), rel=1e-5)


@pytest.mark.parametrize("param", D.PARAMETERIZATIONS)
def test_prediction_round_trips(param):
    torch.manual_seed(1)
    x0, eps = torch.randn(4, 3, 8, 8), torch.randn(4, 3, 8, 8)
    ab = torch.tensor([0.99, 0.6, 0.2, 0.01])
    x_t = D.q_sample(x0, ab, eps)
    pred = D.target_for(param, x0, eps, ab)
    x0_hat, eps_hat = D.split_prediction(pred, x_t, ab, param)
    assert torch.allclose(x0_hat, x0, atol=1e-3 if param == "eps" else 1e-5)
    assert torch.allclose(eps_hat, eps, atol=1e-3 if param == "x0" else 1e-5)


def test_v_is_rotation_of_x0_and_eps():
    x0, eps = torch.randn(1000), torch.randn(1000)
    ab = torch.tensor(0.3)
    v = D.v_target(x0, eps, ab)
    x_t = D.q_sample(x0, ab, eps)
    assert torch.allclose(v**2 + x_t**2, x0**2 + eps**2, atol=1e-5)  # an orthogonal rotation keeps the norm


def test_min_snr_weights():
    snr = torch.tensor([0.1, 1.0, 5.0, 100.0])
    assert torch.allclose(D.min_snr_weight(snr, "eps", 5.0), torch.tensor([1.0, 1.0, 1.0, 0.05]))
    assert torch.allclose(D.min_snr_weight(snr, "v", 5.0), torch.tensor([0.1 / 1.1, 0.5, 5 / 6, 5 / 101]))
    assert torch.allclose(D.min_snr_weight(snr, "eps", None), torch.ones(4))


def test_diffusion_loss_is_zero_for_the_oracle_and_positive_otherwise():
    s = make_schedule("cosine", 1000)
    x0 = torch.randn(8, 1, 4, 4)
    gen_state = torch.Generator().manual_seed(3).get_state()

    def oracle(x_t, t):  # knows x0, so its eps is exact
        return D.x0_to_eps(x0, x_t, s.at(t))

    g = torch.Generator()
    g.set_state(gen_state)
    assert D.diffusion_loss(oracle, x0, s, "eps", generator=g).item() < 1e-6
    g.set_state(gen_state)
    assert D.diffusion_loss(lambda x_t, t: torch.zeros_like(x_t), x0, s, "eps", generator=g).item() > 0.5
