"""The diffusion pipeline: the SDE a config describes (with VE's data-scaled σ_max) and
`DiffusionGenerative`, which samples a score net by integrating the reverse SDE, guided by a
noise-conditional classifier when there is one. Models live in nets/, SDEs and samplers here;
the trainer (train/diffusion.py) only trains (diffusers' model / scheduler / pipeline split).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from genarena.config import Config
from genarena.data.base import Dataset
from genarena.diffusion.classifier import guided_score
from genarena.diffusion.dsm import score_fn
from genarena.diffusion.samplers import sample
from genarena.diffusion.sde import SDE, build_sde


def data_scale(dataset: Dataset, n: int = 2000) -> float:
    """The largest pairwise distance among n training samples: VE's σ_max (Song & Ermon 2020)."""
    if dataset.sampler is not None:
        x, _ = dataset.sampler(n, torch.Generator().manual_seed(0))
    else:
        assert dataset.train_x is not None
        x = dataset.train_x[:n]
    x = x.flatten(1).double()
    return float(max(torch.cdist(part, x).max() for part in x.split(512)))


def make_sde(cfg: Config, dataset: Dataset) -> SDE:
    d = cfg.diffusion
    sigma_max = d.sigma_max or data_scale(dataset)
    return build_sde(d.sde, d.sigma_min, sigma_max, d.beta_min, d.beta_max, d.timesteps)


class DiffusionGenerative:
    """Samples by integrating the reverse SDE; guided by the classifier when there is one."""

    def __init__(self, net: nn.Module, sde: SDE, cfg: Config, shape: tuple[int, ...],
                 classifier: nn.Module | None, num_classes: int, device: torch.device) -> None:
        self.net, self.sde, self.cfg, self.shape = net, sde, cfg, shape
        self.classifier, self.num_classes, self.device = classifier, num_classes, device
        self.conditional = classifier is not None

    def generate(self, n: int, rng: torch.Generator, labels: Tensor | None = None) -> Tensor:
        """n samples; a guided model draws balanced random labels when none are given."""
        self.net.eval()
        score = score_fn(self.net, self.sde)
        if self.classifier is not None:
            self.classifier.eval()
            if labels is None:
                labels = torch.randint(self.num_classes, (n,), generator=rng)
            score = guided_score(score, self.classifier, labels.to(self.device),
                                 self.cfg.guidance.scale)
        d = self.cfg.diffusion
        with torch.no_grad():
            x = sample(d.sampler, self.sde, score, (n, *self.shape), d.nfe, rng, d.snr, self.device)
        return x.cpu()
