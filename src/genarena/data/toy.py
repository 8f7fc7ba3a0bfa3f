"""Toy 2-D sets with exact samplers: ring8, grid25 (PacGAN / VEEGAN protocol) and two moons."""
from __future__ import annotations

import math

import torch
from torch import Tensor

from genarena.data.base import Dataset, ModeInfo


def ring8_centres() -> Tensor:
    """(cos 2πk/8, sin 2πk/8), k = 0..7: eight distinct points (linspace(0, 2π, 8) gives seven)."""
    angles = 2 * math.pi * torch.arange(8, dtype=torch.float64) / 8
    return torch.stack([angles.cos(), angles.sin()], 1).float()


def grid25_centres() -> Tensor:
    """{-4, -2, 0, 2, 4}², row-major."""
    axis = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0])
    gx, gy = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([gx.flatten(), gy.flatten()], 1)


def gaussian_mixture(name: str, centres: Tensor, std: float) -> Dataset:
    """An equal-weight isotropic Gaussian mixture with an exact sampler; labels are component ids."""
    k = len(centres)

    def sample(n: int, rng: torch.Generator) -> tuple[Tensor, Tensor]:
        comp = torch.randint(k, (n,), generator=rng)
        return centres[comp] + std * torch.randn(n, centres.shape[1], generator=rng), comp

    modes = ModeInfo(centres=centres, std=std, weights=torch.full((k,), 1.0 / k))
    return Dataset(name=name, sample_shape=(centres.shape[1],), num_classes=k, modes=modes, sampler=sample)


def moons_sample(n: int, rng: torch.Generator) -> tuple[Tensor, Tensor]:
    """Exact two-moons draws: sklearn's make_moons(noise=0) curves, centred, scaled ×20."""
    label = torch.randint(2, (n,), generator=rng)
    t = math.pi * torch.rand(n, generator=rng)
    outer = torch.stack([t.cos(), t.sin()], 1)
    inner = torch.stack([1 - t.cos(), 0.5 - t.sin()], 1)
    x = torch.where(label[:, None] == 0, outer, inner)
    return 20 * (x - torch.tensor([0.5, 0.25], device=x.device)), label


def ring8() -> Dataset:
    return gaussian_mixture("ring8", ring8_centres(), 0.01)


def grid25() -> Dataset:
    return gaussian_mixture("grid25", grid25_centres(), 0.05)


def moons() -> Dataset:
    return Dataset(name="moons", sample_shape=(2,), num_classes=2, sampler=moons_sample)
