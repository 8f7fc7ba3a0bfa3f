"""SDE marginals against their closed forms and against simulation."""
import math

import pytest
import torch

from genarena.diffusion.sde import DDPM, VESDE, VPSDE


def test_ve_sigma_and_diffusion():
    sde = VESDE(0.01, 50.0)
    t = torch.tensor([0.0, 0.5, 1.0])
    a, s = sde.marginal(t)
    assert torch.allclose(a, torch.ones(3))
    assert s.tolist() == pytest.approx([0.01, math.sqrt(0.01 * 50), 50.0], rel=1e-5)
    assert torch.equal(sde.noise_std(t), s)
    # g(t)² = d σ²(t)/dt
    h = 1e-4
    tt = torch.tensor([0.3], dtype=torch.float64)
    ds2 = (sde.sigma(tt + h) ** 2 - sde.sigma(tt - h) ** 2) / (2 * h)
    assert sde.sde(torch.zeros(1, 2), tt)[1].item() ** 2 == pytest.approx(ds2.item(), rel=1e-5)
    assert sde.t_of_sigma(7.5) == pytest.approx(math.log(750) / math.log(5000))


def test_vp_marginal_solves_its_sde():
    sde = VPSDE(0.1, 20.0)
    t = torch.linspace(0.01, 1, 50, dtype=torch.float64)
    a, s = sde.marginal(t)
    assert torch.allclose(a ** 2 + s ** 2, torch.ones_like(t))
    h = 1e-5
    dlog_a = (sde.marginal(t + h)[0].log() - sde.marginal(t - h)[0].log()) / (2 * h)
    assert torch.allclose(dlog_a, -0.5 * sde.beta(t), rtol=1e-4)


def test_ddpm_discrete_marginals_match_vp():
    ddpm = DDPM(1000)
    assert torch.allclose(ddpm.alpha_bars, torch.cumprod(1 - torch.linspace(1e-4, 0.02, 1000,
                                                                          dtype=torch.float64), 0))
    t = torch.tensor([1 / 1000, 0.5, 1.0])
    a, s = ddpm.marginal(t)
    assert a[0].item() == pytest.approx((1 - 1e-4) ** 0.5)
    a_vp, _ = VPSDE(0.1, 20.0).marginal(t)
    assert torch.allclose(a.double(), a_vp.double(), atol=5e-3)
    steps = ddpm.sample_t(1000, torch.Generator().manual_seed(0))
    assert torch.allclose(steps * 1000, (steps * 1000).round()) and steps.min() >= 1e-3


@pytest.mark.parametrize("sde", [VESDE(0.01, 5.0), VPSDE(), DDPM()], ids=["ve", "vp", "ddpm"])
def test_perturbation_has_the_marginal_moments(sde):
    rng = torch.Generator().manual_seed(0)
    x0 = 2.0 + 0.5 * torch.randn(200_000, 1, generator=rng)
    t = torch.full((200_000,), 0.6)
    xt, _ = sde.perturb(x0, t, torch.randn(x0.shape, generator=rng))
    a, s = sde.marginal(t[:1])
    assert xt.mean().item() == pytest.approx(2.0 * a.item(), abs=0.02 + 0.01 * s.item())
    assert xt.var().item() == pytest.approx(0.25 * a.item() ** 2 + s.item() ** 2, rel=0.02)
