"""`trainer=coevolution` (docs/coevolution.md): the grid's generations under the shared training loop.

One `train_step` is one synchronous generation of every cell (on the configured backend). As
everywhere, `steps` counts generator updates: those of each cell's generator, so a run has
steps / coevolution.batches_per_gen generations and the step counter advances by
batches_per_gen per generation. Logging, checkpoints and the grid controller act at the first
generation that reaches each multiple of their intervals. The run's model is the best cell's
neighbourhood mixture, with that cell's evolved weights.
"""
from __future__ import annotations

import statistics
from typing import Any

import torch

from genarena.coevolution.backends import Backend, build_backend
from genarena.coevolution.cell import CellContext, CellState
from genarena.coevolution.mixture import MixtureGenerator
from genarena.config import Config
from genarena.control import build_grid_controller
from genarena.control.multiagent import cell_knobs
from genarena.data.base import Dataset
from genarena.scalars import Stats
from genarena.train.base import Trainer
from genarena.train.loop import due


def best_cell(states: dict[int, CellState]) -> int:
    """The cell whose neighbourhood mixture scored best (lowest; ties to the lower id)."""
    return min(states, key=lambda c: (states[c]["score"], c))


def mixture_of(ctx: CellContext, states: dict[int, CellState], cell: int) -> MixtureGenerator:
    """Cell `cell`'s neighbourhood mixture from the grid's current states."""
    hood = ctx.grid.neighbours(cell)
    return ctx.mixture(states[cell]["weights"], [states[h] for h in hood])


class CoevolutionTrainer(Trainer):
    """Owns the grid's cell states and a backend that advances them a generation at a time."""

    def __init__(self, cfg: Config, dataset: Dataset, device: torch.device) -> None:
        super().__init__(cfg, dataset, device)
        self.ctx = CellContext(cfg, dataset, device=device)
        self.ctx.scorer                      # build (and cache) the scorer before any worker does
        self.states = {c: self.ctx.initial_state(c) for c in range(self.ctx.grid.size)}
        self.controller = build_grid_controller(cfg.controller, self.ctx.grid.size, cfg.seed)
        self.backend: Backend | None = build_backend(cfg, self.ctx)   # last: it starts workers
        self.batches_per_gen = cfg.coevolution.batches_per_gen

    @property
    def final_model_name(self) -> str:
        return "mixture"

    @property
    def generation(self) -> int:
        """Generations finished so far."""
        return self.step // self.batches_per_gen

    def updates(self) -> dict[str, int]:
        """Generator updates per cell (the `steps` budget), generations, and the grid's total."""
        g = self.ctx.grid
        return {"generator": self.step, "generations": self.generation,
                "grid_generator_updates": self.step * g.size * self.cfg.coevolution.population}

    def train_step(self) -> Stats:
        """One generation of every cell; statistics averaged over cells, plus each cell's score."""
        if self.backend is None or self.step >= self.total_steps:
            raise RuntimeError("training is finished")
        self.states, moved = self.backend.generation(self.states, self.generation)
        before = self.step
        self.step += self.batches_per_gen
        per_cell = [s["stats"] for s in self.states.values()]
        keys = sorted({k for stats in per_cell for k in stats})
        out = {k: statistics.fmean(s[k] for s in per_cell if k in s) for k in keys}
        scores = {c: s["score"] for c, s in self.states.items()}
        out.update({f"score_cell_{c}": v for c, v in scores.items()})
        out["score_best"] = min(scores.values())
        out["bytes_exchanged"] = float(moved)
        out.update(self.control_phase(before))
        return out

    def control_phase(self, before: int) -> dict[str, float]:
        """At each multiple of controller.interval steps: new knobs for every cell, and what to log."""
        if self.controller is None or not due(before, self.step, self.controller.interval):
            return {}
        for cell, knobs in self.controller.decide_grid(self.states).items():
            self.states[cell]["knobs"] = knobs.state_dict()
        return self.controller.log()

    def training_done(self) -> None:
        """The grid's workers are not needed to evaluate or sample the mixture."""
        self.close()

    def close(self) -> None:
        """Release the backend's workers (idempotent)."""
        if self.backend is not None:
            self.backend.close()
            self.backend = None

    def back_off(self, factor: float) -> None:
        """Divergence guard: scale every individual's learning rate."""
        for state in self.states.values():
            for ind in state["g"] + state["d"]:
                ind["lr"] *= factor

    def knob_log(self) -> dict[str, float]:
        """The cells' mean knobs (when a controller sets them)."""
        if self.controller is None:
            return {}
        knobs = [cell_knobs(s) for s in self.states.values()]
        return {f"knob_{k}": statistics.fmean(float(getattr(x, k)) for x in knobs)
                for k in ("lr_g", "lr_d", "d_steps")}

    def final_generative(self) -> MixtureGenerator:
        return mixture_of(self.ctx, self.states, best_cell(self.states))

    def summary_extras(self) -> dict[str, Any]:
        """For summary.json: the grid, the chosen cell, each cell's score, weights and rates."""
        g = self.ctx.grid
        return {"grid": {"rows": g.rows, "cols": g.cols, "neighbourhood": g.neighbourhood},
                "best_cell": best_cell(self.states),
                "cells": [{"cell": c, "score": s["score"], "weights": s["weights"],
                           "lr_g": [i["lr"] for i in s["g"]], "lr_d": [i["lr"] for i in s["d"]],
                           "knobs": s.get("knobs")}
                          for c, s in self.states.items()]}

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "states": self.states,
                "controller": self.controller.state_dict() if self.controller else None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.states = {int(c): s for c, s in state["states"].items()}
        if self.controller is not None and state.get("controller") is not None:
            self.controller.load_state_dict(state["controller"])
        if self.backend is None:
            self.backend = build_backend(self.cfg, self.ctx)


def load_mixture(cfg: Config, dataset: Dataset, state: dict[str, Any],
                 device: torch.device) -> MixtureGenerator:
    """The best neighbourhood mixture of a coevolution checkpoint."""
    ctx = CellContext(cfg, dataset, device=device)
    states = {int(c): s for c, s in state["states"].items()}
    return mixture_of(ctx, states, best_cell(states))

