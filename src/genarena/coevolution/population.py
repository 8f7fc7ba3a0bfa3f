"""Individuals of a cell's sub-populations and the evolutionary operators on them (docs/coevolution.md).

An individual travels between cells and processes as plain data (`IndividualState`: weights,
optimizer state, learning rate, loss); a `Member` is one brought to life as a module with its
optimizer. Operators take an explicit generator, never global random state.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence, TypeVar

import torch
from torch import Tensor, nn
from torch.func import functional_call

from genarena.checkpoint import cpu_copy, map_leaves
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
        """Plain-data copy on the CPU (tensors copied) for exchange and checkpoints."""
        return {"net": cpu_copy(self.net.state_dict()), "opt": cpu_copy(self.opt.state_dict()),
                "lr": self.lr, "fitness": self.fitness}


class NetView:
    """An individual's net for forward passes without autograd (fitness, sampling): its
    tensors run through a template module shared by the process, so no net is built or copied.
    Buffers are cloned, so a train-mode BatchNorm cannot write into the individual's state."""

    def __init__(self, template: nn.Module, tensors: dict[str, Tensor], training: bool = True) -> None:
        buffers = {name for name, _ in template.named_buffers()}
        device = next(template.parameters()).device          # the state's CPU tensors go there
        self.template, self.training = template, training
        self.tensors = {k: v.to(device, copy=k in buffers) for k, v in tensors.items()}

    def train(self, mode: bool = True) -> "NetView":
        self.training = mode
        return self

    def eval(self) -> "NetView":
        return self.train(False)

    def __call__(self, x: Tensor) -> Tensor:
        self.template.train(self.training)
        return functional_call(self.template, self.tensors, (x,))

    def parameters(self) -> Iterator[nn.Parameter]:
        """None: a view's tensors take no gradient (it judges or fakes for a trainee; freezing
        it for a G step is a no-op)."""
        return iter(())


@dataclass
class Judged:
    """An individual as fitness evaluation sees it: a view of its net and the state it came from
    (returned as is, with its new fitness, if it survives)."""
    net: NetView
    source: IndividualState
    fitness: float = float("inf")

    def state(self) -> IndividualState:
        return {**self.source, "fitness": self.fitness}


def judged(state: IndividualState, template: nn.Module) -> Judged:
    return Judged(NetView(template, state["net"]), state, float(state.get("fitness", float("inf"))))


def _clone(obj: Any) -> Any:
    """Plain data with every tensor copied."""
    return map_leaves(obj, lambda v: v.detach().clone() if isinstance(v, torch.Tensor) else v)



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


Candidate = TypeVar("Candidate", Member, Judged, "Member | Judged")


def survivors(candidates: Sequence[Candidate], count: int) -> list[Candidate]:
    """The `count` fittest candidates (stable for ties: earlier candidates first)."""
    order = sorted(range(len(candidates)), key=lambda i: (candidates[i].fitness, i))
    return [candidates[i] for i in order[:count]]
