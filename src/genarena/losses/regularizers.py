"""Discriminator regularizers: R1, the WGAN-GP gradient penalty, and weight clipping.

They take D as a callable on unpacked samples, so PacGAN packing stays inside the critic, and
they measure what the critic actually judges: with packing (`pack` = m), m consecutive samples are
one input of D, so the gradient norm is taken over the pack's whole input and the interpolation
ε of the gradient penalty is drawn once per pack. A multi-scale D takes a list of tensors (an
image pyramid); the gradient is then over every level of a sample (one ε for all its levels).
"""
from __future__ import annotations

from typing import Callable, Union

import torch
from torch import Tensor, nn

Sample = Union[Tensor, list[Tensor]]
Critic = Callable[[Sample], Tensor]


def _batch(x: Sample) -> int:
    return (x[0] if isinstance(x, list) else x).shape[0]


def _input_grad(critic: Critic, x: Sample, pack: int = 1) -> Tensor:
    """∇_x Σ D(x) per decision of D: (B/pack, pack·features), kept in the graph so the penalty can
    be back-propagated (double backprop)."""
    parts = [t.detach().requires_grad_(True) for t in (x if isinstance(x, list) else [x])]
    out = critic(parts if isinstance(x, list) else parts[0])
    grads = torch.autograd.grad(out.sum(), parts, create_graph=True)
    flat = torch.cat([g.flatten(1) for g in grads], dim=1)
    return flat.reshape(flat.shape[0] // pack, -1)


def r1_penalty(critic: Critic, real: Sample, pack: int = 1) -> Tensor:
    """E‖∇D(x)‖² on reals, per decision of D (multiply by γ/2 for R1; Mescheder 2018)."""
    return _input_grad(critic, real, pack).pow(2).sum(1).mean()


def _interpolate(real: Tensor, fake: Tensor, eps: Tensor) -> Tensor:
    e = eps.reshape(eps.shape[0], *([1] * (real.dim() - 1))).to(real.dtype)
    return e * real.detach() + (1 - e) * fake.detach()


def gradient_penalty(critic: Critic, real: Sample, fake: Sample,
                     generator: torch.Generator | None = None, pack: int = 1) -> Tensor:
    """E(‖∇D(x̂)‖ - 1)² with x̂ = εx + (1-ε)G(z), ε ~ U[0,1] per decision of D (Gulrajani 2017)."""
    first = real[0] if isinstance(real, list) else real
    # drawn by the (CPU) generator, then placed beside the samples: the same ε on any device
    eps = torch.rand(_batch(real) // pack, 1, generator=generator, dtype=first.dtype)
    eps = eps.to(first.device).repeat_interleave(pack, dim=0).flatten()
    if isinstance(real, list):
        assert isinstance(fake, list)
        mixed: Sample = [_interpolate(r, f, eps) for r, f in zip(real, fake)]
    else:
        assert isinstance(fake, Tensor)
        mixed = _interpolate(real, fake, eps)
    return (_input_grad(critic, mixed, pack).norm(dim=1) - 1).pow(2).mean()


@torch.no_grad()
def clip_weights(module: nn.Module, bound: float) -> None:
    """Clamp every parameter of `module` to [-bound, bound] (WGAN's Lipschitz constraint)."""
    params: list[Tensor] = list(module.parameters())
    if params:
        torch._foreach_clamp_min_(params, -bound)
        torch._foreach_clamp_max_(params, bound)
