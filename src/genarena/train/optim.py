"""Optimizers from the `optim` config section, and learning-rate changes that really apply."""
from __future__ import annotations

import math
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping

import torch
from torch import nn

from genarena.config import OptimConfig

OptimizerFactory = Callable[..., torch.optim.Optimizer]
# optim.name -> (params, lr, betas, weight decay, **implementation) -> optimizer; SGD's momentum is
# betas[0].
OPTIMIZERS: Mapping[str, OptimizerFactory] = MappingProxyType({
    "adam": lambda p, lr, b, wd, **kw: torch.optim.Adam(p, lr=lr, betas=b, weight_decay=wd, **kw),
    "adamw": lambda p, lr, b, wd, **kw: torch.optim.AdamW(p, lr=lr, betas=b, weight_decay=wd, **kw),
    "rmsprop": lambda p, lr, b, wd, **kw: torch.optim.RMSprop(p, lr=lr, weight_decay=wd, **kw),
    "sgd": lambda p, lr, b, wd, **kw: torch.optim.SGD(p, lr=lr, momentum=b[0], weight_decay=wd, **kw),
})
FUSED = ("adam", "adamw", "sgd")          # the optimizers PyTorch has one fused kernel for


def make_optimizer(cfg: OptimConfig, params: Iterable[nn.Parameter], lr: float) -> torch.optim.Optimizer:
    """The optimizer optim.name names, with the configured betas / weight decay. Its update runs
    over all parameters at once (`foreach`: the per-parameter loop's arithmetic, bit for bit, with
    one dispatch per operation instead of one per tensor), or, with optim.fused, in one fused
    kernel per parameter (faster again, not bit-identical: about one ulp per step)."""
    beta1, beta2 = cfg.betas
    implementation = {"fused": True} if cfg.fused else {"foreach": True}
    return OPTIMIZERS[cfg.name](params, lr, (beta1, beta2), cfg.weight_decay, **implementation)


def set_lr(opt: torch.optim.Optimizer, lr: float) -> None:
    """Set the learning rate of every parameter group (after any load_state_dict)."""
    for group in opt.param_groups:
        group["lr"] = lr


def lr_factor(decay: str, step: int, total: int) -> float:
    """The multiplier of the base learning rate at `step` of `total`: 1 (`none`), or a cosine from
    1 to 0 (`cosine`); the choices are the config's (guidance.lr_decay)."""
    if decay not in ("none", "cosine"):
        raise ValueError(f"unknown lr decay {decay!r}")
    if decay == "none" or total <= 0:
        return 1.0
    return 0.5 * (1.0 + math.cos(math.pi * min(step, total) / total))


def optimizer_step(opt: torch.optim.Optimizer, loss: torch.Tensor, module: nn.Module,
                   grad_clip: float = 0.0, scaler: Any = None) -> None:
    """Zero the gradients, back-propagate `loss`, clip `module`'s gradient norm if asked, step.
    With an fp16 gradient `scaler` the loss is scaled, the gradients unscaled before clipping,
    and a step whose gradients overflowed is skipped (torch.amp.GradScaler)."""
    opt.zero_grad(set_to_none=True)
    if scaler is None:
        loss.backward()
        if grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(module.parameters(), grad_clip)
        opt.step()
        return
    scaler.scale(loss).backward()
    if grad_clip > 0:
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(module.parameters(), grad_clip)
    scaler.step(opt)
    scaler.update()
