"""MSPG-SEN generator losses (docs/mspg.md): feature matching and the contrastive (InfoNCE) loss.

Both read the discriminator's intermediate features (`D.features(x)`, a list of tensors).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from genarena.nets.mspg import pooled


def feature_matching(real_features: list[Tensor], fake_features: list[Tensor]) -> Tensor:
    """L_fm = mean over layers of ‖E f(x) − E f(G(z))‖₁ / dim (Salimans 2016), reals detached."""
    terms = [(r.detach().mean(0) - f.mean(0)).abs().mean()
             for r, f in zip(real_features, fake_features)]
    return torch.stack(terms).mean()


def info_nce(anchors: Tensor, positives: Tensor, tau: float = 0.1) -> Tensor:
    """InfoNCE: row i of `anchors` should be closest (cosine) to row i of `positives`, with the
    other rows of the batch as negatives."""
    a = F.normalize(pooled(anchors).flatten(1), dim=1)
    p = F.normalize(pooled(positives).flatten(1), dim=1)
    logits = a @ p.T / tau
    return F.cross_entropy(logits, torch.arange(len(a), device=a.device))


__all__ = ["feature_matching", "info_nce"]
