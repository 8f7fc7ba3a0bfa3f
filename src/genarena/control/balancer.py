"""The RL balancer of the G/D equilibrium (docs/mspg.md): controllers `dqn` and `iqn`.

One MDP step is one controller interval. State: the perception vector plus the knobs relative
to their start (log lr_G, log lr_D, d_steps, log λ_aux). Actions: no-op; lr_D ×/÷ 1.5; lr_G ×/÷
1.5; d_steps ± 1; λ_aux ×/÷ 2. Reward for the previous action:
    −|acc_D − target| − κ·|Δ loss_D| + ρ·Δq,   q = −log(1 + quality proxy),
the proxy being a cheap distance of samples to the training data the trainer measures at each
decision (`needs_quality`). Knob bounds (Knobs.clamp) keep any policy from stalling training.
"""
from __future__ import annotations

import math
from typing import Any

import torch

from genarena.control.base import Controller, Knobs
from genarena.control.perception import PERCEPTION_KEYS, Perception
from genarena.rl.dqn import DQNAgent
from genarena.rl.learner import RLSettings

ACTIONS = ("noop", "lr_d_up", "lr_d_down", "lr_g_up", "lr_g_down", "d_steps_up", "d_steps_down",
           "aux_up", "aux_down")
STATE_DIM = len(PERCEPTION_KEYS) + 4


def apply_action(action: str, knobs: Knobs) -> Knobs:
    """The knob change an action names (clamping happens in the trainer)."""
    if action == "lr_d_up":
        knobs.lr_d *= 1.5
    elif action == "lr_d_down":
        knobs.lr_d /= 1.5
    elif action == "lr_g_up":
        knobs.lr_g *= 1.5
    elif action == "lr_g_down":
        knobs.lr_g /= 1.5
    elif action == "d_steps_up":
        knobs.d_steps += 1
    elif action == "d_steps_down":
        knobs.d_steps -= 1
    elif action in ("aux_up", "aux_down") and "aux" in knobs.weights:
        knobs.weights["aux"] *= 2.0 if action == "aux_up" else 0.5
    return knobs


def _rel(value: float, base: float) -> float:
    return math.log(value / base) if value > 0 and base > 0 else 0.0


def state_vector(seen: dict[str, float], knobs: Knobs) -> torch.Tensor:
    """What an agent sees: the perception vector, then the knobs relative to their start."""
    aux = _rel(knobs.weights.get("aux", 0.0), knobs.base.get("aux", 0.0))
    extra = [_rel(knobs.lr_g, knobs.base["lr_g"]), _rel(knobs.lr_d, knobs.base["lr_d"]),
             knobs.d_steps / 10, aux]
    return torch.tensor([seen[k] for k in PERCEPTION_KEYS] + extra, dtype=torch.float32)


class BalancerController(Controller):
    """A DQN (or IQN) agent choosing one knob action per interval."""

    needs_quality = True

    def __init__(self, interval: int, head: str, settings: RLSettings, seed: int,
                 low: float, high: float, kappa: float, rho: float, updates: int = 1) -> None:
        super().__init__(interval)
        self.updates = updates
        self.name = head
        self.target = (low + high) / 2
        self.kappa, self.rho = kappa, rho
        self.agent = DQNAgent(STATE_DIM, len(ACTIONS), settings, seed, head)
        self.perception = Perception()
        self.prev: dict[str, Any] | None = None
        self.last: dict[str, float] = {}

    def reward(self, stats: dict[str, float], seen: dict[str, float]) -> tuple[float, float]:
        """(reward of the previous action, this decision's quality q)."""
        q = -math.log1p(max(stats.get("quality", 0.0), 0.0))
        if self.prev is None:
            return 0.0, q
        oscillation = abs(stats.get("loss_d", 0.0) - self.prev["loss_d"])
        r = -abs(seen["acc"] - self.target) - self.kappa * oscillation + self.rho * (q - self.prev["q"])
        return r, q

    def policy(self, stats: dict[str, float], knobs: Knobs) -> Knobs:
        seen = self.perception.observe(stats)
        state = state_vector(seen, knobs)
        r, q = self.reward(stats, seen)
        loss = None
        if self.prev is not None:
            self.agent.observe(self.prev["state"], self.prev["action"], r, state)
            for _ in range(self.updates):
                loss = self.agent.learn()
        action, qs = self.agent.act(state)
        self.prev = {"state": state, "action": action, "loss_d": stats.get("loss_d", 0.0), "q": q}
        self.last = {"bal_action": float(action), "bal_reward": r, "bal_q_max": float(qs.max()),
                     "bal_q_mean": float(qs.mean()), "bal_epsilon": self.agent.epsilon,
                     "bal_quality": q}
        if loss is not None:
            self.last["bal_loss"] = loss
        return apply_action(ACTIONS[action], knobs)

    def log(self) -> dict[str, float]:
        return dict(self.last)

    def state_dict(self) -> dict[str, Any]:
        return {"agent": self.agent.state_dict(), "perception": self.perception.state_dict(),
                "prev": self.prev, "last": dict(self.last)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.agent.load_state_dict(state["agent"])
        self.perception.load_state_dict(state["perception"])
        self.prev, self.last = state["prev"], dict(state["last"])
