"""Discriminator regularizers: R1, the WGAN-GP gradient penalty, and weight clipping.

They take D as a callable on unpacked samples, so PacGAN packing stays inside the critic.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, nn

Critic = Callable[[Tensor], Tensor]


def _input_grad(critic: Critic, x: Tensor) -> Tensor:
    """∇_x Σ D(x), kept in the graph so the penalty can be back-propagated (double backprop)."""
    x = x.detach().requires_grad_(True)
    out = critic(x)
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    return grad.flatten(1)


def r1_penalty(critic: Critic, real: Tensor) -> Tensor:
    """E‖∇D(x)‖² on reals (multiply by γ/2 for R1; Mescheder 2018)."""
    return _input_grad(critic, real).pow(2).sum(1).mean()


def gradient_penalty(critic: Critic, real: Tensor, fake: Tensor,
                     generator: torch.Generator | None = None) -> Tensor:
    """E(‖∇D(x̂)‖ - 1)² with x̂ = εx + (1-ε)G(z), ε ~ U[0,1] per sample (Gulrajani 2017)."""
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    eps = torch.rand(shape, generator=generator, device=real.device, dtype=real.dtype)
    mixed = eps * real.detach() + (1 - eps) * fake.detach()
    return (_input_grad(critic, mixed).norm(dim=1) - 1).pow(2).mean()


@torch.no_grad()
def clip_weights(module: nn.Module, bound: float) -> None:
    """Clamp every parameter of `module` to [-bound, bound] (WGAN's Lipschitz constraint)."""
    for p in module.parameters():
        p.clamp_(-bound, bound)
