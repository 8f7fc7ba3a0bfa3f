"""Cooperative multi-agent tasks behind one interface, for the DFAC learners (docs/dfac.md).

A task has n_agents, n_actions, obs_dim, state_dim and horizon; `reset(seed)` returns
(obs (K, O), state (S,), avail (K, A) bool) and `step(actions (K,))` returns
(obs, state, avail, team reward, terminated, truncated). Terminated means the task ended (the
target is 0 there); truncated means the time limit cut it (the target bootstraps). Every
episode is seeded by the caller, so a run's episodes depend only on its seed and its actions:
a resumed run replays exactly.

Adapters: PettingZoo's parallel API (`ParallelTask`, e.g. MPE's simple_spread), level-based
foraging (`ForagingTask`, lbforaging's gymnasium environment) and the two-step matrix game.
Their packages are the `marl` extra, imported only when a task is built.
"""
from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, Protocol

import numpy as np
import torch
from torch import Tensor

from genarena.errors import UserError

Observation = tuple[Tensor, Tensor, Tensor]
Transition = tuple[Tensor, Tensor, Tensor, float, bool, bool]


class Task(Protocol):
    n_agents: int
    n_actions: int
    obs_dim: int
    state_dim: int
    horizon: int

    def reset(self, seed: int) -> Observation: ...
    def step(self, actions: Tensor) -> Transition: ...
    def close(self) -> None: ...


def _import(module: str, extra: str = "marl") -> Any:
    """Import a task's package; pygame's import banner (MPE) is kept off the user's stdout."""
    import importlib
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return importlib.import_module(module)
    except ImportError as exc:
        raise UserError(f"config key 'marl.task': needs the '{module.split('.')[0]}' package "
                        f"(pip install 'genarena[{extra}]'): {exc}") from None


