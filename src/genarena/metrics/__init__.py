"""One evaluation for every method: the same summary keys whoever made the samples (docs/arena.md)."""
from __future__ import annotations

import math
from typing import Any, Callable

import torch
from torch import Tensor

from genarena.config import EvalConfig
from genarena.data.base import Dataset
from genarena.metrics.conditional import LabelSampleFn, conditional_metrics
from genarena.metrics.distances import sliced_wasserstein
from genarena.metrics.images import image_metrics
from genarena.metrics.modes import mode_metrics

SampleFn = Callable[[int], Tensor]


def is_image_dataset(dataset: Dataset) -> bool:
    """Images with labels (or stacked digits) get the classifier-feature metrics of docs/images.md."""
    return len(dataset.sample_shape) == 3 and (dataset.num_classes >= 2 or "digits" in dataset.extra)


def evaluate(sample: SampleFn, dataset: Dataset, cfg: EvalConfig, seed: int,
             n: int | None = None, sample_label: LabelSampleFn | None = None,
             memo: dict[Any, Any] | None = None,
             device: torch.device | None = None) -> dict[str, Any]:
    """Metrics of n (default eval.n_samples) generated samples against the dataset's reference;
    a conditional model (sample_label(n, y)) adds the class-conditional metrics. `memo`: one
    dict across a run's evaluations, so the reference's side is computed once. `device`: where
    the feature networks and k-NN distances run (a run's own device; None: the CPU)."""
    n = n or cfg.n_samples
    fake = sample(n).detach().cpu().float()
    out: dict[str, Any] = {"n_samples": n}
    if sample_label is not None:
        out.update(conditional_metrics(sample_label, dataset, cfg, seed, n, device))
    if is_image_dataset(dataset):
        out.update(image_metrics(fake, dataset, cfg, seed, memo, device))
    if dataset.modes is not None:
        out.update(mode_metrics(fake, dataset.modes))
    unlabelled_images = len(dataset.sample_shape) == 3 and not is_image_dataset(dataset)
    if fake[0].numel() <= 64 or unlabelled_images:
        real, _ = dataset.reference(n, seed)
        out["swd"] = sliced_wasserstein(fake, real, seed=seed)
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in out.items()}
