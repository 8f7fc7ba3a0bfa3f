"""The adversarial losses of SPEC 3.1 as one registry; D outputs raw logits / critic scores.

Each loss is a pair of batch-mean functions: d_loss(real, fake) and g_loss(fake), where real and
fake are D's raw outputs. sp = softplus, so sp(-t) = -log sigmoid(t) and sp(t) = -log(1-sigmoid(t)).
"""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from genarena.errors import UserError


@dataclass(frozen=True)
class AdversarialLoss:
    """A GAN objective: how D and G are scored, and the regularizers it needs by default."""
    name: str
    title: str
    d_loss: Callable[[Tensor, Tensor], Tensor]
    g_loss: Callable[[Tensor], Tensor]
    default_clip: float = 0.0
    default_gp_weight: float = 0.0


def _bce_d(real: Tensor, fake: Tensor) -> Tensor:
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def _minimax_g(fake: Tensor) -> Tensor:
    # Goodfellow's saturating objective: minimise log(1 - D(G(z))) = -softplus(D(G(z))).
    return -F.softplus(fake).mean()


def _nonsaturating_g(fake: Tensor) -> Tensor:
    return F.softplus(-fake).mean()


def _lsgan_d(real: Tensor, fake: Tensor) -> Tensor:
    return 0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake ** 2).mean()


def _lsgan_g(fake: Tensor) -> Tensor:
    return 0.5 * ((fake - 1) ** 2).mean()


def _wasserstein_d(real: Tensor, fake: Tensor) -> Tensor:
    return fake.mean() - real.mean()


def _critic_g(fake: Tensor) -> Tensor:
    return -fake.mean()


def _hinge_d(real: Tensor, fake: Tensor) -> Tensor:
    return torch.relu(1 - real).mean() + torch.relu(1 + fake).mean()


LOSSES: MappingProxyType[str, AdversarialLoss] = MappingProxyType({
    "bce": AdversarialLoss("bce", "minimax BCE (Goodfellow 2014)", _bce_d, _minimax_g),
    "nsgan": AdversarialLoss("nsgan", "non-saturating BCE, 'HEU'", _bce_d, _nonsaturating_g),
    "lsgan": AdversarialLoss("lsgan", "least squares, 'MSE' (Mao 2017)", _lsgan_d, _lsgan_g),
    "wgan": AdversarialLoss("wgan", "Wasserstein, weight clipping (Arjovsky 2017)",
                            _wasserstein_d, _critic_g, default_clip=0.01),
    "wgan-gp": AdversarialLoss("wgan-gp", "Wasserstein, gradient penalty (Gulrajani 2017)",
                               _wasserstein_d, _critic_g, default_gp_weight=10.0),
    "hinge": AdversarialLoss("hinge", "hinge (Lim & Ye 2017, Miyato 2018)", _hinge_d, _critic_g),
})


def get_loss(name: str) -> AdversarialLoss:
    """The registered loss called `name`."""
    try:
        return LOSSES[name]
    except KeyError:
        raise UserError(f"unknown loss '{name}' (expected one of: {', '.join(LOSSES)})") from None
