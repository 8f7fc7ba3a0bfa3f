"""Individuals of a cell's sub-populations and the evolutionary operators on them (SPEC 5.1).

An individual travels between cells and processes as plain data (`IndividualState`: weights,
optimizer state, learning rate, loss); a `Member` is one brought to life as a module with its
optimizer. Operators take an explicit generator, never global random state.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import torch
from torch import nn

from genarena.train.optim import set_lr

IndividualState = dict[str, Any]


@dataclass
class Member:
    """A live individual: its net, optimizer and learning rate, and its latest fitness."""
    net: nn.Module
    opt: torch.optim.Optimizer
    lr: float
    fitness: float = float("inf")        # a loss: lower is fitter

    def state(self) -> IndividualState:
        """Plain-data copy (tensors cloned) for exchange and checkpoints."""
        return {"net": {k: v.detach().clone() for k, v in self.net.state_dict().items()},
                "opt": _clone(self.opt.state_dict()), "lr": self.lr, "fitness": self.fitness}


def _clone(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.detach().clone()
    if isinstance(obj, dict):
        return {k: _clone(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_clone(v) for v in obj]
    return obj


def materialise(state: IndividualState, make_net: Callable[[], nn.Module],
                make_opt: Callable[[nn.Module, float], torch.optim.Optimizer]) -> Member:
    """A Member from plain data; the learning rate is applied after the optimizer state is loaded
    (loading an optimizer state restores its old lr, which undid Lipizzaner's mutations)."""
    net = make_net()
    net.load_state_dict(state["net"])
    opt = make_opt(net, state["lr"])
    if state.get("opt"):
        # Optimizers adopt the given moment tensors without copying: clone them, or training
        # this member would silently change the state it was made from (another cell's input).
        opt.load_state_dict(_clone(state["opt"]))
    set_lr(opt, state["lr"])
    return Member(net, opt, float(state["lr"]), float(state.get("fitness", float("inf"))))


def tournament(fitness: Sequence[float], count: int, size: int, rng: torch.Generator) -> list[int]:
    """`count` winners of tournaments of `size` distinct entrants drawn at random; the fitter
    (lower loss) entrant wins, ties to the earlier index."""
    n = len(fitness)
    winners = []
    for _ in range(count):
        entrants = torch.randperm(n, generator=rng)[:min(size, n)].tolist()
        winners.append(min(entrants, key=lambda i: (fitness[i], i)))
    return winners


def mutate_lr(member: Member, base_lr: float, probability: float, scale: float, lr_min: float,
              rng: torch.Generator) -> bool:
    """With probability p: lr ← max(lr_min, lr + N(0, (scale·lr₀)²)), applied to the optimizer."""
    draw, noise = torch.rand((), generator=rng).item(), torch.randn((), generator=rng).item()
    if draw >= probability:
        return False
    member.lr = max(lr_min, member.lr + noise * scale * base_lr)
    set_lr(member.opt, member.lr)
    return True


def survivors(candidates: Sequence[Member], count: int) -> list[Member]:
    """The `count` fittest candidates (stable for ties: earlier candidates first)."""
    order = sorted(range(len(candidates)), key=lambda i: (candidates[i].fitness, i))
    return [candidates[i] for i in order[:count]]
