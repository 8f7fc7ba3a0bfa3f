"""Denoising score matching with σ² weighting, written as noise prediction (docs/diffusion.md).

With the score parametrised as s(x_t, t) = −ε̂(x_t, t)/s(t), the σ²-weighted DSM loss
E s(t)²‖s(x_t, t) − ∇log p(x_t|x₀)‖² equals E‖ε̂ − z‖²: the same objective as DDPM's ε-MSE.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, nn

from genarena.diffusion.sde import SDE, _bcast


def score_fn(net: nn.Module, sde: SDE) -> Callable[[Tensor, Tensor], Tensor]:
    """s(x, t) = −ε̂(x, t) / s(t) from a noise-prediction net."""
    def score(x: Tensor, t: Tensor) -> Tensor:
        _, s = sde.marginal(t)
        return -net(x, t) / _bcast(s, x)
    return score


def dsm_loss(net: nn.Module, sde: SDE, x0: Tensor, rng: torch.Generator) -> Tensor:
    """E_t,z ‖ε̂(a x₀ + s z, t) − z‖², averaged over dimensions and the batch."""
    t = sde.sample_t(len(x0), rng).to(x0.device)
    z = torch.randn(x0.shape, generator=rng).to(x0.device)
    xt, _ = sde.perturb(x0, t, z)
    return (net(xt, t) - z).pow(2).mean()
