"""Every sampler against the exact denoiser of a Gaussian data distribution: it must recover the known moments."""

import pytest
import torch

from engines.core.diffusion import bcast
from engines.core.samplers import Denoiser, ddim, ddim_invert, final, sample_loop, timesteps
from engines.core.schedules import make_schedule

MU, S = 0.5, 0.3  # data: x_0 ~ N(MU, S^2) in every dimension


def exact_denoiser(schedule) -> Denoiser:
    """E[x_0 | x_t] for Gaussian data, in closed form: MU + sqrt(ab) S^2 / (ab S^2 + 1 - ab) (x_t - sqrt(ab) MU)."""

    def net(x_t, t, cond):
        ab = bcast(schedule.at(t), x_t)
        return MU + ab.sqrt() * S**2 / (ab * S**2 + 1 - ab) * (x_t - ab.sqrt() * MU)

    return Denoiser(net, "x0", clip=None)


@pytest.mark.parametrize("name,steps", [("ddpm", 250), ("ddim", 200), ("dpm++", 20)])
@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_sampler_recovers_gaussian_moments(name, steps, schedule):
    s = make_schedule(schedule, 1000)
    g = torch.Generator().manual_seed(0)
    x_T = torch.randn(40_000, 1, generator=g)
    x = final(sample_loop(name, exact_denoiser(s), x_T, s, steps, generator=g)).x
    assert x.mean().item() == pytest.approx(MU, abs=0.01)
    assert x.std().item() == pytest.approx(S, rel=0.04)


def test_a_wrong_denoiser_fails_the_same_check():
    """The moment check can fail: a denoiser that ignores x_t collapses the samples onto MU."""
    s = make_schedule("linear", 1000)
    x = final(
        sample_loop("ddim", Denoiser(lambda x, t, c: torch.full_like(x, MU), "x0", None), torch.randn(5000, 1), s, 50)
    ).x
    assert x.std().item() < 0.5 * S


def test_samplers_yield_every_step_with_predictions():
    s = make_schedule("linear", 1000)
    steps = list(sample_loop("dpm++", exact_denoiser(s), torch.randn(8, 2), s, 12))
    assert [st.index for st in steps] == list(range(12)) and all(st.total == 12 for st in steps)
    assert steps[0].t == 999 and steps[-1].t == 0
    assert all(st.x.shape == (8, 2) and st.x0.shape == (8, 2) for st in steps)


def test_timesteps_respacing():
    assert timesteps(1000, 1) == [999]  # one step starts from the noise, not from the clean end
    ts = timesteps(1000, 50)
    assert len(ts) == 50 and ts[0] == 999 and ts[-1] == 0 and ts == sorted(ts, reverse=True)
    assert timesteps(1000, 1000) == list(range(999, -1, -1))
    s = make_schedule("linear", 1000)
    lam_ts = timesteps(1000, 20, s)
    assert len(lam_ts) == 20 and lam_ts[0] == 999 and lam_ts[-1] == 0
    lam = torch.log(s.snr)[lam_ts]
    gaps = (lam[1:] - lam[:-1]).numpy()
    assert gaps.max() / gaps.min() < 1.6  # even in log-SNR (even t gives a ratio above 10)
    with pytest.raises(ValueError):
        timesteps(1000, 0)
    with pytest.raises(ValueError):
        timesteps(1000, 1001)


def test_ddim_eta0_is_deterministic_and_eta1_is_not():
    s = make_schedule("cosine", 1000)
    x_T = torch.randn(64, 1)
    a = final(ddim(exact_denoiser(s), x_T, s, 20, generator=torch.Generator().manual_seed(1))).x
    b = final(ddim(exact_denoiser(s), x_T, s, 20, generator=torch.Generator().manual_seed(2))).x
    assert torch.equal(a, b)
    c = final(ddim(exact_denoiser(s), x_T, s, 20, eta=1.0, generator=torch.Generator().manual_seed(1))).x
    d = final(ddim(exact_denoiser(s), x_T, s, 20, eta=1.0, generator=torch.Generator().manual_seed(2))).x
    assert not torch.allclose(c, d)


def test_ddim_inversion_round_trip():
    s = make_schedule("linear", 1000)
    den = exact_denoiser(s)
    x0 = MU + S * torch.randn(256, 1)
    errors = []
    for steps in (100, 500):
        x_T = ddim_invert(den, x0, s, steps)
        back = final(ddim(den, x_T, s, steps)).x
        errors.append((back - x0).abs().mean().item())
        assert x_T.std().item() == pytest.approx(1.0, rel=0.1)  # the latent looks like N(0, 1)
    assert errors[1] < 0.005 and errors[1] < errors[0] / 2  # first-order: the error shrinks with the step size


def test_unknown_sampler_is_a_clear_error():
    s = make_schedule("linear", 1000)
    with pytest.raises(ValueError, match="unknown sampler"):
        sample_loop("euler-z", exact_denoiser(s), torch.randn(2, 1), s, 10)
