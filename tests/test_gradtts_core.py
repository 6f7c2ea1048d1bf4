"""Grad-TTS's maths in the core: Monotonic Alignment Search against brute force, the mean-reverting SDE's marginal
against its closed form and a simulation, the Euler solver and the core's samplers against an exact score, the losses on a tiny batch."""

import itertools
import math

import numpy as np
import pytest
import torch

from engines.core.mas import maximum_path, path_from_durations
from engines.core.sde import MeanRevertingVP


def _monotonic_paths(tx: int, ty: int):
    """Every alignment of tx tokens to ty frames: each token a run of >= 1 frames, in order."""
    for cuts in itertools.combinations(range(1, ty), tx - 1):
        d = np.diff((0, *cuts, ty))
        yield path_from_durations(torch.tensor([d]), ty)[0]


@pytest.mark.parametrize("seed", range(5))
def test_mas_finds_the_best_monotonic_path(seed):
    g = torch.Generator().manual_seed(seed)
    tx, ty = 3, 7
    logp = torch.randn(1, tx, ty, generator=g)
    got = maximum_path(logp, torch.tensor([tx]), torch.tensor([ty]))[0]
    best = max(_monotonic_paths(tx, ty), key=lambda p: float((p * logp[0]).sum()))
    assert torch.equal(got, best)
    assert (got.sum(0) == 1).all() and (got.sum(1) >= 1).all()


def test_mas_respects_each_items_lengths_and_refuses_too_few_frames():
    logp = torch.zeros(2, 4, 9)
    p = maximum_path(logp, torch.tensor([4, 2]), torch.tensor([9, 5]))
    assert p[0].sum() == 9 and p[1].sum() == 5 and p[1, 2:].sum() == 0 and p[1, :, 5:].sum() == 0
    with pytest.raises(ValueError, match="cannot align"):
        maximum_path(torch.zeros(1, 5, 3), torch.tensor([5]), torch.tensor([3]))


def test_sde_marginal_is_the_closed_form_and_matches_a_simulation():
    sde = MeanRevertingVP(0.05, 20.0)
    t = torch.tensor([0.3])
    assert float(sde.B(t)) == pytest.approx(0.05 * 0.3 + 0.5 * 19.95 * 0.09)
    assert float(sde.alpha_bar(t)) == pytest.approx(math.exp(-float(sde.B(t))))
    x0, mu = torch.full((20000,), 2.0), torch.full((20000,), -1.0)
    mean, var = sde.marginal(x0, mu, t.expand(20000))
    # Euler-Maruyama of dX = 1/2 beta (mu - X) dt + sqrt(beta) dW from 0 to 0.3
    g = torch.Generator().manual_seed(0)
    x, n = x0.clone(), 600
    for i in range(n):
        s = (i + 0.5) * 0.3 / n
        beta = float(sde.beta(torch.tensor(s)))
        x = x + 0.5 * beta * (mu - x) * (0.3 / n) + math.sqrt(beta * 0.3 / n) * torch.randn(x.shape, generator=g)
    assert float(x.mean()) == pytest.approx(float(mean[0]), abs=0.03)
    assert float(x.var()) == pytest.approx(float(var[0]), rel=0.05)


@pytest.mark.parametrize("stoc", [False, True])
def test_euler_reverse_with_the_exact_score_returns_to_the_data(stoc):
    # data: a point mass at c; the score of X_t is -(x - m_t) / lambda_t with m_t, lambda_t of the marginal
    sde, c, mu = MeanRevertingVP(0.05, 20.0), torch.full((4000,), 1.5), torch.full((4000,), -0.5)
    g = torch.Generator().manual_seed(1)
    m1, lam1 = sde.marginal(c, mu, torch.ones(4000))
    x = m1 + lam1.sqrt() * torch.randn(4000, generator=g)
    N = 400
    for i in range(N):
        t = 1 - (i + 0.5) / N
        m, lam = sde.marginal(c, mu, torch.full((4000,), t))
        x = sde.euler_step(x, mu, -(x - m) / lam, t, 1 / N, torch.randn(4000, generator=g) if stoc else None)
    assert float((x - c).abs().mean()) < 0.1


