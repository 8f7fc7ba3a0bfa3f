"""Per-agent utilities for multi-agent value factorisation: one network shared by all agents,
told apart by a one-hot agent id. Expected agents give Q_k(o, a); distributional agents (IQN)
give quantiles F⁻¹_k(o, a; ω) at fractions ω shared by all agents (SPEC 9).

IQN's raw outputs may cross (a higher ω getting a lower value). Given ascending fractions, the
outputs are rearranged into ascending order (Chernozhukov et al. 2010): the result is a proper,
monotone quantile function, with the same mean, and every mixer of SPEC 9 keeps it monotone.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from genarena.rl.dqn import q_network
from genarena.rl.iqn import IQNNetwork


class AgentUtilities(nn.Module):
    """obs (B, K, O), ascending ω (B, N) or None -> utilities (B, N, K, A) (N = 1: expected)."""

    def __init__(self, n_agents: int, obs_dim: int, n_actions: int, hidden: int,
                 distributional: bool, n_cos: int = 64) -> None:
        super().__init__()
        self.n_agents, self.distributional = n_agents, distributional
        self.register_buffer("ids", torch.eye(n_agents))
        inputs = obs_dim + n_agents
        self.net = (IQNNetwork(inputs, n_actions, hidden, n_cos) if distributional
                    else q_network(inputs, n_actions, hidden))

    def forward(self, obs: Tensor, taus: Tensor | None = None) -> Tensor:
        b, k, _ = obs.shape
        x = torch.cat([obs, self.ids.expand(b, k, k)], -1).reshape(b * k, -1)
        if self.distributional:
            if taus is None:
                raise ValueError("distributional agents need quantile fractions")
            out = self.net(x, taus.repeat_interleave(k, 0)).sort(1).values  # (B·K, N, A)
        else:
            out = self.net(x)[:, None, :]                                 # (B·K, 1, A)
        return out.view(b, k, out.shape[1], -1).transpose(1, 2)
