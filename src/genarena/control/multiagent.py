"""Controllers of a coevolution grid: every cell's knobs (its learning-rate factors for G and D
and its D steps per G step) decided each `interval` generations by a team of agents.

- `CellBalancers` (controller `dqn` / `iqn`): one independent RL balancer of docs/mspg.md per cell,
  rewarded as in a pair run (D accuracy in its band, stable losses, the cell's own mixture score).
- `DFACController` (controller `dfac`, docs/dfac.md): every cell is an agent of one cooperative team;
  its observation is the balancer's state vector plus its score relative to the grid's best; the
  team reward is ρ·log(best_before / best_after), the improvement of the grid's best mixture
  score; a mixer (DMIX by default, or DDN, QMIX, VDN, or independent DIQL/IQL) factorises it.
Both share the balancer's actions, perception and knob bounds, so they differ only in who learns
from what.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, TypedDict

import torch

from genarena.control.balancer import ACTIONS, STATE_DIM, BalancerController, apply_action, state_vector
from genarena.control.base import Decider, Knobs
from genarena.control.perception import Perception
from genarena.rl.dfac import MultiAgentLearner
from genarena.rl.episodes import Episode
from genarena.rl.learner import RLSettings


class CellReport(TypedDict):
    """What a grid controller reads of a coevolution cell's state (coevolution's CellState has
    these keys and more): its last generation's training statistics, its mixture score (lower
    is better) and the knobs a controller last set (None: never)."""
    stats: dict[str, float]
    score: float
    knobs: dict[str, Any] | None


CellStates = Mapping[int, CellReport]
OBS_DIM = STATE_DIM + 1


def cell_knobs(state: CellReport) -> Knobs:
    """A cell's knobs: factors on its individuals' learning rates (1 = as evolved) and D steps
    (no controller has set them: ×1 and one D step)."""
    knobs = state.get("knobs")
    if knobs:
        return Knobs.from_state(knobs)
    return Knobs(lr_g=1.0, lr_d=1.0, d_steps=1)


def cell_stats(state: CellReport) -> dict[str, float]:
    """The training statistics a cell reports, with its mixture score as the quality proxy."""
    return {**state.get("stats", {}), "quality": float(state["score"])}


class GridController(Decider):
    """A controller of every cell at once: `decide_grid(states) -> {cell: knobs}` (within bounds)."""

    def decide_grid(self, states: CellStates) -> dict[int, Knobs]:
        raise NotImplementedError


class CellBalancers(GridController):
    """Independent per-cell DQN (or IQN) balancers, each with its own network and replay."""

    def __init__(self, interval: int, head: str, settings: RLSettings, seed: int, cells: int,
                 low: float, high: float, kappa: float, rho: float, updates: int = 1) -> None:
        super().__init__(interval)
        self.name = head
        self.cells = [BalancerController(interval, head, settings, seed + 1000 * c, low, high,
                                         kappa, rho, updates) for c in range(cells)]

    def decide_grid(self, states: CellStates) -> dict[int, Knobs]:
        return {c: self.cells[c].decide(cell_stats(s), cell_knobs(s))
                for c, s in sorted(states.items())}

    def log(self) -> dict[str, float]:
        logs = [b.log() for b in self.cells]
        keys = sorted({k for log in logs for k in log} - {"bal_action"})
        return {k: sum(log[k] for log in logs if k in log) / sum(k in log for log in logs)
                for k in keys}

    def state_dict(self) -> dict[str, Any]:
        return {"cells": [b.state_dict() for b in self.cells]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for b, s in zip(self.cells, state["cells"]):
            b.load_state_dict(s)


class DFACController(GridController):
    """The cells as one cooperative team, trained on the grid's improvement by value factorisation."""

    name = "dfac"

    def __init__(self, interval: int, mixer: str, settings: RLSettings, seed: int,
                 cells: int, rho: float, updates: int = 1) -> None:
        super().__init__(interval)
        self.rho, self.updates, self.n_cells = rho, updates, cells
        self.learner = MultiAgentLearner(mixer, cells, OBS_DIM, cells * OBS_DIM, len(ACTIONS),
                                         horizon=1, settings=settings, seed=seed)
        self.perceptions = [Perception() for _ in range(cells)]
        self.prev: dict[str, Any] | None = None
        self.last: dict[str, float] = {}

    def observe(self, states: CellStates) -> tuple[torch.Tensor, float]:
        """Per-cell observations (K, O) and the grid's best score."""
        best = min(float(s["score"]) for s in states.values())
        rows = []
        for c, s in sorted(states.items()):
            seen = self.perceptions[c].observe(cell_stats(s))
            standing = math.log(max(float(s["score"]), 1e-12) / max(best, 1e-12))
            rows.append(torch.cat([state_vector(seen, cell_knobs(s)), torch.tensor([standing])]))
        return torch.stack(rows), best

    def decide_grid(self, states: CellStates) -> dict[int, Knobs]:
        obs, best = self.observe(states)
        losses = []
        if self.prev is not None:
            reward = self.rho * math.log(max(self.prev["best"], 1e-12) / max(best, 1e-12))
            self.learner.store(Episode(obs=torch.stack([self.prev["obs"], obs]),
                                       state=torch.stack([self.prev["obs"].flatten(), obs.flatten()]),
                                       actions=self.prev["actions"][None],
                                       reward=torch.tensor([reward]), terminated=torch.zeros(1)))
            losses = [x for x in (self.learner.learn() for _ in range(self.updates)) if x is not None]
            self.last["dfac_reward"] = reward
        actions = self.learner.act(obs)
        self.prev = {"obs": obs, "actions": actions, "best": best}
        self.last.update({"dfac_epsilon": self.learner.epsilon,
                          "dfac_noop_fraction": float((actions == 0).float().mean())})
        if losses:
            self.last["dfac_loss"] = sum(losses) / len(losses)
        return {c: apply_action(ACTIONS[int(a)], cell_knobs(states[c])).clamp()
                for c, a in zip(sorted(states), actions)}

    def log(self) -> dict[str, float]:
        return dict(self.last)

    def state_dict(self) -> dict[str, Any]:
        return {"learner": self.learner.state_dict(),
                "perceptions": [p.state_dict() for p in self.perceptions],
                "prev": self.prev, "last": dict(self.last)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.learner.load_state_dict(state["learner"])
        for p, s in zip(self.perceptions, state["perceptions"]):
            p.load_state_dict(s)
        self.prev, self.last = state["prev"], dict(state["last"])