class ParallelTask:
    """A PettingZoo parallel environment: observations stacked in `possible_agents` order, its
    `state()` for the mixers (the agents' observations concatenated where it has none), the team
    reward the sum of the agents' rewards (EPyMARL's common reward), every action available."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self.env = make()
        self.agents = list(self.env.possible_agents)
        self.n_agents = len(self.agents)
        self.n_actions = int(self.env.action_space(self.agents[0]).n)
        self.obs_dim = int(np.prod(self.env.observation_space(self.agents[0]).shape))
        base = getattr(self.env, "unwrapped", self.env)
        self.horizon = int(getattr(base, "max_cycles", 0) or getattr(self.env, "max_cycles"))
        obs, _ = self.env.reset(seed=0)
        self.state_dim = len(self._state(obs))

    def _state(self, obs: dict[str, Any]) -> np.ndarray:
        try:
            return np.asarray(self.env.state(), dtype=np.float32).ravel()
        except NotImplementedError:
            return np.concatenate([np.asarray(obs[a], dtype=np.float32).ravel() for a in self.agents])

    def _observe(self, obs: dict[str, Any]) -> Observation:
        stacked = np.stack([np.asarray(obs[a], dtype=np.float32).ravel() for a in self.agents])
        return (torch.from_numpy(stacked), torch.from_numpy(self._state(obs)),
                torch.ones(self.n_agents, self.n_actions, dtype=torch.bool))

    def reset(self, seed: int) -> Observation:
        obs, _ = self.env.reset(seed=seed)
        self.last = obs
        return self._observe(obs)

    def step(self, actions: Tensor) -> Transition:
        obs, rewards, terms, truncs, _ = self.env.step(
            {a: int(actions[i]) for i, a in enumerate(self.agents)})
        obs = {a: obs.get(a, self.last[a]) for a in self.agents}
        self.last = obs
        terminated = any(terms.get(a, False) for a in self.agents)
        truncated = not terminated and any(truncs.get(a, False) for a in self.agents)
        return (*self._observe(obs), float(sum(rewards.get(a, 0.0) for a in self.agents)),
                terminated, truncated)

    def close(self) -> None:
        self.env.close()


class ForagingTask:
    """Level-based foraging (lbforaging, gymnasium): each agent's observation vector, the state
    their concatenation (as EPyMARL does for gym tasks), the team reward the sum of the agents'
    normalised rewards (1 when every food is collected), every action available (EPyMARL's
    choice: an invalid move is a no-op). The environment reports its time limit as done; here
    that is a truncation, and collecting every food a termination.

    Observations (coordinates, levels, −1 for what is out of sight) are divided by the grid's
    side, so every input lies in [−1, 1]: raw, a 10×10 task's state puts QMIX's hypernetwork
    outputs near 100 at initialisation for returns of at most 1, and its TD loss diverged under
    the shared presets. EPyMARL feeds them raw; `scale` = 1 does too (marl.raw_observations)."""

    def __init__(self, env_id: str, paper_food: bool = False) -> None:
        gym = _import("gymnasium")
        _import("lbforaging")
        if paper_food:
            kwargs, env_class = dict(gym.spec(env_id).kwargs), _paper_foraging_env()
            self._make = lambda: env_class(**kwargs)
        else:
            self._make = lambda: gym.make(env_id, disable_env_checker=True).unwrapped
        self.env = self._make()
        self.n_agents = int(self.env.n_agents)
        self.n_actions = int(self.env.action_space[0].n)
        self.obs_dim = int(np.prod(self.env.observation_space[0].shape))
        self.state_dim = self.obs_dim * self.n_agents
        self.horizon = int(self.env._max_episode_steps)
        self.scale = 1.0 / max(self.env.field_size)

    def _observe(self, obs: Any) -> Observation:
        stacked = torch.from_numpy(np.stack([np.asarray(o, dtype=np.float32) for o in obs]))
        stacked = stacked * self.scale
        return stacked, stacked.flatten(), torch.ones(self.n_agents, self.n_actions,
                                                      dtype=torch.bool)

    def reset(self, seed: int) -> Observation:
        # lbforaging 2.0 keeps its players between episodes, and a reset with the same seed
        # places them differently after another episode: a fresh environment per episode makes
        # an episode a function of its seed alone (about 1 ms)
        self.env.close()
        self.env = self._make()
        obs, _ = self.env.reset(seed=seed)
        return self._observe(obs)

    def step(self, actions: Tensor) -> Transition:
        obs, rewards, done, _, _ = self.env.step(tuple(int(a) for a in actions))
        cleared = bool(self.env.field.sum() == 0)
        return (*self._observe(obs), float(sum(rewards)), bool(done) and cleared,
                bool(done) and not cleared)

    def close(self) -> None:
        self.env.close()


def _paper_foraging_env() -> type:
    """lbforaging's environment with the food levels of its releases before 2023 (v1.0/v1.1, the
    `-v0`..`-v2` tasks EPyMARL's paper ran): a food's level drawn from [1, the agents' level sum),
    numpy's `randint` excluding the sum, so no food needs every agent at once. lbforaging 2.0's
    `-v3` tasks draw from [1, sum] inclusive (its commit d8e0600, "fix max player level bug"), and
    in 56% of 10x10-3p-3f episodes some food then needs all three agents to load together
    (measured over 2 000 resets). Player levels are 1 or 2 in both (v1's `randint(1, 3)`, v3's
    `integers(1, 2 + 1)`); positions and observations are drawn and built alike."""
    from lbforaging.foraging import ForagingEnv

    class PaperFoodForagingEnv(ForagingEnv):
        def spawn_food(self, max_num_food: int, min_levels: Any, max_levels: Any) -> None:
            if self.max_food_level is None and not self.force_coop:
                max_levels = np.maximum(max_levels - 1, min_levels)
            super().spawn_food(max_num_food, min_levels, max_levels)

    return PaperFoodForagingEnv


class MatrixTask:
    """The stochastic two-step matrix game (rl.envs.matrix_game) as a task: the smallest check
    that a method learns, in seconds."""

    def __init__(self, noise: float = 2.0) -> None:
        from genarena.rl.envs.matrix_game import TwoStepGame
        self.game = TwoStepGame(noise)
        g = TwoStepGame
        self.n_agents, self.n_actions, self.obs_dim = g.n_agents, g.n_actions, g.obs_dim
        self.state_dim, self.horizon = g.state_dim, g.horizon

    def reset(self, seed: int) -> Observation:
        self.game.rng.manual_seed(seed)
        obs, state = self.game.reset()
        return obs, state, torch.ones(self.n_agents, self.n_actions, dtype=torch.bool)

    def step(self, actions: Tensor) -> Transition:
        obs, state, reward, done = self.game.step(actions)
        return (obs, state, torch.ones(self.n_agents, self.n_actions, dtype=torch.bool), reward,
                done, False)

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class TaskSpec:
    """A task by name: how to build it and what it is (for docs and the bench); `published`
    maps a team return to the scale a published table used for the task, when it differs."""
    build: Callable[[], Task]
    about: str
    published: Callable[[float], float] | None = None


SPREAD_AGENTS, SPREAD_STEPS = 3, 25


def spread_on_epymarls_scale(team_return: float) -> float:
    """A Spread team return (PettingZoo, local_ratio 0.5, summed over agents) on the scale of
    EPyMARL's Table 3. The authors' MPE fork gives each agent the global reward G (minus the sum of
    the landmarks' nearest-agent distances) plus −1 for every agent it touches, itself included
    (its is_collision does not skip the agent), shares the sum R = Σᵢ rᵢ with every agent, and the
    published figure is EPyMARL's sum of the shared entries divided by the 3 agents (issue #29):
    Σₜ R. PettingZoo's agents get ½G − ½·(others touched), whose sum is 1.5G − (touching pairs),
    while R = 3G − 3 − 2·(touching pairs). So R = 2·(PettingZoo's step reward) − 3, and over an
    episode of 25 steps the published scale is 2·return − 75 (tests/rl/test_tasks.py checks the
    identity step by step)."""
    return 2.0 * team_return - SPREAD_AGENTS * SPREAD_STEPS


def _spread() -> Task:
    spread = _import("mpe2.simple_spread_v3")
    return ParallelTask(lambda: spread.parallel_env(N=SPREAD_AGENTS, local_ratio=0.5,
                                                    max_cycles=SPREAD_STEPS,
                                                    continuous_actions=False))


TASKS: MappingProxyType[str, TaskSpec] = MappingProxyType({
    "lbf-10x10-3p-3f-paper": TaskSpec(lambda: ForagingTask("Foraging-10x10-3p-3f-v3",
                                                           paper_food=True),
                                      "LBF 10x10-3p-3f with the food levels of lbforaging "
                                      "before 2.0 (the -v0..-v2 tasks of EPyMARL's paper): no "
                                      "food needs all three agents"),
    "lbf-8x8-2p-2f-coop": TaskSpec(lambda: ForagingTask("Foraging-8x8-2p-2f-coop-v3"),
                                   "level-based foraging, 8×8 grid, 2 agents, 2 foods that need "
                                   "both agents, 50 steps (EPyMARL's LBF 8x8-2p-2f-coop)"),
    "lbf-10x10-3p-3f": TaskSpec(lambda: ForagingTask("Foraging-10x10-3p-3f-v3"),
                                "level-based foraging, 10×10 grid, 3 agents of random levels, 3 "
                                "foods, 50 steps (EPyMARL's LBF 10x10-3p-3f): some foods need "
                                "two agents"),
    "lbf-5x5-2p-1f-coop": TaskSpec(lambda: ForagingTask("Foraging-5x5-2p-1f-coop-v3"),
                                   "level-based foraging, 5×5, 2 agents, 1 food that needs both, "
                                   "50 steps: a small task for tests"),
    "mpe-spread": TaskSpec(_spread, "MPE simple_spread (PettingZoo mpe2): 3 agents cover 3 "
                                    "landmarks, 25 steps (EPyMARL's MPE Spread; its published "
                                    "scale: spread_on_epymarls_scale)",
                           published=spread_on_epymarls_scale),
    "matrix": TaskSpec(MatrixTask, "the stochastic two-step matrix game (QMIX §6.1), 2 steps"),
})


def make_task(name: str, raw_observations: bool = False) -> Task:
    """The task called `name` (a UserError naming marl.task for an unknown one);
    `raw_observations`: LBF's observations as the environment gives them (EPyMARL), not divided
    by the grid's side (the other tasks have no scaling to undo)."""
    if name not in TASKS:
        raise UserError(f"config key 'marl.task': '{name}' is not a task (expected one of: "
                        f"{', '.join(TASKS)})")
    task = TASKS[name].build()
    if raw_observations and isinstance(task, ForagingTask):
        task.scale = 1.0
    return task
