"""Replay of whole episodes, padded to a fixed horizon, for multi-agent learners.

An episode of T ≤ horizon steps holds obs (T+1, K, O) and state (T+1, S) — the last ones let a
truncated episode bootstrap — actions (T, K), rewards (T,) for a team or (T, K) per agent, and
terminated (T,), and the actions available to each agent, avail (T+1, K, A) (None: all).
Sampling returns (B, horizon, ...) tensors with a validity mask.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor


@dataclass
class Episode:
    """One episode's tensors (see the module docstring for shapes)."""
    obs: Tensor
    state: Tensor
    actions: Tensor
    reward: Tensor
    terminated: Tensor
    avail: Tensor | None = None

    def __len__(self) -> int:
        return len(self.actions)


FIELDS = ("obs", "state", "actions", "reward", "terminated", "mask", "avail")
WITH_LAST_STEP = ("obs", "state", "avail")        # T + 1 entries: the state after the last step


class EpisodeReplay:
    """A ring buffer of `capacity` episodes in preallocated tensors."""

    def __init__(self, capacity: int, horizon: int, n_agents: int, obs_dim: int, state_dim: int,
                 per_agent_reward: bool = False, n_actions: int = 1) -> None:
        self.capacity, self.horizon, self.size, self.pos = capacity, horizon, 0, 0
        t, k = horizon, n_agents
        self.data = {
            "obs": torch.zeros(capacity, t + 1, k, obs_dim),
            "state": torch.zeros(capacity, t + 1, state_dim),
            "actions": torch.zeros(capacity, t, k, dtype=torch.long),
            "reward": torch.zeros((capacity, t, k) if per_agent_reward else (capacity, t)),
            "terminated": torch.zeros(capacity, t),
            "mask": torch.zeros(capacity, t),
            "avail": torch.ones(capacity, t + 1, k, n_actions, dtype=torch.bool),
        }

    def add(self, ep: Episode) -> None:
        t = len(ep)
        if not 1 <= t <= self.horizon:
            raise ValueError(f"episode of {t} steps does not fit horizon {self.horizon}")
        i = self.pos
        for key in FIELDS:
            self.data[key][i].zero_()
        self.data["obs"][i, :t + 1] = ep.obs
        self.data["state"][i, :t + 1] = ep.state
        self.data["actions"][i, :t] = ep.actions
        reward = self.data["reward"][i, :t]
        reward.copy_(ep.reward[:, None].expand_as(reward) if ep.reward.dim() < reward.dim()
                     else ep.reward)                   # a team reward shared by every agent
        self.data["terminated"][i, :t] = ep.terminated
        self.data["mask"][i, :t] = 1.0
        self.data["avail"][i].fill_(True)
        if ep.avail is not None:
            self.data["avail"][i, :t + 1] = ep.avail
        self.pos = (self.pos + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch: int, rng: torch.Generator) -> dict[str, Tensor]:
        """`batch` episodes drawn uniformly (with replacement), cut to the longest of them as
        PyMARL's run loop does ("truncate batch to only filled timesteps"): the padding a batch
        carries, and so what a statistic over the whole batch sees, is EPyMARL's."""
        idx = torch.randint(self.size, (batch,), generator=rng)
        t = int(self.data["mask"][idx].sum(1).max())
        return {k: v[idx, :t + 1] if k in WITH_LAST_STEP else v[idx, :t]
                for k, v in self.data.items()}

    def __len__(self) -> int:
        return self.size

    def state_dict(self) -> dict[str, Any]:
        n = self.size
        return {"pos": self.pos, "size": n, **{k: v[:n].clone() for k, v in self.data.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        n = int(state["size"])
        self.pos, self.size = int(state["pos"]), n
        for key in FIELDS:
            if key in state:                     # checkpoints from before `avail` have all
                self.data[key][:n] = state[key]
