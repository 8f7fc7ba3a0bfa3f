"""Fréchet distance between Gaussian fits of two feature sets, by the symmetric eigen form.

FD = ‖μ₁-μ₂‖² + tr Σ₁ + tr Σ₂ - 2 tr (Σ₁^½ Σ₂ Σ₁^½)^½, computed in float64 with `eigh` only:
no complex parts from `sqrtm`, no ill-conditioned products of non-symmetric matrices.
"""
from __future__ import annotations

import numpy as np
from torch import Tensor


def gaussian_fit(features: Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(mean, covariance) of (N, D) features in float64."""
    f = features.double().flatten(1).cpu().numpy()
    return f.mean(0), np.cov(f, rowvar=False)


def _sqrt_psd(m: np.ndarray) -> np.ndarray:
    vals, vecs = np.linalg.eigh((m + m.T) / 2)
    return (vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """FD of N(μ₁, Σ₁) and N(μ₂, Σ₂); rounding below zero (identical inputs) is reported as 0."""
    root1 = _sqrt_psd(np.atleast_2d(sigma1))
    middle = root1 @ np.atleast_2d(sigma2) @ root1
    vals = np.linalg.eigvalsh((middle + middle.T) / 2)
    trace_sqrt = np.sqrt(np.clip(vals, 0, None)).sum()
    diff = np.atleast_1d(mu1) - np.atleast_1d(mu2)
    return max(0.0, float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt))


def fid(real_features: Tensor, fake_features: Tensor) -> float:
    """Fréchet distance of the Gaussian fits of two feature sets (NaN, i.e. undefined, when either
    set has fewer than two samples and so no covariance)."""
    if min(len(real_features), len(fake_features)) < 2:
        return float("nan")
    return frechet_distance(*gaussian_fit(real_features), *gaussian_fit(fake_features))


__all__ = ["fid", "frechet_distance", "gaussian_fit"]
