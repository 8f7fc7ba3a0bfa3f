"""Classifier-based scores: inception score, class-histogram TVD, classes covered, mode reverse KL."""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor


def inception_score(probs: Tensor, splits: int = 1, shuffle_seed: int | None = None) -> float:
    """exp E_x KL(p(y|x) ‖ p(y)), averaged over `splits` parts (Salimans 2016). Parts are cut at
    i·N // splits, after a NumPy RandomState(shuffle_seed) permutation when one is given: as
    torch-fidelity (seed 2020), so its inception scores are reproduced; with fewer samples than
    splits, one part per sample."""
    probs = probs.double()
    if shuffle_seed is not None:
        probs = probs[torch.from_numpy(np.random.RandomState(shuffle_seed).permutation(len(probs)))]
    n, scores = len(probs), []
    splits = max(1, min(splits, n))           # never an empty part, however few the samples
    for i in range(splits):
        part = probs[i * n // splits:(i + 1) * n // splits]
        marginal = part.mean(0, keepdim=True)
        kl = (part * (part.clamp_min(1e-30).log() - marginal.clamp_min(1e-30).log())).sum(1)
        scores.append(math.exp(float(kl.mean())))
    return sum(scores) / len(scores)


def histogram(labels: Tensor, k: int) -> Tensor:
    """Normalised counts of integer labels 0..k-1 (float64)."""
    counts = torch.bincount(labels.flatten(), minlength=k).double()
    return counts / counts.sum().clamp_min(1)


def tvd(fake_labels: Tensor, real_labels: Tensor, k: int) -> float:
    """Total variation distance between predicted-class histograms: ½ Σ |q - p|."""
    return float(0.5 * (histogram(fake_labels, k) - histogram(real_labels, k)).abs().sum())


def classes_covered(labels: Tensor, k: int, min_share: float = 0.1) -> int:
    """Classes predicted for at least `min_share` of their uniform share (1/k) of the samples."""
    return int((histogram(labels, k) >= min_share / k).sum())


def modes_and_reverse_kl(labels: Tensor, k: int) -> tuple[int, float]:
    """(modes hit by at least one sample, KL(q ‖ uniform)) over k equally likely modes."""
    q = histogram(labels, k)
    nz = q > 0
    return int(nz.sum()), float((q[nz] * (q[nz] * k).log()).sum())
