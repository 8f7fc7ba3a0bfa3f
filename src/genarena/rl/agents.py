"""Per-agent utilities for multi-agent value factorisation: one network shared by all agents,
told apart by a one-hot agent id. Expected agents give Q_k(o, a); distributional agents (IQN)
give quantiles F⁻¹_k(o, a; ω) at fractions ω shared by all agents (docs/dfac.md).

Two kinds share one interface. `features(obs, actions)` turns an episode batch's observations
(B, T+1, K, O) into what the utility head reads at each step: the observations themselves for
the feed-forward agents (the matrix game, the grid controller), the GRU's hidden state for the
recurrent agents of PyMARL/EPyMARL (fc → ReLU → GRUCell → head; inputs: observation, the
agent's last action and its id). `forward(features, taus)` maps one step's features to
utilities. The learner's loss is written once over features, for both kinds.

IQN's raw outputs may cross (a higher ω getting a lower value). Given ascending fractions, the
outputs are rearranged into ascending order (Chernozhukov et al. 2010): the result is a proper,
monotone quantile function, with the same mean, and every mixer of docs/dfac.md keeps it monotone.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from genarena.rl.dqn import q_network
from genarena.rl.iqn import IQNNetwork, QuantileEmbedding


class AgentUtilities(nn.Module):
    """obs (B, K, O), ascending ω (B, N) or None -> utilities (B, N, K, A) (N = 1: expected)."""

    def __init__(self, n_agents: int, obs_dim: int, n_actions: int, hidden: int,
                 distributional: bool, n_cos: int = 64, fast: bool = False) -> None:
        super().__init__()
        self.n_agents, self.distributional, self.fast = n_agents, distributional, fast
        self.ids: Tensor
        self.register_buffer("ids", torch.eye(n_agents))
        inputs = obs_dim + n_agents
        self.net = (IQNNetwork(inputs, n_actions, hidden, n_cos) if distributional
                    else q_network(inputs, n_actions, hidden))

    recurrent = False

    def features(self, obs: Tensor, actions: Tensor | None = None) -> Tensor:
        """Feed-forward agents read each step's observation as it is."""
        return obs

    def forward(self, obs: Tensor, taus: Tensor | None = None) -> Tensor:
        b, k, _ = obs.shape
        x = torch.cat([obs, self.ids.expand(b, k, k)], -1).reshape(b * k, -1)
        return _utilities(self, x, taus, b, k)


def _utilities(agents: AgentUtilities | RecurrentAgentUtilities, x: Tensor, taus: Tensor | None,
               b: int, k: int) -> Tensor:
    """(B·K, F) per-agent rows -> utilities (B, N, K, A); quantiles rearranged ascending. `taus`:
    a team's fractions (B, N), embedded once per agent or (`fast`) once and shared by its agents;
    or each agent's own (B·K, N)."""
    net = agents.net
    if agents.distributional:
        if taus is None:
            raise ValueError("distributional agents need quantile fractions")
        if len(taus) == b * k:
            out = net(x, taus)
        else:
            out = net(x, taus, k) if agents.fast else net(x, taus.repeat_interleave(k, 0))
        out = out.sort(1).values                                          # (B·K, N, A)
    else:
        out = net(x)[:, None, :]                                          # (B·K, 1, A)
    return out.view(b, k, out.shape[1], -1).transpose(1, 2)


class _QuantileHead(nn.Module):
    """IQN head on a hidden state as DFAC's recurrent agent (`IQNRNNAgent`, j3soon/dfac@4ab58e4):
    one linear layer on h ⊙ φ(τ), in place of the expected agent's linear layer on h."""

    def __init__(self, hidden: int, n_actions: int, n_cos: int) -> None:
        super().__init__()
        self.phi = QuantileEmbedding(hidden, n_cos)
        self.head = nn.Linear(hidden, n_actions)

    def forward(self, h: Tensor, taus: Tensor, repeat: int = 1) -> Tensor:
        """h (B·repeat, H), τ (B, N): each row of τ serves `repeat` consecutive hidden states."""
        return self.head(h[:, None, :] * self.phi(taus, repeat))


