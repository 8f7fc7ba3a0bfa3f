"""Latent codes drawn from an explicit generator, never from global RNG state."""
from __future__ import annotations

import torch
from torch import Tensor


def sample_latent(n: int, z_dim: int, dist: str, rng: torch.Generator,
                  device: torch.device | str = "cpu") -> Tensor:
    """n codes from N(0, I) or U[-1, 1]^z_dim."""
    if dist == "uniform":
        z = torch.rand(n, z_dim, generator=rng) * 2 - 1
    else:
        z = torch.randn(n, z_dim, generator=rng)
    return z.to(device)
