"""What every trained model offers for sampling, whatever made it: `generate(n, rng, labels)`.

GANs and VAEs map latent codes through a net; diffusion models integrate a reverse SDE; mixtures
pick a member per sample. Evaluation, `genarena sample` and reports only see this interface; it
sits below every package (it imports only torch), so metrics and trainers can both use it.
"""
from __future__ import annotations

from typing import Callable, Protocol

import torch
from torch import Tensor


class Generative(Protocol):
    conditional: bool

    def generate(self, n: int, rng: torch.Generator, labels: Tensor | None = None) -> Tensor: ...



def sampler_fn(model: Generative, seed: int, label: int | None = None,
               batch: int = 4096) -> Callable[[int], Tensor]:
    """n -> n samples, the same ones for the same seed, generated `batch` at a time."""
    def sample(n: int) -> Tensor:
        rng = torch.Generator().manual_seed(seed)
        out = []
        for i in range(0, n, batch):
            k = min(batch, n - i)
            labels = None if label is None else torch.full((k,), label, dtype=torch.long)
            out.append(model.generate(k, rng, labels))
        return torch.cat(out)
    return sample


def label_sampler_fn(model: Generative, seed: int) -> Callable[[int, int], Tensor] | None:
    """(n, label) -> n samples of that class, for conditional models; None otherwise."""
    if not model.conditional:
        return None
    return lambda n, label: sampler_fn(model, seed + 1 + label, label)(n)
