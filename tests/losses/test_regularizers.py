"""R1, gradient penalty and weight clipping against closed forms."""
import pytest
import torch
from torch import nn

from genarena.losses import clip_weights, gradient_penalty, r1_penalty


def linear_critic(w):
    return lambda x: x @ w


def test_r1_of_linear_critic_is_squared_weight_norm():
    w = torch.tensor([3.0, 4.0])
    x = torch.randn(16, 2)
    assert r1_penalty(linear_critic(w), x).item() == pytest.approx(25.0)


def test_gradient_penalty_of_linear_critic():
    w = torch.tensor([3.0, 4.0])
    real, fake = torch.randn(16, 2), torch.randn(16, 2)
    assert gradient_penalty(linear_critic(w), real, fake).item() == pytest.approx(16.0)


def test_gradient_penalty_at_interpolates_of_quadratic_critic():
    # D(x) = ½‖x‖² has ∇D(x) = x; with real == fake every interpolate is x itself.
    x = torch.tensor([[3.0, 4.0], [0.0, 0.5]])
    critic = lambda v: 0.5 * (v ** 2).sum(1)  # noqa: E731
    expected = ((5.0 - 1) ** 2 + (0.5 - 1) ** 2) / 2
    assert gradient_penalty(critic, x, x.clone()).item() == pytest.approx(expected)


def test_gradient_penalty_interpolates_between_real_and_fake():
    # D(x) = ½‖x‖²: ‖∇D(x̂)‖ = ‖x̂‖ = |ε·a + (1-ε)·b| for 1-D points a, b; ε drawn from the rng.
    critic = lambda v: 0.5 * (v ** 2).sum(1)  # noqa: E731
    real, fake = torch.full((64, 1), 2.0), torch.full((64, 1), 4.0)
    rng = torch.Generator().manual_seed(3)
    eps = torch.rand(64, 1, generator=torch.Generator().manual_seed(3))
    expected = ((eps * 2 + (1 - eps) * 4).abs().squeeze(1) - 1).pow(2).mean()
    assert gradient_penalty(critic, real, fake, rng).item() == pytest.approx(expected.item())


def test_penalties_backpropagate_into_critic_weights():
    net = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    x, y = torch.randn(8, 2), torch.randn(8, 2)
    (r1_penalty(net, x) + gradient_penalty(net, x, y)).backward()
    # Every weight matrix gets a gradient; the output bias cannot (∇ₓD does not depend on it).
    weights = [p for p in net.parameters() if p.dim() == 2]
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in weights)


def test_clip_weights_bounds_every_parameter():
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(10)
    clip_weights(net, 0.01)
    values = torch.cat([p.flatten() for p in net.parameters()])
    assert values.abs().max().item() == pytest.approx(0.01)
