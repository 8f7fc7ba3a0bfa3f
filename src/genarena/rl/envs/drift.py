"""A synthetic balancing task: keep a drifting 'D accuracy' inside its target band.

Each step the accuracy drifts upward (D keeps getting stronger) with noise; actions nudge it
down (weaken D), leave it, or push it up. Reward −|acc − target|. A random policy lets it drift
to 1; a learned one holds it near the target. The RL balancer faces the same problem on real
training statistics.
"""
from __future__ import annotations

import torch
from torch import Tensor

EFFECTS = (0.0, -0.06, 0.06)          # no-op, weaken D, strengthen D


class DriftingAccuracy:
    """state = (acc − target, drift sign of the last step); actions index EFFECTS."""

    n_actions = len(EFFECTS)
    state_dim = 2

    def __init__(self, seed: int, drift: float = 0.02, noise: float = 0.01,
                 target: float = 0.7) -> None:
        self.rng = torch.Generator().manual_seed(seed)
        self.drift, self.noise, self.target = drift, noise, target
        self.acc, self.last = target, 0.0

    def state(self) -> Tensor:
        return torch.tensor([self.acc - self.target, self.last])

    def step(self, action: int) -> tuple[Tensor, float]:
        change = self.drift + EFFECTS[action] + self.noise * torch.randn((), generator=self.rng).item()
        self.acc = min(max(self.acc + change, 0.0), 1.0)
        self.last = 1.0 if change > 0 else -1.0
        return self.state(), -abs(self.acc - self.target)
