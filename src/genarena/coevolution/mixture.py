"""Generator mixtures (SPEC 5.1): sampling with weights, the score that judges them, and the
(1+1)-ES that evolves the weights.

The score is a distance to the real data (lower is better): FID on the dataset's classifier
features for labelled images, the sliced Wasserstein distance otherwise. It is measured against
the training data, never the test split the final evaluation uses.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from genarena.data.base import Dataset
from genarena.metrics import is_image_dataset
from genarena.metrics.distances import sliced_wasserstein
from genarena.metrics.features import feature_extractor
from genarena.metrics.fid import frechet_distance, gaussian_fit
from genarena.train.generative import Generative

MIXTURE_SCORES = ("auto", "fid", "swd")


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


class MixtureScorer:
    """Distance of n generated samples to the training data (lower is better)."""

    def __init__(self, dataset: Dataset, kind: str, n: int, seed: int, cache_dir: str = "") -> None:
        if kind == "auto":
            kind = "fid" if is_image_dataset(dataset) else "swd"
        self.kind, self.n, self.seed = kind, n, seed
        real = _training_sample(dataset, max(n, 2000), seed)
        if kind == "fid":
            self.extractor = feature_extractor(dataset, cache_dir)
            self.real_stats = gaussian_fit(self.extractor.features(real))
        else:
            self.real = real.flatten(1)

    def __call__(self, model: Generative) -> float:
        """The score of n samples drawn with a fixed seed (common random numbers across calls,
        so that two weightings are compared on the same latent codes)."""
        fake = model.generate(self.n, torch.Generator().manual_seed(self.seed))
        if self.kind == "fid":
            mu, cov = gaussian_fit(self.extractor.features(fake))
            return frechet_distance(*self.real_stats, mu, cov)
        return sliced_wasserstein(fake.flatten(1), self.real, seed=self.seed)


def _training_sample(dataset: Dataset, n: int, seed: int) -> Tensor:
    if dataset.sampler is not None:
        return dataset.sampler(n, torch.Generator().manual_seed(seed))[0]
    assert dataset.train_x is not None
    idx = torch.randperm(len(dataset.train_x), generator=torch.Generator().manual_seed(seed))[:n]
    return dataset.train_x[idx]


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
