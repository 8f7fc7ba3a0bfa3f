"""What every value learner here shares: an online network and its target copy, Adam, a replay
buffer, its own random generator, the linear ε schedule, the update step and checkpoint state.
`DQNAgent` (one agent) and `MultiAgentLearner` (a factorised team) build on it."""
from __future__ import annotations

import copy
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor, nn


@dataclass
class RLSettings:
    """Hyperparameters of every value learner, one agent (the balancer) or a factorised team
    (DFAC). In training the controller config section supplies them all (its defaults are these);
    the matrix-game bench sets its own."""
    hidden: int = 64                   # width of the networks' hidden layers
    lr: float = 1e-3
    gamma: float = 0.9
    replay: int = 5000                 # transitions (one agent) or episodes (a team)
    batch: int = 32                    # replay samples per update
    target_update: int = 50            # updates between target-network copies
    target_tau: float = 0.0            # > 0: after every update target ← lerp(target, online, τ)
    epsilon_start: float = 1.0
    epsilon_end: float = 0.05
    epsilon_decay: int = 200           # decisions over which ε falls linearly
    quantiles: int = 16                # N: sampled fractions of an IQN prediction
    target_quantiles: int = 16         # N': sampled fractions of its target (teams)
    mixer_embed: int = 32              # QMIX / DMIX mixing width (teams)
    hypernet_embed: int = 0            # QMIX / DMIX: 0 one-layer hypernetworks, else two this wide
    grad_clip: float = 10.0
    reward_scaling: bool = False       # teams: learn on rewards / their running sd (see dfac)
    reward_standardise: bool = False   # teams: each batch's rewards standardised (EPyMARL 2021)
    last_action: bool = True           # recurrent teams: agents also read their last action
    fast_update: bool = False          # teams: the faster arithmetic, within float32 rounding
    time_limit_terminal: bool = False  # teams: an episode's last step is terminal (target 0),
                                       # time limit or not (EPyMARL's gym wrapper)


class ValueLearner:
    """Subclasses set `settings` (an RLSettings), then call `_setup`."""

    settings: RLSettings

    def _setup(self, online: nn.Module, replay: Any, seed: int) -> None:
        self.rng = torch.Generator().manual_seed(seed)
        self.online = online
        self.target = copy.deepcopy(online).requires_grad_(False)
        # foreach: one kernel over all parameters, the per-parameter loop's arithmetic bit for bit
        self.opt = torch.optim.Adam(online.parameters(), lr=self.settings.lr, foreach=True)
        self.replay = replay
        self.decisions, self.updates = 0, 0

    @property
    def epsilon(self) -> float:
        """Linear from epsilon_start to epsilon_end over epsilon_decay decisions."""
        s = self.settings
        frac = min(self.decisions / s.epsilon_decay, 1.0)
        return s.epsilon_start + frac * (s.epsilon_end - s.epsilon_start)

    def _update(self, loss: Tensor, grad_clip: float = 10.0) -> float:
        """One optimiser step on `loss`, then the target: a copy of the online net every
        target_update updates, or (target_tau > 0) a step of τ towards it after every update
        (EPyMARL's soft targets)."""
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.online.parameters(), grad_clip)
        self.opt.step()
        self.updates += 1
        tau = self.settings.target_tau
        if tau > 0:
            with torch.no_grad():
                torch._foreach_lerp_(list(self.target.parameters()),
                                     list(self.online.parameters()), tau)
        elif self.updates % self.settings.target_update == 0:
            self.target.load_state_dict(self.online.state_dict())
        return loss.item()

    def state_dict(self) -> dict[str, Any]:
        return {"online": self.online.state_dict(), "target": self.target.state_dict(),
                "opt": self.opt.state_dict(), "replay": self.replay.state_dict(),
                "rng": self.rng.get_state(), "decisions": self.decisions, "updates": self.updates,
                "settings": asdict(self.settings)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.online.load_state_dict(state["online"])
        self.target.load_state_dict(state["target"])
        self.opt.load_state_dict(copy.deepcopy(state["opt"]))
        self.replay.load_state_dict(state["replay"])
        self.rng.set_state(state["rng"])
        self.decisions, self.updates = int(state["decisions"]), int(state["updates"])
