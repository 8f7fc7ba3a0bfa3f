"""Exponential moving average of generator weights, with the half-life counted in images."""
from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """A frozen copy of a model that trails it: θ_ema ← β θ_ema + (1-β) θ, β = 0.5^(batch/half-life)."""

    def __init__(self, model: nn.Module, half_life_images: float, batch_size: int) -> None:
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        self.beta = 0.5 ** (batch_size / half_life_images)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        for p_ema, p in zip(self.model.parameters(), model.parameters()):
            p_ema.lerp_(p, 1.0 - self.beta)
        for b_ema, b in zip(self.model.buffers(), model.buffers()):
            b_ema.copy_(b)
