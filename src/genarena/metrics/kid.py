"""Kernel Inception Distance (Bińkowski et al. 2018): the unbiased MMD² between two feature sets
under the cubic polynomial kernel k(x, y) = (x·y / d + 1)³, averaged over random subsets.

Unlike FID it has no bias at small sample counts, so it can compare runs scored on a few hundred
samples. Subsets follow torch-fidelity (100 subsets of 1 000, drawn without replacement by
NumPy's RandomState(2020), first set then second), so the same features give its numbers; with
fewer samples than 1 000 the subsets shrink to the smaller set. Computed in float64.
"""
from __future__ import annotations

import numpy as np
from torch import Tensor

SUBSETS = 100
SUBSET_SIZE = 1000
SEED = 2020                       # torch-fidelity's rng_seed


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(x·y / d + 1)³ for every pair of rows (cubed by products: 7× faster than a power)."""
    k = x @ y.T
    k /= x.shape[1]
    k += 1.0
    return k * k * k


def mmd2_unbiased(k_xx: np.ndarray, k_xy: np.ndarray, k_yy: np.ndarray) -> float:
    """The unbiased MMD² of two equal-size samples from their kernel matrices: the within-set
    means leave the diagonal out, the cross-set mean keeps every pair."""
    m = len(k_xx)
    within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(within - 2 * k_xy.sum() / (m * m))


def kid(real: Tensor, fake: Tensor, subsets: int = SUBSETS, subset_size: int = SUBSET_SIZE,
        seed: int = SEED) -> tuple[float, float]:
    """(mean, sd) of the unbiased MMD² over `subsets` random subsets (NaN when either set has
    fewer than two samples)."""
    size = min(subset_size, len(real), len(fake))
    if size < 2:
        return float("nan"), float("nan")
    x, y = (f.double().flatten(1).cpu().numpy() for f in (real, fake))
    rng = np.random.RandomState(seed)
    values = np.empty(subsets)
    for i in range(subsets):
        a = x[rng.choice(len(x), size, replace=False)]
        b = y[rng.choice(len(y), size, replace=False)]
        values[i] = mmd2_unbiased(polynomial_kernel(a, a), polynomial_kernel(a, b),
                                  polynomial_kernel(b, b))
    return float(values.mean()), float(values.std())
