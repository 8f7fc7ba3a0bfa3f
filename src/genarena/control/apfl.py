"""APFL, the adaptive perception–behaviour feedback loop (docs/mspg.md), as controller `apfl`.

A bounded proportional controller toward the target D-accuracy band [low, high]: with
u = clip(e / 0.2, −1, 1), e the distance of the accuracy outside the band (signed; 0 inside),
D too strong (u > 0) lowers lr_D and raises lr_G and the feature-matching weight, each by a
factor of at most (1 ± η); too weak does the reverse. Knobs then clamp to [0.1×, 10×].
"""
from __future__ import annotations

from typing import Any

from genarena.control.base import Controller, Knobs
from genarena.control.perception import Perception


class APFLController(Controller):
    """Feedback toward a D-accuracy band."""

    name = "apfl"

    def __init__(self, interval: int, low: float, high: float, eta: float) -> None:
        super().__init__(interval)
        self.low, self.high, self.eta = low, high, eta
        self.perception = Perception()
        self.last: dict[str, float] = {}

    def error(self, acc: float) -> float:
        """Signed distance outside the band, scaled to [−1, 1] (0.2 outside saturates)."""
        e = acc - self.high if acc > self.high else (acc - self.low if acc < self.low else 0.0)
        return max(-1.0, min(1.0, e / 0.2))

    def policy(self, stats: dict[str, float], knobs: Knobs) -> Knobs:
        seen = self.perception.observe(stats)
        u = self.error(seen["acc"])
        step = self.eta * u
        knobs.lr_d *= 1 - step
        knobs.lr_g *= 1 + step
        if "fm" in knobs.weights:
            knobs.weights["fm"] *= 1 + step
        self.last = {"apfl_acc": seen["acc"], "apfl_u": u}
        return knobs

    def log(self) -> dict[str, float]:
        return dict(self.last)

    def state_dict(self) -> dict[str, Any]:
        return {"perception": self.perception.state_dict(), "last": dict(self.last)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.perception.load_state_dict(state["perception"])
        self.last = dict(state["last"])
