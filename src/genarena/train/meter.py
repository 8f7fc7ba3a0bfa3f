"""Running means of training statistics between log lines or controller decisions."""
from __future__ import annotations

from typing import Any


class Meter:
    """Sum scalar statistics and report their means; checkpointable so resumed logs match.

    Each key is averaged over the steps that reported it: sparse statistics (lazy R1, controller
    decisions) are not diluted by the steps that had none.
    """

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.counts: dict[str, int] = {}

    def add(self, values: dict[str, float]) -> None:
        for k, v in values.items():
            self.sums[k] = self.sums.get(k, 0.0) + float(v)
            self.counts[k] = self.counts.get(k, 0) + 1

    def mean(self) -> dict[str, float]:
        return {k: v / self.counts[k] for k, v in self.sums.items()}

    def reset(self) -> None:
        self.sums, self.counts = {}, {}

    def state_dict(self) -> dict[str, Any]:
        return {"sums": dict(self.sums), "counts": dict(self.counts)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.sums = dict(state["sums"])
        self.counts = dict(state.get("counts") or {k: int(state["count"]) for k in self.sums})
