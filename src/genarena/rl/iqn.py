"""Implicit quantile networks (Dabney et al. 2018): Z(s, τ) for sampled quantile fractions τ,
and the quantile Huber loss. Used by the `iqn` balancer and by DFAC's distributional agents."""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class QuantileEmbedding(nn.Module):
    """φ(τ) = ReLU(Linear(cos(π i τ), i = 0..n-1)): the cosine embedding of quantile fractions."""

    def __init__(self, dim: int, n_cos: int = 64) -> None:
        super().__init__()
        self.freqs: Tensor
        self.register_buffer("freqs", math.pi * torch.arange(n_cos, dtype=torch.float32))
        self.linear = nn.Linear(n_cos, dim)

    def forward(self, taus: Tensor, repeat: int = 1) -> Tensor:   # (B, N) -> (B·repeat, N, dim)
        """`repeat`: each row's embedding `repeat` times in a row (the fractions several agents
        share, embedded once)."""
        phi = torch.relu(self.linear(torch.cos(taus[..., None] * self.freqs)))
        return phi.repeat_interleave(repeat, 0) if repeat > 1 else phi


class IQNNetwork(nn.Module):
    """state (B, S), τ (B, N) -> quantile values (B, N, A): f(ψ(s) ⊙ φ(τ))."""

    def __init__(self, state_dim: int, n_actions: int, hidden: int = 64, n_cos: int = 64) -> None:
        super().__init__()
        self.psi = nn.Sequential(nn.Linear(state_dim, hidden), nn.ReLU())
        self.phi = QuantileEmbedding(hidden, n_cos)
        self.head = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, n_actions))

    def forward(self, state: Tensor, taus: Tensor, repeat: int = 1) -> Tensor:
        """state (B·repeat, S), τ (B, N): each row of τ serves `repeat` consecutive states."""
        return self.head(self.psi(state)[:, None, :] * self.phi(taus, repeat))


def quantile_huber_loss(pred: Tensor, target: Tensor, taus: Tensor, kappa: float = 1.0) -> Tensor:
    """ρ^κ_τ(δ) averaged over target samples, summed over predicted quantiles, mean over batch.

    pred (B, N) at fractions taus (B, N); target (B, M) samples of the target distribution.
    """
    delta = target[:, None, :] - pred[:, :, None]                   # (B, N, M)
    abs_d = delta.abs()
    huber = torch.where(abs_d <= kappa, 0.5 * delta ** 2, kappa * (abs_d - 0.5 * kappa))
    weight = (taus[:, :, None] - (delta.detach() < 0).float()).abs()
    return (weight * huber / kappa).mean(2).sum(1).mean()
