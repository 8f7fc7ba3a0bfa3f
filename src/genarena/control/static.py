"""The `static` controller: hyperparameters stay as configured (the baseline for every other)."""
from __future__ import annotations

from genarena.control.base import Controller, Knobs


class StaticController(Controller):
    """Changes nothing."""

    name = "static"

    def policy(self, stats: dict[str, float], knobs: Knobs) -> Knobs:
        return knobs
