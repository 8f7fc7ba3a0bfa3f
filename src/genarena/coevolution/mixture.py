"""Generator mixtures (docs/coevolution.md): sampling with weights and the (1+1)-ES that evolves the
weights. A mixture is scored by `metrics.proxy.TrainingDistance` (lower is better)."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from genarena.generative import Generative


def component_counts(weights: Tensor, n: int, rng: torch.Generator) -> Tensor:
    """How many of n samples each component draws: a multinomial draw with these weights."""
    picks = torch.multinomial(weights.double(), n, replacement=True, generator=rng)
    return torch.bincount(picks, minlength=len(weights))


class MixtureGenerator:
    """Samples from generator i with probability w_i (the coevolution run's model)."""

    conditional = False

    def __init__(self, members: Sequence[Generative], weights: Sequence[float]) -> None:
        w = torch.tensor(list(weights), dtype=torch.float64).clamp_min(0)
        if len(members) != len(w) or float(w.sum()) <= 0:
            raise ValueError("a mixture needs one non-negative weight per member, not all zero")
        self.members, self.weights = list(members), w / w.sum()

    @torch.no_grad()
    def generate(self, n: int, rng: torch.Generator, labels: Tensor | None = None) -> Tensor:
        counts = component_counts(self.weights, n, rng)
        parts = [m.generate(int(k), rng) for m, k in zip(self.members, counts) if k > 0]
        x = torch.cat(parts)
        return x[torch.randperm(n, generator=rng)]      # members interleaved, not in blocks


def es_step(weights: Sequence[float], score: float, evaluate: Callable[[Sequence[float]], float],
            sigma: float, rng: torch.Generator) -> tuple[list[float], float]:
    """One (1+1)-ES step: w' = renormalise(max(0, w + N(0, σ²))); keep w' only if it scores
    strictly better (lower) than `score`, the current weights' score."""
    w = torch.tensor(list(weights), dtype=torch.float64)
    child = (w + sigma * torch.randn(len(w), generator=rng, dtype=torch.float64)).clamp_min(0)
    if float(child.sum()) <= 0:
        return list(weights), score
    child = child / child.sum()
    child_score = evaluate(child.tolist())
    if np.isfinite(child_score) and child_score < score:
        return child.tolist(), child_score
    return list(weights), score
