"""Cooperative multi-agent Q-learning with value factorisation and its distributional (DFAC)
variants (Sun et al. 2021; docs/dfac.md): IQL, VDN, QMIX and DIQL, DDN, DMIX behind one learner.

Agents share one utility network (`AgentUtilities`); a mixer (`rl.mixers`) combines the chosen
actions' utilities into the joint value, trained on episodes from replay against target
networks: mean-squared TD error for expected methods, the quantile Huber loss (κ = 1) over N×N'
quantile pairs for distributional ones. Acting is ε-greedy on each agent's expected utility
(the mean over fixed quantile midpoints), which is the joint greedy action for every monotone
mixer (DIGM). Every random draw uses the learner's own generator, saved in its state.

With `reward_scaling` the loss sees rewards divided by the running standard deviation of every
reward stored so far (EPyMARL's `standardise_rewards` without its mean shift: a scale keeps the
optimal policy and the return distribution's shape, a shift per step would not where episodes
terminate early). Sparse tasks such as level-based foraging need it for their rare rewards to
stand out of the TD noise.
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genarena.rl.agents import AgentUtilities, RecurrentAgentUtilities
from genarena.rl.episodes import Episode, EpisodeReplay
from genarena.rl.iqn import quantile_huber_loss
from genarena.rl.learner import RLSettings, ValueLearner
from genarena.rl.mixers import METHODS, build_mixer


class MultiAgentLearner(ValueLearner):
    """act(obs) -> joint action; store(episode); learn() -> loss; joint_quantiles(...)."""

    online: nn.ModuleDict               # "agents", and "mixer" for a factorised method
    target: nn.ModuleDict

    def __init__(self, method: str, n_agents: int, obs_dim: int, state_dim: int, n_actions: int,
                 horizon: int, settings: RLSettings, seed: int, recurrent: bool = False) -> None:
        if method not in METHODS:
            raise ValueError(f"unknown factorisation method '{method}' (known: {', '.join(METHODS)})")
        self.spec, self.settings = METHODS[method], settings
        self.n_agents, self.n_actions = n_agents, n_actions
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.agents: AgentUtilities | RecurrentAgentUtilities = (
                RecurrentAgentUtilities(n_agents, obs_dim, n_actions, settings.hidden,
                                        self.spec.distributional,
                                        last_action=settings.last_action,
                                        fast=settings.fast_update) if recurrent
                else AgentUtilities(n_agents, obs_dim, n_actions, settings.hidden,
                                    self.spec.distributional, fast=settings.fast_update))
            self.mixer = build_mixer(self.spec, n_agents, state_dim, settings.mixer_embed,
                                     settings.hypernet_embed)
        online = nn.ModuleDict({"agents": self.agents, **({"mixer": self.mixer} if self.mixer
                                                         else {})})
        self._setup(online, EpisodeReplay(settings.replay, horizon, n_agents, obs_dim, state_dim,
                                          per_agent_reward=self.spec.mixer is None,
                                          n_actions=n_actions), seed)
        self.reward_moments = torch.zeros(3, dtype=torch.float64)   # count, sum, sum of squares

    @property
    def method(self) -> str:
        return self.spec.name

    # quantile fractions ---------------------------------------------------------------------
    def midpoints(self, batch: int, n: int | None = None) -> Tensor | None:
        """Fixed fractions (i + ½)/N for acting and evaluation; None for expected agents."""
        if not self.spec.distributional:
            return None
        n = n or self.settings.quantiles
        return ((torch.arange(n) + 0.5) / n).expand(batch, n)

    def _sampled(self, batch: int, n: int) -> Tensor | None:
        """Sampled fractions for a batch of teams: one row per team, shared by its agents (DDN,
        DMIX mix quantiles at the same fractions); DIQL's agents, each its own learner, draw
        their own row each (B·K rows), as DFAC's IQNRNNAgent does for diql."""
        if not self.spec.distributional:
            return None
        rows = batch * (self.n_agents if self.spec.mixer is None else 1)
        return torch.rand(rows, n, generator=self.rng).sort(1).values     # ascending, as agents need

    # acting ---------------------------------------------------------------------------------
    @torch.no_grad()
    def q_values(self, obs: Tensor) -> Tensor:
        """Each agent's expected utilities (K, A) of observations (K, O)."""
        return self.agents(obs[None], self.midpoints(1))[0].mean(0)

    def act(self, obs: Tensor, greedy: bool = False) -> Tensor:
        """Joint action (K,): per agent, ε-greedy on its expected utility (never random if greedy)."""
        q = self.q_values(obs)
        actions = q.argmax(1)
        explore = torch.rand(self.n_agents, generator=self.rng) < self.epsilon
        randoms = torch.randint(self.n_actions, (self.n_agents,), generator=self.rng)
        if not greedy:
            self.decisions += 1
            actions = torch.where(explore, randoms, actions)
        return actions

    @torch.no_grad()
    def act_teams(self, obs: Tensor, avail: Tensor, hidden: Tensor | None, last: Tensor,
                  epsilon: float | None = None, rng: torch.Generator | None = None
                  ) -> tuple[Tensor, Tensor | None]:
        """Joint actions (E, K) of E teams acting at once (parallel environments): per agent
        ε-greedy on its expected utility over its available actions (avail (E, K, A) bool),
        the random action uniform over those. Recurrent agents advance `hidden` (E, K, H) on
        the observation and their last actions `last` (E, K; −1 at the start).

        `epsilon` None: training, at the schedule's ε, drawing from the learner's generator; ε
        falls with the decisions, one per team and step (environment steps). A number: a test
        at that fixed ε (0: greedy), drawing from `rng`, so tests never move the training's
        random stream or its schedule."""
        e = len(obs)
        feats = obs
        if isinstance(self.agents, RecurrentAgentUtilities):
            assert hidden is not None
            feats = self.agents.step(obs, last, hidden)
        q = self.agents(feats, self.midpoints(e)).mean(1).masked_fill(~avail, -torch.inf)
        actions = q.argmax(-1)
        if epsilon is None or epsilon > 0:
            draws = self.rng if epsilon is None else rng
            if draws is None:
                raise ValueError("a test at a positive ε needs its own generator (rng)")
            explore = torch.rand(e, self.n_agents, generator=draws) < (
                self.epsilon if epsilon is None else epsilon)
            randoms = torch.multinomial(avail.flatten(0, 1).float(), 1,
                                        generator=draws).view(e, self.n_agents)
            actions = torch.where(explore, randoms, actions)
        if epsilon is None:
            self.decisions += e
        return actions, (feats if self.agents.recurrent else None)

    # values ---------------------------------------------------------------------------------
    def joint_quantiles(self, obs: Tensor, state: Tensor, actions: Tensor, taus: Tensor | None,
                        nets: nn.ModuleDict | None = None) -> Tensor:
        """Joint values (B, N) of joint actions (B, K) — or (B, N, K) for independent learners."""
        nets = nets or self.online
        z = nets["agents"](obs, taus)                                         # (B, N, K, A)
        n = z.shape[1]
        chosen = z.gather(3, actions[:, None, :, None].expand(-1, n, -1, 1))[..., 0]
        return nets["mixer"](chosen, state) if "mixer" in nets else chosen

    # learning -------------------------------------------------------------------------------
    def store(self, episode: Episode) -> None:
        self.replay.add(episode)
        r = episode.reward.double().flatten()
        self.reward_moments += torch.stack([torch.tensor(float(len(r)), dtype=torch.float64),
                                            r.sum(), (r * r).sum()])

    @property
    def reward_scale(self) -> float:
        """The divisor of rewards in the loss: their running sd (1 without reward_scaling, or
        while the rewards seen have no spread)."""
        n, total, squares = self.reward_moments.tolist()
        if not self.settings.reward_scaling or n < 2:
            return 1.0
        var = max(squares / n - (total / n) ** 2, 0.0)
        return var ** 0.5 if var > 1e-12 else 1.0

    def learning_rewards(self, batch: dict[str, Tensor]) -> Tensor:
        """The rewards the loss sees: as collected; divided by their running sd
        (`reward_scaling`); or, with `reward_standardise`, EPyMARL's standardise_rewards as the
        paper ran it (commit 83a745bc): minus the mean, over the sd + 1e-5, of the whole
        sampled batch, padded steps included."""
        r = batch["reward"]
        if self.settings.reward_standardise:
            return (r - r.mean()) / (r.std() + 1e-5)
        return r / self.reward_scale

    def learn(self) -> float | None:
        """One gradient step on a batch of episodes; None until the replay holds a batch."""
        s = self.settings
        if len(self.replay) < s.batch:
            return None
        return self._update(self._loss(self.replay.sample(s.batch, self.rng)), s.grad_clip)

    def _terminal(self, batch: dict[str, Tensor]) -> Tensor:
        """(B, T) 1 where a step's target has no next state: the task ended there, or, with
        time_limit_terminal, it is the episode's last step whatever ended it (EPyMARL's gym
        wrapper returns no episode_limit info, so its runner stores a time limit as terminal)."""
        if not self.settings.time_limit_terminal:
            return batch["terminated"]
        mask = batch["mask"]
        last = mask - torch.cat([mask[:, 1:], torch.zeros_like(mask[:, :1])], 1)
        return torch.maximum(batch["terminated"], last)

    def _loss(self, batch: dict[str, Tensor]) -> Tensor:
        """TD loss over every valid transition of an episode batch, on the agents' features
        (observations, or the recurrent agents' hidden states unrolled over each episode)."""
        s, k = self.settings, self.n_agents
        valid = batch["mask"].flatten() > 0
        flat = lambda x: x.flatten(0, 1)[valid]                                # noqa: E731
        feats = self.agents.features(batch["obs"], batch["actions"])
        target_agents = self.target["agents"]
        if isinstance(target_agents, RecurrentAgentUtilities):
            with torch.no_grad():
                target_feats = target_agents.features(batch["obs"], batch["actions"])
        else:
            target_feats = feats
        obs, obs2 = flat(feats[:, :-1]), flat(feats[:, 1:])
        target_obs2 = flat(target_feats[:, 1:])
        avail2 = flat(batch["avail"][:, 1:])
        st, st2 = flat(batch["state"][:, :-1]), flat(batch["state"][:, 1:])
        actions, reward = flat(batch["actions"]), flat(self.learning_rewards(batch))
        cont = 1.0 - flat(self._terminal(batch))
        m = len(obs)
        taus = self._sampled(m, s.quantiles)
        pred = self.joint_quantiles(obs, st, actions, taus)
        with torch.no_grad():
            # detached: a view made under no_grad of a tensor that needs grad trips torch's
            # module tracker (the FLOP counter of bench throughput); the values are the same
            q2 = self.agents(obs2.detach(), self.midpoints(m)).mean(1)
            q2 = q2.masked_fill(~avail2, -torch.inf)
            best = q2.argmax(-1)                                      # online picks (double Q)
            z2 = self.joint_quantiles(target_obs2, st2, best,
                                      self._sampled(m, s.target_quantiles), self.target)
            if self.spec.mixer is None:                                       # (M, N', K)
                target = reward[:, None, :] + s.gamma * cont[:, None, None] * z2
            else:                                                             # (M, N')
                target = reward[:, None] + s.gamma * cont[:, None] * z2
        if self.spec.mixer is None:                  # every agent its own learner: fold agents in
            pred = pred.permute(0, 2, 1).reshape(m * k, -1)
            target = target.permute(0, 2, 1).reshape(m * k, -1)
        if self.spec.distributional:
            assert taus is not None
            return quantile_huber_loss(pred, target, taus)
        return F.mse_loss(pred[:, 0], target[:, 0])

    # state: the learner's, plus which method it is ----------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"method": self.method, "reward_moments": self.reward_moments.clone(),
                **super().state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        if "reward_moments" in state:               # checkpoints from before reward scaling
            self.reward_moments = state["reward_moments"].clone()
