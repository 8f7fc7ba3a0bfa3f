"""One evaluation for every method: the same summary keys whoever made the samples (SPEC 7)."""
from __future__ import annotations

import math
from typing import Any, Callable

from torch import Tensor

from genarena.data.base import Dataset
from genarena.metrics.distances import sliced_wasserstein
from genarena.metrics.modes import mode_metrics

SampleFn = Callable[[int], Tensor]

# Which direction is better, for tables and comparisons.
HIGHER_IS_BETTER = {"modes_captured": True, "high_quality_fraction": True, "reverse_kl": False,
                    "swd": False}


def evaluate(sample: SampleFn, dataset: Dataset, n: int, seed: int) -> dict[str, Any]:
    """Metrics of `n` generated samples against the dataset's reference (exact draws / test split)."""
    fake = sample(n).detach().cpu().float()
    out: dict[str, Any] = {"n_samples": n}
    if dataset.modes is not None:
        out.update(mode_metrics(fake, dataset.modes))
    if fake[0].numel() <= 64:
        real, _ = dataset.reference(n, seed)
        out["swd"] = sliced_wasserstein(fake, real, seed=seed)
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in out.items()}
