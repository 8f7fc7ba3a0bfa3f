"""Training losses of noise-conditional classifiers (docs/diffusion.md; DLSM, Chao et al. ICLR 2022).

`ce`: cross-entropy on noisy inputs. `dlsm`: match the classifier's input gradient plus the frozen
score to the denoising target,
    L = E s(t)^{2w} ‖∇ₓ log p(y | x_t, t) + s_φ(x_t, t) − ∇ₓ log p(x_t | x₀)‖²,
∇ log p(x_t|x₀) = −z/s(t), with double backprop through the classifier. `total` = dlsm + λ·ce.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genarena.diffusion.sde import SDE

ScoreFn = Callable[[Tensor, Tensor], Tensor]
CLASSIFIER_LOSSES = ("ce", "dlsm", "total")       # guidance.classifier, besides "none"


def log_likelihood_grad(classifier: nn.Module, x: Tensor, t: Tensor, y: Tensor,
                        create_graph: bool = False) -> Tensor:
    """∇ₓ log p(y | x, t), per sample (the classifier's guidance term)."""
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        logp = F.log_softmax(classifier(x, t), dim=1).gather(1, y[:, None]).sum()
        (grad,) = torch.autograd.grad(logp, x, create_graph=create_graph)
    return grad


def classifier_loss(kind: str, classifier: nn.Module, score: ScoreFn, sde: SDE, x0: Tensor,
                    y: Tensor, rng: torch.Generator, ce_weight: float = 1.0,
                    weight_power: float = 1.0, reduction: str = "sum"
                    ) -> tuple[Tensor, dict[str, float]]:
    """(loss, statistics) of one batch for kind ce | dlsm | total. The DLSM term is
    E‖σ^w(∇log p(y|x̃) + s(x̃) + z/σ)‖² with the squares summed over dimensions (`sum`), or
    ½·their mean (`half-mean`: the dlsm-toy code, which also takes w = 2)."""
    if kind not in CLASSIFIER_LOSSES:
        raise ValueError(f"unknown classifier loss {kind!r} (known: {', '.join(CLASSIFIER_LOSSES)})")
    t = sde.sample_t(len(x0), rng).to(x0.device)
    z = torch.randn(x0.shape, generator=rng).to(x0.device)
    xt, s = sde.perturb(x0, t, z)
    stats: dict[str, float] = {}
    loss = torch.zeros((), device=x0.device)
    if kind in ("ce", "total"):
        ce = F.cross_entropy(classifier(xt, t), y)
        loss = loss + (ce if kind == "ce" else ce_weight * ce)
        stats["ce"] = ce.item()
    if kind in ("dlsm", "total"):
        grad = log_likelihood_grad(classifier, xt, t, y, create_graph=True)
        with torch.no_grad():
            prior_score = score(xt, t)
        residual = (grad + prior_score + z / s) * s ** weight_power
        squares = residual.pow(2).flatten(1)
        dlsm = (squares.sum(1) if reduction == "sum" else 0.5 * squares.mean(1)).mean()
        loss = loss + dlsm
        stats["dlsm"] = dlsm.item()
    stats["loss_clf"] = loss.item()
    return loss, stats


def guided_score(score: ScoreFn, classifier: nn.Module, labels: Tensor, scale: float) -> ScoreFn:
    """s(x, t) + α ∇ₓ log p(y | x, t): the conditional score used by every sampler."""
    def guided(x: Tensor, t: Tensor) -> Tensor:
        base = score(x, t)
        if scale == 0:
            return base
        return base + scale * log_likelihood_grad(classifier, x, t, labels)
    return guided
