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
        """One step toward `model`: a few fused kernels for all tensors (one per tensor on a GPU
        was a launch each)."""
        torch._foreach_lerp_(list(self.model.parameters()), list(model.parameters()),
                             1.0 - self.beta)
        buffers = list(self.model.buffers())
        if buffers:
            torch._foreach_copy_(buffers, list(model.buffers()))