@pytest.mark.parametrize("sampler,steps", [("ddim", 1), ("ddim", 7), ("dpm++", 10)])
def test_the_cores_samplers_on_the_sdes_chain_with_the_exact_noise_return_to_the_data(sampler, steps):
    # the same point mass at c: the exact eps of X_t is (x - m_t) / sqrt(lambda_t); DDIM (eta 0) and DPM-Solver++ on
    # X_t - mu then reach c exactly at any step count, so any error in the chain's alpha_bar or time map shows
    from types import SimpleNamespace

    from engines import gradtts

    sde, c, mu = MeanRevertingVP(0.05, 20.0), torch.full((1, 2, 8), 1.5), torch.full((1, 2, 8), -0.5)
    chain = sde.chain(gradtts.CHAIN_T)
    assert torch.allclose(chain.alpha_bar[[0, 499, 999]], sde.alpha_bar(torch.tensor([1e-3, 0.5, 1.0], dtype=torch.float64)))

    def eps(x, t, mu_, _decoder):
        m, lam = sde.marginal(c, mu_, t.double())
        return ((x - m) / lam.sqrt()).float()

    voice = SimpleNamespace(sde=sde, model=SimpleNamespace(eps=eps))
    x = mu + torch.randn(mu.shape, generator=torch.Generator().manual_seed(0))
    out = list(gradtts._chain(voice, mu, mu, x, steps, False, None, sampler, None))
    assert len(out) == steps and out[0].t == 1.0
    assert torch.allclose(out[-1].mel, c[0], atol=1e-3)


def test_the_losses_and_the_alignment_on_a_tiny_batch():
    from engines import gradtts_train as gt
    from engines.core.nn.tts import GradTTS

    net = GradTTS(gt.config(10))
    ids = [gt.intersperse(np.array([1, 2, 3]), 10), gt.intersperse(np.array([4, 5]), 10)]
    mels = [np.random.default_rng(0).normal(size=(80, 40)).astype(np.float32),
            np.random.default_rng(1).normal(size=(80, 30)).astype(np.float32)]
    b = gt.collate(ids, mels)
    parts = gt.losses(net, b, torch.Generator().manual_seed(0))
    assert parts["attn"].shape == (2, 7, 40) and parts["attn"][1].sum() == 30 and parts["attn"][1, 5:].sum() == 0
    for k in ("dur", "prior", "diff"):
        assert torch.isfinite(parts[k]) and parts[k] > 0
    (parts["dur"] + parts["prior"] + parts["diff"]).backward()
    assert net.encoder.proj_mu.weight.grad.abs().sum() > 0 and net.decoder.conv_out.weight.grad.abs().sum() > 0


def test_the_priors_ablation_moves_only_the_diffusions_terminal_mean(monkeypatch):
    from engines import gradtts_train as gt
    from engines.core.nn.tts import GradTTS

    net = GradTTS(gt.config(10))
    torch.nn.init.normal_(net.decoder.conv_out.weight, 0.0, 0.1)  # zero at initialisation: eps_hat would ignore X_t
    ids = [gt.intersperse(np.array([1, 2, 3]), 10)]
    b = gt.collate(ids, [np.random.default_rng(0).normal(size=(80, 40)).astype(np.float32)])
    seen = []
    real = gt.SDE.marginal

    def spy(x0, mu, t):
        seen.append(mu.abs().sum())
        return real(x0, mu, t)

    monkeypatch.setattr(type(gt.SDE), "marginal", lambda self, x0, mu, t: spy(x0, mu, t))
    torch.manual_seed(0)
    data = gt.losses(net.eval(), b, torch.Generator().manual_seed(0), "data")
    standard = gt.losses(net.eval(), b, torch.Generator().manual_seed(0), "standard")
    assert seen[0] > 0 and seen[1] == 0  # the paper's N(mu, I) against the ablation's N(0, I)
    assert torch.equal(data["prior"], standard["prior"]) and torch.equal(data["dur"], standard["dur"])
    assert not torch.equal(data["diff"], standard["diff"])
    with pytest.raises(ValueError):
        gt.losses(net, b, torch.Generator().manual_seed(0), "flat")
