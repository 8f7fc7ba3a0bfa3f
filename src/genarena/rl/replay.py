"""A fixed-capacity replay buffer of (state, action, reward, next state, done) transitions."""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor


class ReplayBuffer:
    """Ring buffer in preallocated tensors; sampling uses the caller's generator."""

    def __init__(self, capacity: int, state_dim: int) -> None:
        self.capacity, self.size, self.pos = capacity, 0, 0
        self.s = torch.zeros(capacity, state_dim)
        self.a = torch.zeros(capacity, dtype=torch.long)
        self.r = torch.zeros(capacity)
        self.s2 = torch.zeros(capacity, state_dim)
        self.done = torch.zeros(capacity)

    def add(self, s: Tensor, a: int, r: float, s2: Tensor, done: bool = False) -> None:
        i = self.pos
        self.s[i], self.a[i], self.r[i], self.s2[i], self.done[i] = s, a, r, s2, float(done)
        self.pos = (self.pos + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch: int, rng: torch.Generator) -> tuple[Tensor, ...]:
        idx = torch.randint(self.size, (batch,), generator=rng)
        return self.s[idx], self.a[idx], self.r[idx], self.s2[idx], self.done[idx]

    def __len__(self) -> int:
        return self.size

    def state_dict(self) -> dict[str, Any]:
        n = self.size
        return {"capacity": self.capacity, "pos": self.pos, "size": n, "s": self.s[:n].clone(),
                "a": self.a[:n].clone(), "r": self.r[:n].clone(), "s2": self.s2[:n].clone(),
                "done": self.done[:n].clone()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        n = int(state["size"])
        self.pos, self.size = int(state["pos"]), n
        for key in ("s", "a", "r", "s2", "done"):
            getattr(self, key)[:n] = state[key]
