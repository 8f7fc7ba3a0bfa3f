"""Latent codes drawn from an explicit generator, never from global RNG state."""
from __future__ import annotations

from types import MappingProxyType
from typing import Callable, Mapping

import torch
from torch import Tensor

# model.z_dist -> (n, z_dim, rng) -> n codes (drawn on the CPU generator)
LATENTS: Mapping[str, Callable[[int, int, torch.Generator], Tensor]] = MappingProxyType({
    "normal": lambda n, z_dim, rng: torch.randn(n, z_dim, generator=rng),
    "uniform": lambda n, z_dim, rng: torch.rand(n, z_dim, generator=rng) * 2 - 1,
})


def sample_latent(n: int, z_dim: int, dist: str, rng: torch.Generator,
                  device: torch.device | str = "cpu") -> Tensor:
    """n codes from N(0, I) or U[-1, 1]^z_dim."""
    return LATENTS[dist](n, z_dim, rng).to(device)
