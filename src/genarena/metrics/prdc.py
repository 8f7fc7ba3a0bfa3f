"""Precision, recall, density and coverage (Naeem et al. 2020) with chunked distances.

No N×N matrix is ever held: distances are computed a block of rows at a time.
"""
from __future__ import annotations

import torch
from torch import Tensor


def knn_radii(x: Tensor, k: int, chunk: int = 1024) -> Tensor:
    """Distance from each point to its k-th nearest neighbour in the same set (itself excluded).
    topk, not kthvalue: the same values, 8× faster on rows of 10 000 distances (measured)."""
    return torch.cat([torch.cdist(part, x).topk(k + 1, dim=1, largest=False).values[:, -1]
                      for part in x.split(chunk)])


def _as_points(features: Tensor, device: torch.device | None = None) -> Tensor:
    """Features as `prdc` measures them: one flattened float64 row per sample, on `device`
    (None: where they are)."""
    return features.to(device or features.device).double().flatten(1)


def manifold_radii(features: Tensor, k: int = 5, chunk: int = 1024,
                   device: torch.device | None = None) -> Tensor:
    """The k-NN radii of a feature set as `prdc` measures them, for a caller that keeps the
    reference's across evaluations (computed on `device`, returned there)."""
    return knn_radii(_as_points(features, device), k, chunk)


def prdc(real: Tensor, fake: Tensor, k: int = 5, chunk: int = 1024,
         real_radii: Tensor | None = None, device: torch.device | None = None) -> dict[str, float]:
    """The four manifold metrics of fake features against real features, in float64, with the
    distances computed on `device` (a GPU run's: there the k-NN search is most of an evaluation;
    None: where the features are). `real_radii`: manifold_radii(real, k), when the caller kept
    them from an earlier evaluation."""
    real, fake = _as_points(real, device), _as_points(fake, device)   # converted once, here
    r_real = knn_radii(real, k, chunk) if real_radii is None else real_radii.to(real.device)
    r_fake = knn_radii(fake, k, chunk)
    inside_any, inside_count = [], []
    for part in fake.split(chunk):
        within = torch.cdist(part, real) < r_real[None, :]          # fake j inside real ball i
        inside_any.append(within.any(1))
        inside_count.append(within.sum(1))
    recalled, covered = [], []
    for part, radius in zip(real.split(chunk), r_real.split(chunk)):
        d = torch.cdist(part, fake)
        recalled.append((d < r_fake[None, :]).any(1))
        covered.append(d.min(1).values < radius)
    return {
        "precision": float(torch.cat(inside_any).double().mean()),
        "recall": float(torch.cat(recalled).double().mean()),
        "density": float(torch.cat(inside_count).double().mean() / k),
        "coverage": float(torch.cat(covered).double().mean()),
    }
