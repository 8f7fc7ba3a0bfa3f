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


def _subset_sums(a: np.ndarray, b: np.ndarray, in_a: np.ndarray, in_b: np.ndarray,
                 block: int = 1024) -> np.ndarray:
    """For every subset i, the sum of k(x, y) over x in a's subset i and y in b's subset i:
    s_aᵢᵀ K s_bᵢ with 0/1 membership columns, K built a block of rows at a time. One pass over
    the kernel for all subsets: 10× fewer operations than a kernel matrix per subset."""
    total = np.zeros(in_a.shape[1])
    for start in range(0, len(a), block):
        rows = slice(start, start + block)
        total += ((polynomial_kernel(a[rows], b) @ in_b) * in_a[rows]).sum(0)
    return total


def _members(n: int, chosen: list[np.ndarray]) -> np.ndarray:
    """n × subsets 0/1 matrix: column i marks the rows in subset i."""
    out = np.zeros((n, len(chosen)))
    for i, rows in enumerate(chosen):
        out[rows, i] = 1.0
    return out


def kid(real: Tensor, fake: Tensor, subsets: int = SUBSETS, subset_size: int = SUBSET_SIZE,
        seed: int = SEED) -> tuple[float, float]:
    """(mean, sd) of the unbiased MMD² over `subsets` random subsets (NaN when either set has
    fewer than two samples). Each subset's estimate is mmd2_unbiased of its kernel matrices,
    computed from sums over membership vectors instead of the matrices themselves."""
    m = min(subset_size, len(real), len(fake))
    if m < 2:
        return float("nan"), float("nan")
    x, y = (f.double().flatten(1).cpu().numpy() for f in (real, fake))
    rng = np.random.RandomState(seed)
    picks = [(rng.choice(len(x), m, replace=False), rng.choice(len(y), m, replace=False))
             for _ in range(subsets)]
    in_x, in_y = _members(len(x), [p for p, _ in picks]), _members(len(y), [q for _, q in picks])
    d = x.shape[1]
    diag_x = ((x * x).sum(1) / d + 1.0) ** 3 @ in_x          # each subset's trace of K_xx
    diag_y = ((y * y).sum(1) / d + 1.0) ** 3 @ in_y
    within = (_subset_sums(x, x, in_x, in_x) - diag_x + _subset_sums(y, y, in_y, in_y) - diag_y)
    values = within / (m * (m - 1)) - 2 * _subset_sums(x, y, in_x, in_y) / (m * m)
    return float(values.mean()), float(values.std())
