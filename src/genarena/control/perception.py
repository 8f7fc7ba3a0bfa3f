"""What APFL and the RL balancer perceive of training (docs/mspg.md): one fixed vector per decision.

From the mean statistics of the last `interval` steps: D accuracy on reals and fakes, the
mean accuracy, r = E[sign D(x_real)] = 2·acc_real − 1, loss EMAs and their trends (fast − slow
EMA), log gradient norms of G and D, and a diversity statistic of the fakes (pairwise feature
distance of fakes ÷ that of reals; 1 = as diverse as the data).
"""
from __future__ import annotations

import math
from typing import Any

PERCEPTION_KEYS = ("acc_real", "acc_fake", "acc", "r", "loss_d", "loss_g", "trend_d", "trend_g",
                   "log_grad_g", "log_grad_d", "diversity")
FAST, SLOW = 0.5, 0.1


class Perception:
    """Turns per-interval statistics into the perception vector, keeping loss EMAs."""

    def __init__(self) -> None:
        self.ema: dict[str, float] = {}

    def _update(self, key: str, value: float, rate: float) -> float:
        old = self.ema.get(key, value)
        self.ema[key] = old + rate * (value - old)
        return self.ema[key]

    def observe(self, stats: dict[str, float]) -> dict[str, float]:
        acc_real = stats.get("d_acc_real", 0.5)
        acc_fake = stats.get("d_acc_fake", 0.5)
        out = {"acc_real": acc_real, "acc_fake": acc_fake, "acc": (acc_real + acc_fake) / 2,
               "r": 2 * acc_real - 1}
        for name, key in (("d", "loss_d"), ("g", "loss_g")):
            value = stats.get(key, 0.0)
            fast, slow = self._update(f"{key}_fast", value, FAST), self._update(f"{key}_slow", value, SLOW)
            out[key], out[f"trend_{name}"] = fast, fast - slow
        out["log_grad_g"] = math.log10(stats.get("grad_norm_g", 1.0) + 1e-8)
        out["log_grad_d"] = math.log10(stats.get("grad_norm_d", 1.0) + 1e-8)
        out["diversity"] = stats.get("diversity", 1.0)
        return out

    def state_dict(self) -> dict[str, Any]:
        return {"ema": dict(self.ema)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.ema = dict(state["ema"])
