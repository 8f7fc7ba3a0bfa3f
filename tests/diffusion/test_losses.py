"""DSM and DLSM losses are minimal at the exact scores (Gaussian data and a Gaussian mixture)."""
import math

import pytest
import torch
from gaussian_scores import MU, SIGMA, ExactNoiseNet
from torch import nn

from genarena.diffusion.classifier import classifier_loss, guided_score, log_likelihood_grad
from genarena.diffusion.dsm import dsm_loss, score_fn
from genarena.diffusion.sde import VESDE, VPSDE


class Scaled(nn.Module):
    """ε̂ = (1 + δ)·exact: δ = 0 is the exact score."""

    def __init__(self, base, delta):
        super().__init__()
        self.base, self.delta = base, delta

    def forward(self, x, t):
        return (1 + self.delta) * self.base(x, t)


@pytest.mark.parametrize("sde", [VPSDE(), VESDE(0.01, 10.0)], ids=["vp", "ve"])
def test_dsm_loss_is_minimal_at_the_exact_score(sde):
    rng = torch.Generator().manual_seed(0)
    x0 = MU.float() + torch.randn(20_000, 2, generator=rng) @ torch.linalg.cholesky(SIGMA).T.float()
    exact = ExactNoiseNet(sde)

    def loss(delta):
        return dsm_loss(Scaled(exact, delta), sde, x0, torch.Generator().manual_seed(0)).item()

    base = loss(0.0)
    assert base < loss(0.1) and base < loss(-0.1)
    # the loss is quadratic in δ; its minimiser −slope/curvature sits at δ ≈ 0 (sampling noise
    # of 20 000 draws moves it by < 0.01: measured 0.002–0.009 over seeds)
    slope = (loss(0.01) - loss(-0.01)) / 0.02
    curvature = (loss(0.1) + loss(-0.1) - 2 * base) / 0.01
    assert abs(slope / curvature) < 0.02


# Two classes with p(x|c) = N(m_c, I), p(c) = 1/2: every noisy quantity is analytic.
MEANS = torch.tensor([[-2.0, 0.0], [2.0, 1.0]])


class ExactNoisyClassifier(nn.Module):
    """logits log p(c | x_t) = −‖x − a m_c‖² / 2(a² + s²) (+ const), optionally scaled by k."""

    def __init__(self, sde, k=1.0):
        super().__init__()
        self.sde, self.k = sde, k

    def forward(self, x, t):
        a, s = self.sde.marginal(t)
        var = (a ** 2 + s ** 2)[:, None]
        d2 = ((x[:, None, :] - a[:, None, None] * MEANS[None]) ** 2).sum(-1)
        return -self.k * d2 / (2 * var)


def mixture_score(sde):
    """∇ log p_t(x) of the two-component mixture."""
    def score(x, t):
        a, s = sde.marginal(t)
        var = (a ** 2 + s ** 2)[:, None]
        centres = a[:, None, None] * MEANS[None]
        w = torch.softmax(-((x[:, None] - centres) ** 2).sum(-1) / (2 * var), dim=1)
        return ((w[:, :, None] * (centres - x[:, None])).sum(1)) / var
    return score


def test_dlsm_is_minimal_for_the_true_likelihood_gradient():
    sde = VPSDE()
    rng = torch.Generator().manual_seed(0)
    y = torch.randint(2, (20_000,), generator=rng)
    x0 = MEANS[y] + torch.randn(20_000, 2, generator=rng)

    def loss(k):
        value, _ = classifier_loss("dlsm", ExactNoisyClassifier(sde, k), mixture_score(sde), sde,
                                   x0, y, torch.Generator().manual_seed(1))
        return value.item()

    base = loss(1.0)
    assert base < loss(1.3) and base < loss(0.7)
    assert abs(loss(1.02) - loss(0.98)) < 0.05 * (loss(1.3) - base)


