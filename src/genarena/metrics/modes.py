"""Mode metrics for data with known mixture modes (docs/foundation.md; the VEEGAN / PacGAN protocol)."""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from genarena.data.base import ModeInfo


def nearest_modes(samples: Tensor, centres: Tensor, chunk: int = 8192) -> tuple[Tensor, Tensor]:
    """(index of the nearest centre, its Euclidean distance) per sample, in chunks."""
    idx, dist = [], []
    c = centres.to(torch.float64)
    for part in samples.to(torch.float64).split(chunk):
        d = torch.cdist(part, c)
        m, i = d.min(1)
        idx.append(i)
        dist.append(m)
    return torch.cat(idx), torch.cat(dist)


def mode_metrics(samples: Tensor, modes: ModeInfo, n_sigma: float = 3.0) -> dict[str, float]:
    """modes_captured, high_quality_fraction and reverse KL(q‖p) of the mode histogram.

    A sample is high quality when within n_sigma·σ of its nearest mode; q is the histogram of the
    high-quality samples' nearest modes, p the true mode weights. With no high-quality sample the
    reverse KL is undefined and reported as NaN.
    """
    samples = samples.flatten(1)
    idx, dist = nearest_modes(samples, modes.centres)
    good = dist <= n_sigma * modes.std
    k = len(modes.centres)
    counts = torch.bincount(idx[good], minlength=k).to(torch.float64)
    n_good = float(counts.sum())
    if n_good > 0:
        q = counts / n_good
        p = modes.weights.to(torch.float64)
        nz = q > 0
        rkl = float((q[nz] * (q[nz] / p[nz]).log()).sum())
    else:
        rkl = math.nan
    return {
        "modes_captured": int((counts > 0).sum()),
        "modes_total": k,
        "high_quality_fraction": float(good.double().mean()),
        "reverse_kl": rkl,
    }


def ranked_reverse_kl(metrics: dict[str, float | None]) -> float | None:
    """A run's reverse KL for comparing runs: a run that captured no mode has none (NaN), and
    dropping it would hide its collapse from a mean over seeds, so it is ranked at log K, the
    worst value of any run that captured something (a point mass on one mode)."""
    value = metrics.get("reverse_kl")
    if isinstance(value, float) and math.isfinite(value):
        return value
    total = metrics.get("modes_total")
    if metrics.get("modes_captured") == 0 and total:
        return math.log(float(total))
    return None


def ranked_value(metrics: dict[str, Any], name: str) -> Any:
    """A run's metric `name` as boards, curves and claims compare runs: the reverse KL ranked
    (ranked_reverse_kl), every other metric as recorded."""
    return ranked_reverse_kl(metrics) if name == "reverse_kl" else metrics.get(name)