class RecurrentAgentUtilities(nn.Module):
    """PyMARL's RNN agent shared by all agents: input [observation, one-hot last action (unless
    `last_action` is off, as EPyMARL's obs_last_action: False), one-hot id] → Linear → ReLU →
    GRUCell(hidden) → utilities (a linear head; an IQN head for distributional agents).
    `features` unrolls the GRU over an episode batch from a zero state; `step` advances it one
    step while acting. `fast` (marl.fast_update): `features` runs the episode batch as one
    sequence and a team's quantile fractions are embedded once (within float32 rounding)."""

    recurrent = True

    def __init__(self, n_agents: int, obs_dim: int, n_actions: int, hidden: int,
                 distributional: bool, n_cos: int = 64, last_action: bool = True,
                 fast: bool = False) -> None:
        super().__init__()
        self.n_agents, self.n_actions, self.hidden, self.fast = n_agents, n_actions, hidden, fast
        self.distributional, self.last_action = distributional, last_action
        self.ids: Tensor
        self.register_buffer("ids", torch.eye(n_agents))
        self.fc = nn.Linear(obs_dim + (n_actions if last_action else 0) + n_agents, hidden)
        self.gru = nn.GRUCell(hidden, hidden)
        self.net = (_QuantileHead(hidden, n_actions, n_cos) if distributional
                    else nn.Linear(hidden, n_actions))

    def initial(self, batch: int) -> Tensor:
        """The zero hidden state of `batch` teams, (batch, K, hidden)."""
        return self.ids.new_zeros(batch, self.n_agents, self.hidden)

    def _inputs(self, obs: Tensor, last_actions: Tensor) -> Tensor:
        """obs (..., K, O), last actions (..., K) (−1: none yet) -> ReLU(fc(input)) (..., K, H)."""
        parts = [obs]
        if self.last_action:
            last = nn.functional.one_hot(last_actions.clamp(min=0), self.n_actions).float()
            parts.append(last * (last_actions >= 0)[..., None])
        ids = self.ids.expand(*obs.shape[:-1], self.n_agents)
        return torch.relu(self.fc(torch.cat([*parts, ids], -1)))

    def step(self, obs: Tensor, last_actions: Tensor, h: Tensor) -> Tensor:
        """obs (B, K, O), last actions (B, K) (−1: none yet), h (B, K, H) -> the next h."""
        b, k, _ = obs.shape
        x = self._inputs(obs, last_actions).reshape(b * k, -1)
        return self.gru(x, h.reshape(b * k, -1)).view(b, k, -1)

    def features(self, obs: Tensor, actions: Tensor | None = None) -> Tensor:
        """obs (B, T+1, K, O) and the actions taken (B, T, K) -> hidden states (B, T+1, K, H),
        the state at t having read the observations up to t and the actions before t: `step`
        repeated from a zero state, or (`fast`) the same arithmetic as one sequence."""
        b, steps, k = obs.shape[:3]
        assert actions is not None
        last = torch.cat([actions.new_full((b, 1, k), -1), actions], 1)  # (B, T+1, K)
        if self.fast:
            return self._sequence(obs, last)
        h, out = self.initial(b), []
        for t in range(steps):
            h = self.step(obs[:, t], last[:, t], h)
            out.append(h)
        return torch.stack(out, 1)

    def _sequence(self, obs: Tensor, last: Tensor) -> Tensor:
        """The unroll as one sequence: the input layer over every step at once and the GRU
        cell's own weights run by PyTorch's sequence GRU (one dispatch per episode batch instead
        of one per step). Equal values; gradients summed in another order (docs/performance.md)."""
        b, steps, k = obs.shape[:3]
        x = self._inputs(obs, last).transpose(0, 1).reshape(steps, b * k, -1)
        cell = self.gru
        h, _ = torch.gru(x, x.new_zeros(1, b * k, self.hidden),
                         [cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh],
                         True, 1, 0.0, self.training, False, False)
        return h.view(steps, b, k, -1).transpose(0, 1)

    def forward(self, h: Tensor, taus: Tensor | None = None) -> Tensor:
        b, k, _ = h.shape
        return _utilities(self, h.reshape(b * k, -1), taus, b, k)
