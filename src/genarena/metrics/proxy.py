"""A cheap distance of a model's samples to the training data, for decisions made during
training: the coevolution mixture ES and the RL balancer's quality proxy (lower is better).

FID on the dataset's classifier features for labelled images, the sliced Wasserstein distance
otherwise. It is measured against training data, never the test split final evaluation uses.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from genarena.data.base import Dataset
from genarena.generative import Generative
from genarena.metrics import is_image_dataset
from genarena.metrics.distances import sliced_wasserstein
from genarena.metrics.features import feature_extractor
from genarena.metrics.fid import frechet_distance, gaussian_fit

PROXY_KINDS = ("auto", "fid", "swd")        # coevolution.mixture_score


class TrainingDistance:
    """Distance of n generated samples to the training data (lower is better)."""

    def __init__(self, dataset: Dataset, kind: str, n: int, seed: int, cache_dir: str = "",
                 device: torch.device | None = None) -> None:
        if kind not in PROXY_KINDS:
            raise ValueError(f"unknown distance {kind!r} (known: {', '.join(PROXY_KINDS)})")
        if kind == "auto":
            kind = "fid" if is_image_dataset(dataset) else "swd"
        self.kind, self.n, self.seed = kind, n, seed
        real = training_sample(dataset, max(n, 2000), seed)
        if kind == "fid":
            self.extractor = feature_extractor(dataset, cache_dir).on(device)
            self.real_stats = gaussian_fit(self.extractor.features(real))
        else:
            self.real = real.flatten(1)

    def reference(self) -> dict[str, Any]:
        """What a copy of this distance in another process needs besides the feature net: the
        training data's statistics (FID) or samples (SWD), so the copy never touches the data."""
        return {"kind": self.kind, "n": self.n, "seed": self.seed,
                "real_stats": getattr(self, "real_stats", None), "real": getattr(self, "real", None)}

    @classmethod
    def from_reference(cls, reference: dict[str, Any], dataset: Dataset, cache_dir: str = "",
                       device: torch.device | None = None) -> "TrainingDistance":
        """A copy made from another's `reference()` (the feature net loaded from its cache, on
        `device`)."""
        self = cls.__new__(cls)
        self.kind, self.n, self.seed = reference["kind"], reference["n"], reference["seed"]
        if self.kind == "fid":
            self.extractor = feature_extractor(dataset, cache_dir).on(device)
            self.real_stats = reference["real_stats"]
        else:
            self.real = reference["real"]
        return self

    def __call__(self, model: Generative) -> float:
        """The distance of n samples drawn with a fixed seed (common random numbers across
        calls, so two models are compared on the same latent codes)."""
        fake = model.generate(self.n, torch.Generator().manual_seed(self.seed))
        if self.kind == "fid":
            mu, cov = gaussian_fit(self.extractor.features(fake))
            return frechet_distance(*self.real_stats, mu, cov)
        return sliced_wasserstein(fake.flatten(1), self.real, seed=self.seed)


def training_sample(dataset: Dataset, n: int, seed: int) -> Tensor:
    """n training samples: exact draws, or a seeded subset of the training array."""
    if dataset.sampler is not None:
        return dataset.sampler(n, torch.Generator().manual_seed(seed))[0]
    assert dataset.train_x is not None
    idx = torch.randperm(len(dataset.train_x), generator=torch.Generator().manual_seed(seed))[:n]
    return dataset.train_x[idx]
