"""Learned-nothing floors: what samples that learned nothing score under a run's own evaluation.

A method that does not beat its floor has not learned the data at its budget, and a claim about
it tests nothing. On low-dimensional data the floors are points drawn uniformly over the data's
bounding box and a point mass at the data's mean; on images, the untrained generator of the
run's own architecture (its initial weights, as the run's seed makes them). Every floor is scored
by `genarena.metrics.evaluate` with the run's eval settings and evaluation seed, as the run is.
"""
from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor

from genarena.config import Config
from genarena.data.base import Dataset
from genarena.generative import sampler_fn
from genarena.metrics import evaluate
from genarena.nets import build_gan
from genarena.train.base import eval_seed
from genarena.train.generative import LatentGenerator

SampleFn = Callable[[int], Tensor]


def floor_samplers(cfg: Config, dataset: Dataset) -> dict[str, SampleFn]:
    """label -> a sampler of a learned-nothing model of this run's data and architecture."""
    seed = eval_seed(cfg)
    if len(dataset.sample_shape) == 1:
        real, _ = dataset.reference(cfg.eval.n_samples, seed)
        lo, hi, mean = real.min(0).values, real.max(0).values, real.mean(0)

        def uniform(n: int) -> Tensor:
            rng = torch.Generator().manual_seed(seed)
            return lo + (hi - lo) * torch.rand(n, len(lo), generator=rng)

        return {"floor: uniform over the data's box": uniform,
                "floor: a point mass at the data's mean": lambda n: mean.expand(n, -1).clone()}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)                  # the initial weights the run started from
        g, _ = build_gan(cfg.model, dataset.sample_shape, dataset.value_range)
    untrained = LatentGenerator(g.eval(), cfg.model.z_dim, cfg.model.z_dist, torch.device("cpu"))
    return {"floor: the untrained generator": sampler_fn(untrained, seed)}


def floor_metrics(cfg: Config, dataset: Dataset) -> dict[str, dict[str, Any]]:
    """label -> the metrics of each floor, scored as the run's own samples are."""
    return {label: evaluate(sample, dataset, cfg.eval, eval_seed(cfg))
            for label, sample in floor_samplers(cfg, dataset).items()}
