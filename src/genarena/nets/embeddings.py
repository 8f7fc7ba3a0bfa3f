"""Time embeddings for noise-conditional nets (score nets and classifiers)."""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class GaussianFourierEmbedding(nn.Module):
    """[sin 2πWt, cos 2πWt] with fixed random W ~ N(0, scale²) (Tancik 2020; Song 2021)."""

    def __init__(self, dim: int = 128, scale: float = 16.0) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(0)       # fixed: part of the architecture
        self.w: Tensor
        self.register_buffer("w", torch.randn(dim // 2, generator=generator) * scale)

    def forward(self, t: Tensor) -> Tensor:
        proj = t[:, None] * self.w[None, :] * 2 * math.pi
        return torch.cat([proj.sin(), proj.cos()], dim=1)


class TimeEmbedding(nn.Module):
    """Fourier features of t in [0, 1] followed by a two-layer MLP."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(GaussianFourierEmbedding(dim), nn.Linear(dim, dim), nn.SiLU(),
                                 nn.Linear(dim, dim))

    def forward(self, t: Tensor) -> Tensor:
        return self.net(t)
