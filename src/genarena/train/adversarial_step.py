"""The pieces of one adversarial step, written once for every GAN trainer.

The pair trainer, E-GAN, MSPG-SEN and the coevolution cells all update D with
`discriminator_step` (the loss on D's outputs, the gradient penalty on the packed input D really
judges, optional extra terms such as MSPG-SEN's D_aux, the optimizer step, weight clipping, and
the loss's own D-accuracy rule) and G with `generator_step` (G's loss through discriminators that
are frozen for the step and unfrozen whatever happens). Lazy R1 is `r1_step`.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, Protocol

import torch
from torch import Tensor, nn

from genarena.config import Config
from genarena.losses import AdversarialLoss, clip_weights, get_loss, gradient_penalty, r1_penalty
from genarena.losses.regularizers import Critic, Sample
from genarena.scalars import Stat, statistic
from genarena.train.optim import optimizer_step
from genarena.train.precision import FULL, Precision

ExtraTerms = Callable[[], tuple[Tensor, dict[str, Stat]]]


@dataclass(frozen=True)
class DiscriminatorRules:
    """How D is trained: its loss and the regularizers that go with it (from config.loss)."""
    loss: AdversarialLoss
    gp_weight: float = 0.0
    clip: float = 0.0
    grad_clip: float = 0.0
    pack: int = 1

    @classmethod
    def from_config(cls, cfg: Config, loss: AdversarialLoss | None = None) -> "DiscriminatorRules":
        """The rules of a resolved config (`loss` overrides the named loss, e.g. Mustangs' BCE)."""
        c = cfg.loss
        return cls(loss or get_loss(c.name), c.gp_weight or 0.0, c.clip or 0.0,
                   cfg.trainer.grad_clip, cfg.model.pack)


class Parametrised(Protocol):
    """What can be frozen for a step: a module, or a view of one that has no parameters."""

    def parameters(self) -> Iterator[nn.Parameter]: ...


@contextmanager
def frozen(*modules: Parametrised) -> Iterator[None]:
    """Modules whose parameters take no gradient inside the block; their previous flags are
    restored on leaving it, also when the block raises."""
    params = [p for m in modules for p in m.parameters()]
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(params, flags):
            p.requires_grad_(flag)


def discriminator_step(rules: DiscriminatorRules, opt: torch.optim.Optimizer, module: nn.Module,
                       critic: Critic, real: Sample, fake: Sample,
                       noise: torch.Generator | None = None,
                       outputs: tuple[Tensor, Tensor] | None = None,
                       extra: ExtraTerms | None = None,
                       precision: Precision = FULL) -> dict[str, Stat]:
    """One update of D (every parameter of `module`) against detached fakes.

    `critic` maps samples to D's raw outputs (packing happens inside it); `outputs` may give
    critic(real), critic(fake) when the caller already has them; `extra` adds loss terms (with
    their statistics) before the step. The forwards run at `precision`, the loss on D's outputs
    in fp32 and the gradient penalty at full precision. Returns loss_d, the D accuracies, and gp
    when applied."""
    with precision.autocast():
        out_real, out_fake = outputs if outputs is not None else (critic(real), critic(fake))
        out_real, out_fake = out_real.float(), out_fake.float()
        extra_terms = extra() if extra is not None else None
    loss = rules.loss.d_loss(out_real, out_fake)
    stats = {"loss_d": statistic(loss), **rules.loss.d_accuracy(out_real, out_fake)}
    if rules.gp_weight > 0:
        gp = gradient_penalty(critic, _fp32(real), _fp32(fake), noise, rules.pack)
        loss = loss + rules.gp_weight * gp
        stats["gp"] = statistic(gp)
    if extra_terms is not None:
        more, more_stats = extra_terms
        loss = loss + more.float()
        stats.update(more_stats)
    optimizer_step(opt, loss, module, rules.grad_clip, precision.scaler)
    if rules.clip > 0:
        clip_weights(module, rules.clip)
    return stats


def generator_step(opt: torch.optim.Optimizer, g: nn.Module, loss_fn: Callable[[], Tensor],
                   frozen_modules: tuple[Parametrised, ...], grad_clip: float = 0.0,
                   precision: Precision = FULL) -> Tensor:
    """One update of G on `loss_fn()` (G's loss through the discriminators, its forwards at
    `precision`), with the discriminators frozen for the update; returns the loss."""
    with frozen(*frozen_modules):
        with precision.autocast():
            loss = loss_fn().float()
        optimizer_step(opt, loss, g, grad_clip, precision.scaler)
    return loss


def _fp32(x: Sample) -> Sample:
    """Samples in fp32 (a mixed-precision G's fakes) for the double-backward penalties."""
    return [t.float() for t in x] if isinstance(x, list) else x.float()


def r1_step(rules: DiscriminatorRules, opt: torch.optim.Optimizer, module: nn.Module,
            critic: Critic, real: Sample, gamma: float, interval: int,
            precision: Precision = FULL) -> dict[str, Stat]:
    """Lazy R1: γ/2·E‖∇D(x)‖² on reals (per decision of a packing D), scaled by the interval
    at which it is applied (StyleGAN2); at full precision, through `precision`'s loss scaler."""
    penalty = r1_penalty(critic, _fp32(real), rules.pack)
    optimizer_step(opt, penalty * (gamma / 2 * interval), module, rules.grad_clip,
                   precision.scaler)
    return {"r1": statistic(penalty)}
