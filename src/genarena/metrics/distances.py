"""Sample-to-sample distances for low-dimensional data without known modes."""
from __future__ import annotations

import torch
from torch import Tensor


def sliced_wasserstein(a: Tensor, b: Tensor, n_projections: int = 128, seed: int = 0) -> float:
    """Sliced 1-Wasserstein distance between two equal-size sample sets (random unit directions),
    computed on `a`'s device (the directions are drawn on the CPU, so every device uses the same)."""
    a, b = a.flatten(1).double(), b.flatten(1).double().to(a.device)
    n = min(len(a), len(b))
    rng = torch.Generator().manual_seed(seed)
    dirs = torch.randn(a.shape[1], n_projections, generator=rng, dtype=torch.float64).to(a.device)
    dirs /= dirs.norm(dim=0, keepdim=True)
    pa = (a[:n] @ dirs).sort(0).values
    pb = (b[:n] @ dirs).sort(0).values
    return float((pa - pb).abs().mean())
