"""The controller interfaces: every `interval` steps, read training statistics, adjust knobs.

A pair trainer's controller (static, APFL, the DQN/IQN balancers) is a `Controller`; a grid's
(per-cell balancers, the DFAC team) is a `GridController` (control/multiagent.py); both are
`Decider`s, sharing the interval, the log and the checkpointed state.
Knob changes are clamped to [0.1×, 10×] of the start values so that no policy can stall training.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

KNOB_RANGE = (0.1, 10.0)
D_STEPS_RANGE = (1, 10)


@dataclass
class Knobs:
    """What a controller may change: learning rates, D steps per G step and loss weights."""
    lr_g: float
    lr_d: float
    d_steps: int
    weights: dict[str, float] = field(default_factory=dict)
    base: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.base:
            self.base = {"lr_g": self.lr_g, "lr_d": self.lr_d, **self.weights}

    def clamp(self) -> "Knobs":
        """Keep every knob within KNOB_RANGE of its base value (and d_steps in D_STEPS_RANGE)."""
        lo, hi = KNOB_RANGE
        self.lr_g = min(max(self.lr_g, lo * self.base["lr_g"]), hi * self.base["lr_g"])
        self.lr_d = min(max(self.lr_d, lo * self.base["lr_d"]), hi * self.base["lr_d"])
        self.d_steps = min(max(int(self.d_steps), D_STEPS_RANGE[0]), D_STEPS_RANGE[1])
        for k, v in self.weights.items():
            b = self.base[k]
            self.weights[k] = min(max(v, lo * b), hi * b) if b > 0 else v
        return self

    def scale_learning_rates(self, factor: float) -> None:
        """Scale the learning rates and their bases (the divergence guard's back-off)."""
        self.lr_g *= factor
        self.lr_d *= factor
        self.base["lr_g"] *= factor
        self.base["lr_d"] *= factor

    def as_log(self) -> dict[str, float]:
        """The knob values as flat metrics.jsonl fields."""
        out: dict[str, float] = {"lr_g": self.lr_g, "lr_d": self.lr_d, "d_steps": self.d_steps}
        out.update({f"w_{k}": v for k, v in self.weights.items()})
        return out

    def state_dict(self) -> dict[str, Any]:
        return {"lr_g": self.lr_g, "lr_d": self.lr_d, "d_steps": self.d_steps,
                "weights": dict(self.weights), "base": dict(self.base)}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> "Knobs":
        return cls(lr_g=float(state["lr_g"]), lr_d=float(state["lr_d"]),
                   d_steps=int(state["d_steps"]), weights=dict(state["weights"]),
                   base=dict(state["base"]))


class Decider:
    """What every controller shares, of a pair or of a grid: its decision interval, what it logs
    and its checkpointed state."""

    name = "controller"

    def __init__(self, interval: int) -> None:
        self.interval = interval

    def log(self) -> dict[str, float]:
        """Controller-specific values to log with the decision (actions, Q-values, rewards)."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


class Controller(Decider):
    """A pair trainer's controller: `decide` maps (statistics, knobs) to new knobs, always within
    the knob bounds (the policy proposes, `decide` clamps)."""

    needs_quality = False            # True: the trainer measures its quality proxy for `decide`

    def decide(self, stats: dict[str, float], knobs: Knobs) -> Knobs:
        """The policy's knobs for these statistics, clamped to KNOB_RANGE / D_STEPS_RANGE."""
        return self.policy(stats, knobs).clamp()

    def policy(self, stats: dict[str, float], knobs: Knobs) -> Knobs:
        raise NotImplementedError
