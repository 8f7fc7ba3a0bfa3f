"""Every sampler, driven by the exact score of Gaussian data, reproduces its mean and covariance."""
import pytest
import torch
from gaussian_scores import MU, SIGMA, exact_score

from genarena.diffusion.samplers import sample
from genarena.diffusion.sde import DDPM, VESDE, VPSDE
from genarena.errors import UserError

CASES = [("em", VESDE(0.01, 20.0), 1000), ("pc", VESDE(0.01, 20.0), 1000),
         ("ode", VESDE(0.01, 20.0), 200), ("em", VPSDE(), 1000), ("pc", VPSDE(), 1000),
         ("ode", VPSDE(), 200), ("ddpm", DDPM(), 1000), ("ddpm", DDPM(), 250)]


@pytest.mark.parametrize("name,sde,nfe", CASES,
                         ids=[f"{n}-{s.name}-{k}" for n, s, k in CASES])
def test_sampler_matches_gaussian_target(name, sde, nfe):
    x = sample(name, sde, exact_score(sde), (4000, 2), nfe, torch.Generator().manual_seed(0))
    x = x.double()
    assert torch.allclose(x.mean(0), MU, atol=0.08), x.mean(0)
    assert torch.allclose(torch.cov(x.T), SIGMA, atol=0.12), torch.cov(x.T)


def test_ddpm_sampler_needs_the_ddpm_schedule():
    with pytest.raises(UserError, match="ddpm"):
        sample("ddpm", VPSDE(), exact_score(VPSDE()), (4, 2), 10, torch.Generator())


def test_samplers_are_deterministic_for_a_seed():
    sde = VPSDE()
    a = sample("pc", sde, exact_score(sde), (10, 2), 20, torch.Generator().manual_seed(3))
    b = sample("pc", sde, exact_score(sde), (10, 2), 20, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
