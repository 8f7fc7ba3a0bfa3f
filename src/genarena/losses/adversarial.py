"""The adversarial losses of docs/adversarial.md (and Lipizzaner's, docs/coevolution.md) as one
registry; D outputs raw logits / critic scores.

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

from genarena.config import LOSS_DEFAULTS
from genarena.errors import UserError
from genarena.scalars import Stat, statistic


def sign_accuracy(real: Tensor, fake: Tensor) -> tuple[Stat, Stat]:
    """Logit losses (and hinge's margin classifier): D is right when its output has the right
    sign, i.e. sigmoid(D) on the right side of ½."""
    return statistic((real > 0).float().mean()), statistic((fake < 0).float().mean())


def least_squares_accuracy(real: Tensor, fake: Tensor) -> tuple[Stat, Stat]:
    """LSGAN regresses reals to 1 and fakes to 0: D is right on the right side of ½."""
    return statistic((real > 0.5).float().mean()), statistic((fake < 0.5).float().mean())


def critic_accuracy(real: Tensor, fake: Tensor) -> tuple[Stat, Stat]:
    """A Wasserstein critic's scores have no threshold, only an order: a real is judged right when
    it scores above the batch's mean fake score, a fake when it scores below the mean real one."""
    return (statistic((real > fake.mean()).float().mean()),
            statistic((fake < real.mean()).float().mean()))


@dataclass(frozen=True)
class AdversarialLoss:
    """A GAN objective: how D and G are scored, what "D is right" means for its outputs (the
    D-accuracy statistic the controllers read), and the regularizers it needs by default."""
    name: str
    title: str
    d_loss: Callable[[Tensor, Tensor], Tensor]
    g_loss: Callable[[Tensor], Tensor]
    accuracy: Callable[[Tensor, Tensor], tuple[Stat, Stat]] = sign_accuracy
    default_clip: float = 0.0
    default_gp_weight: float = 0.0

    def d_accuracy(self, real: Tensor, fake: Tensor) -> dict[str, Stat]:
        """{"d_acc_real", "d_acc_fake"}: the shares of reals and fakes D judges rightly."""
        acc_real, acc_fake = self.accuracy(real.detach(), fake.detach())
        return {"d_acc_real": acc_real, "d_acc_fake": acc_fake}


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


# Lipizzaner's and Mustangs' losses (docs/coevolution.md) act on D's sigmoid output p = σ(D(·)).
def _lip_heu_g(fake: Tensor) -> Tensor:
    return 0.5 * F.softplus(-fake).mean()                 # −½ log p_fake


def _lip_mse_d(real: Tensor, fake: Tensor) -> Tensor:
    return ((torch.sigmoid(real) - 1) ** 2).mean() + (torch.sigmoid(fake) ** 2).mean()


def _lip_mse_g(fake: Tensor) -> Tensor:
    return ((torch.sigmoid(fake) - 1) ** 2).mean()        # saturates where p_fake → 0


LOSSES: MappingProxyType[str, AdversarialLoss] = MappingProxyType({
    "bce": AdversarialLoss("bce", "minimax BCE (Goodfellow 2014)", _bce_d, _minimax_g),
    "nsgan": AdversarialLoss("nsgan", "non-saturating BCE, 'HEU'", _bce_d, _nonsaturating_g),
    "lsgan": AdversarialLoss("lsgan", "least squares, 'MSE' (Mao 2017)", _lsgan_d, _lsgan_g,
                             least_squares_accuracy),
    "wgan": AdversarialLoss("wgan", "Wasserstein, weight clipping (Arjovsky 2017)",
                            _wasserstein_d, _critic_g, critic_accuracy,
                            default_clip=LOSS_DEFAULTS["wgan"]["clip"]),
    "wgan-gp": AdversarialLoss("wgan-gp", "Wasserstein, gradient penalty (Gulrajani 2017)",
                               _wasserstein_d, _critic_g, critic_accuracy,
                               default_gp_weight=LOSS_DEFAULTS["wgan-gp"]["gp_weight"]),
    "hinge": AdversarialLoss("hinge", "hinge (Lim & Ye 2017, Miyato 2018)", _hinge_d, _critic_g),
    "lip-bce": AdversarialLoss("lip-bce", "Lipizzaner BCE: BCE on σ(D), G −log p (non-saturating)",
                               _bce_d, _nonsaturating_g),
    "lip-mse": AdversarialLoss("lip-mse", "Lipizzaner MSE: least squares on σ(D) (saturating)",
                               _lip_mse_d, _lip_mse_g),
    "lip-heu": AdversarialLoss("lip-heu", "Lipizzaner heuristic: D BCE, G −½ log σ(D)",
                               _bce_d, _lip_heu_g),
})


def get_loss(name: str) -> AdversarialLoss:
    """The registered loss called `name`."""
    try:
        return LOSSES[name]
    except KeyError:
        raise UserError(f"unknown loss '{name}' (expected one of: {', '.join(LOSSES)})") from None