def test_exact_classifier_gradient_is_the_likelihood_score():
    sde = VPSDE()
    x = torch.randn(5, 2)
    t = torch.full((5,), 0.4)
    y = torch.tensor([0, 1, 0, 1, 1])
    a, s = sde.marginal(t)
    var = (a ** 2 + s ** 2)[:, None]
    own = -(x - a[:, None] * MEANS[y]) / var
    posterior_score = own - mixture_score(sde)(x, t)      # ∇ log p(y|x) = ∇ log p(x|y) − ∇ log p(x)
    grad = log_likelihood_grad(ExactNoisyClassifier(sde), x, t, y)
    assert torch.allclose(grad, posterior_score, atol=1e-5)
    guided = guided_score(mixture_score(sde), ExactNoisyClassifier(sde), y, 1.0)(x, t)
    assert torch.allclose(guided, own, atol=1e-5)


def test_total_combines_dlsm_and_weighted_ce():
    sde = VPSDE()
    x0, y = torch.randn(64, 2), torch.randint(2, (64,))
    clf = ExactNoisyClassifier(sde, 0.8)
    kw = dict(classifier=clf, score=mixture_score(sde), sde=sde, x0=x0, y=y)
    total, st = classifier_loss("total", rng=torch.Generator().manual_seed(0), ce_weight=0.125, **kw)
    assert total.item() == pytest.approx(st["dlsm"] + 0.125 * st["ce"], rel=1e-5)
    ce, st_ce = classifier_loss("ce", rng=torch.Generator().manual_seed(0), **kw)
    assert st_ce["ce"] == pytest.approx(st["ce"]) and "dlsm" not in st_ce
    assert math.isfinite(total.item())


def test_dlsm_backpropagates_into_the_classifier():
    sde = VPSDE()
    net = nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Linear(16, 2))
    clf = lambda x, t: net(torch.cat([x, t[:, None]], 1))  # noqa: E731
    x, y = torch.randn(32, 2), torch.randint(2, (32,))
    loss, _ = classifier_loss("dlsm", clf, mixture_score(sde), sde, x, y,
                              torch.Generator().manual_seed(0))
    loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net[0].parameters())
    # and it is the gradient of the loss: a small step against it lowers the loss (same draws)
    with torch.no_grad():
        for p in net.parameters():
            p -= 1e-3 * p.grad
    after, _ = classifier_loss("dlsm", clf, mixture_score(sde), sde, x, y,
                               torch.Generator().manual_seed(0))
    assert after.item() < loss.item()


def test_score_fn_divides_by_the_noise_scale():
    sde = VESDE(0.01, 10.0)
    net = lambda x, t: torch.ones_like(x)  # noqa: E731
    t = torch.tensor([1.0])
    assert torch.allclose(score_fn(net, sde)(torch.zeros(1, 2), t), torch.full((1, 2), -0.1))


def test_dlsm_reductions_are_the_sum_and_the_papers_half_mean_of_the_same_squares():
    """dlsm-toy's ½·mean over the 2 dimensions is a quarter of the sum over them; w = 2 weights
    each sample's squares by σ⁴ where w = 1 weights them by σ²."""
    sde = VESDE(0.01, 10.0)
    x0, y = torch.randn(64, 2), torch.randint(2, (64,))
    clf = ExactNoisyClassifier(sde, 0.8)
    kw = dict(classifier=clf, score=mixture_score(sde), sde=sde, x0=x0, y=y)
    summed, _ = classifier_loss("dlsm", rng=torch.Generator().manual_seed(0), **kw)
    half, _ = classifier_loss("dlsm", rng=torch.Generator().manual_seed(0), reduction="half-mean",
                              **kw)
    assert half.item() == pytest.approx(summed.item() / 4, rel=1e-6)
    # by hand: the residual of one draw, then the σ⁴-weighted half-mean
    rng = torch.Generator().manual_seed(0)
    t = sde.sample_t(64, rng)
    z = torch.randn(x0.shape, generator=rng)
    xt, s = sde.perturb(x0, t, z)
    grad = log_likelihood_grad(clf, xt, t, y)
    residual = (grad + mixture_score(sde)(xt, t) + z / s) * s ** 2
    expected = (0.5 * residual.pow(2).mean(1)).mean()
    paper, _ = classifier_loss("dlsm", rng=torch.Generator().manual_seed(0), weight_power=2.0,
                               reduction="half-mean", **kw)
    assert paper.item() == pytest.approx(expected.item(), rel=1e-5)
