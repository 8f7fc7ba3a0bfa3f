"""The Double DQN agent (van Hasselt 2016) with replay, a target network and ε-greedy
exploration; `head="iqn"` swaps the Q-network for an implicit quantile network.

Every random draw uses the agent's own generator, saved in its state, so a resumed run acts
exactly as an uninterrupted one.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genarena.rl.iqn import IQNNetwork, quantile_huber_loss
from genarena.rl.learner import RLSettings, ValueLearner
from genarena.rl.replay import ReplayBuffer


def q_network(state_dim: int, n_actions: int, hidden: int) -> nn.Module:
    return nn.Sequential(nn.Linear(state_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                         nn.ReLU(), nn.Linear(hidden, n_actions))


class DQNAgent(ValueLearner):
    """act(state) -> (action, Q-values); observe(transition); learn() -> loss or None."""

    def __init__(self, state_dim: int, n_actions: int, settings: RLSettings, seed: int,
                 head: str = "dqn") -> None:
        if head not in ("dqn", "iqn"):
            raise ValueError(f"unknown agent head '{head}'")
        self.settings, self.head, self.n_actions = settings, head, n_actions
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            online = (IQNNetwork(state_dim, n_actions, settings.hidden) if head == "iqn"
                      else q_network(state_dim, n_actions, settings.hidden))
        self._setup(online, ReplayBuffer(settings.replay, state_dim), seed)

    # acting ---------------------------------------------------------------------------------

    def _taus(self, batch: int, n: int) -> Tensor:
        return torch.rand(batch, n, generator=self.rng)

    def q_values(self, states: Tensor, net: nn.Module | None = None) -> Tensor:
        """(B, A) expected returns (IQN: the mean over sampled quantiles)."""
        net = net or self.online
        if self.head == "iqn":
            return net(states, self._taus(len(states), self.settings.quantiles)).mean(1)
        return net(states)

    def act(self, state: Tensor, greedy: bool = False) -> tuple[int, Tensor]:
        """ε-greedy action (greedy=True: never explore) and the state's Q-values."""
        with torch.no_grad():
            q = self.q_values(state[None])[0]
        explore = torch.rand((), generator=self.rng).item() < self.epsilon
        random_action = int(torch.randint(self.n_actions, (), generator=self.rng))
        self.decisions += 0 if greedy else 1
        return (random_action if explore and not greedy else int(q.argmax())), q

    # learning -------------------------------------------------------------------------------
    def observe(self, s: Tensor, a: int, r: float, s2: Tensor, done: bool = False) -> None:
        self.replay.add(s, a, r, s2, done)

    def learn(self) -> float | None:
        """One gradient step on a replay batch (Double DQN targets); None until enough data."""
        s = self.settings
        if len(self.replay) < s.batch:
            return None
        st, a, r, st2, done = self.replay.sample(s.batch, self.rng)
        loss = self._iqn_loss(st, a, r, st2, done) if self.head == "iqn" else \
            self._dqn_loss(st, a, r, st2, done)
        return self._update(loss, s.grad_clip)

    def _dqn_loss(self, st: Tensor, a: Tensor, r: Tensor, st2: Tensor, done: Tensor) -> Tensor:
        with torch.no_grad():
            best = self.online(st2).argmax(1, keepdim=True)              # Double DQN: online picks
            y = r + self.settings.gamma * (1 - done) * self.target(st2).gather(1, best)[:, 0]
        return F.smooth_l1_loss(self.online(st).gather(1, a[:, None])[:, 0], y)

    def _iqn_loss(self, st: Tensor, a: Tensor, r: Tensor, st2: Tensor, done: Tensor) -> Tensor:
        n = self.settings.quantiles
        taus = self._taus(len(st), n)
        pred = self.online(st, taus).gather(2, a[:, None, None].expand(-1, n, 1))[..., 0]
        with torch.no_grad():
            best = self.q_values(st2).argmax(1)                           # online picks
            z2 = self.target(st2, self._taus(len(st), n))
            z2 = z2.gather(2, best[:, None, None].expand(-1, n, 1))[..., 0]
            target = r[:, None] + self.settings.gamma * (1 - done[:, None]) * z2
        return quantile_huber_loss(pred, target, taus)
