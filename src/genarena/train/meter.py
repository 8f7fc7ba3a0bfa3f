"""Running means of training statistics between log lines or controller decisions (statistics
are floats or device scalars: genarena.scalars)."""
from __future__ import annotations

import math
from typing import Any

from torch import Tensor

from genarena.scalars import Stat, Stats, all_finite, as_floats


class Meter:
    """Sum scalar statistics and report their means; checkpointable so resumed logs match.

    Each key is averaged over the steps that reported it: sparse statistics (lazy R1, controller
    decisions) are not diluted by the steps that had none. Float statistics are summed in Python
    floats, device ones in float64 on their device, in the order they came (the same sums).
    """

    def __init__(self) -> None:
        self.sums: dict[str, Stat] = {}
        self.counts: dict[str, int] = {}

    def add(self, values: Stats) -> None:
        for k, v in values.items():
            value = v.detach().double() if isinstance(v, Tensor) else float(v)
            self.sums[k] = self.sums[k] + value if k in self.sums else value
            self.counts[k] = self.counts.get(k, 0) + 1

    def mean(self) -> dict[str, float]:
        return {k: v / self.counts[k] for k, v in as_floats(self.sums).items()}

    def finite(self) -> bool:
        """Whether every sum is finite: no step since the last reset reported a NaN or an Inf."""
        return all_finite(self.sums)

    def non_finite(self) -> list[str]:
        """The keys whose sums are not finite, sorted."""
        return sorted(k for k, v in as_floats(self.sums).items() if not math.isfinite(v))

    def reset(self) -> None:
        self.sums, self.counts = {}, {}

    def state_dict(self) -> dict[str, Any]:
        return {"sums": as_floats(self.sums), "counts": dict(self.counts)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.sums = dict(state["sums"])
        self.counts = dict(state.get("counts") or {k: int(state["count"]) for k in self.sums})
