"""Episode loops for a multi-agent learner on an environment with reset() -> (obs, state) and
step(actions) -> (obs, state, reward, done): collect an episode, or train for many."""
from __future__ import annotations

from typing import Protocol

import torch
from torch import Tensor

from genarena.rl.dfac import MultiAgentLearner
from genarena.rl.episodes import Episode


class MultiAgentEnv(Protocol):
    horizon: int

    def reset(self) -> tuple[Tensor, Tensor]: ...
    def step(self, actions: Tensor) -> tuple[Tensor, Tensor, float, bool]: ...


def run_episode(learner: MultiAgentLearner, env: MultiAgentEnv, greedy: bool = False
                ) -> tuple[Episode, float]:
    """One episode (at most env.horizon steps) and its undiscounted return."""
    obs, state = env.reset()
    all_obs, all_states, actions, rewards, ends = [obs], [state], [], [], []
    for _ in range(env.horizon):
        a = learner.act(obs, greedy)
        obs, state, r, done = env.step(a)
        all_obs.append(obs)
        all_states.append(state)
        actions.append(a)
        rewards.append(r)
        ends.append(float(done))
        if done:
            break
    episode = Episode(torch.stack(all_obs), torch.stack(all_states), torch.stack(actions),
                      torch.tensor(rewards), torch.tensor(ends))
    return episode, float(sum(rewards))


def train(learner: MultiAgentLearner, env: MultiAgentEnv, episodes: int,
          updates_per_episode: int = 1) -> list[float]:
    """Collect `episodes` ε-greedy episodes, learning after each; the losses of the updates."""
    losses = []
    for _ in range(episodes):
        learner.store(run_episode(learner, env)[0])
        for _ in range(updates_per_episode):
            loss = learner.learn()
            if loss is not None:
                losses.append(loss)
    return losses
