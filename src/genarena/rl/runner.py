"""The parallel episode runner: E copies of a task stepped in lockstep, the team's agents acting
for all of them in one batched forward (EPyMARL's parallel runner, in one process: for cheap
environments the batched forward is what costs, and separate processes would only add
pickling). Each episode is seeded by its index, so the episodes of a run depend only on its
seed and its policy."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from genarena.rl.agents import RecurrentAgentUtilities
from genarena.rl.dfac import MultiAgentLearner
from genarena.rl.envs.tasks import Task
from genarena.rl.episodes import Episode


@dataclass
class Batch:
    """What one round of the runner produced."""
    episodes: list[Episode]
    returns: list[float]
    steps: int                      # environment steps, summed over the episodes


def episode_seed(run_seed: int, index: int, test: bool = False) -> int:
    """The reset seed of a run's `index`-th training (or test) episode: disjoint streams."""
    return (run_seed * 1_000_003 + index + (1 << 40 if test else 0)) % (1 << 62)


def run_batch(learner: MultiAgentLearner, tasks: list[Task], seeds: list[int],
              epsilon: float | None = None, rng: torch.Generator | None = None) -> Batch:
    """One episode on each of the tasks (reset with its seed), all stepped together until every
    one has ended; ε-greedy at the training schedule (`epsilon` None) or at a fixed test ε
    drawing from `rng` (0: greedy; MultiAgentLearner.act_teams)."""
    e, k = len(tasks), learner.n_agents
    first = [t.reset(s) for t, s in zip(tasks, seeds)]
    obs = torch.stack([f[0] for f in first])
    avail = torch.stack([f[2] for f in first])
    logs: list[dict[str, list[Tensor]]] = [
        {"obs": [f[0]], "state": [f[1]], "avail": [f[2]], "actions": [], "reward": [],
         "terminated": []} for f in first]
    returns = [0.0] * e
    running = list(range(e))
    agents = learner.agents
    hidden = agents.initial(e) if isinstance(agents, RecurrentAgentUtilities) else None
    last = torch.full((e, k), -1, dtype=torch.long)
    for _ in range(max(t.horizon for t in tasks)):
        idx = torch.tensor(running)
        actions, h = learner.act_teams(obs[idx], avail[idx], None if hidden is None
                                       else hidden[idx], last[idx], epsilon, rng)
        if hidden is not None and h is not None:
            hidden[idx] = h
        last[idx] = actions
        still = []
        for j, i in enumerate(running):
            o, s, a, r, terminated, truncated = tasks[i].step(actions[j])
            log = logs[i]
            log["obs"].append(o)
            log["state"].append(s)
            log["avail"].append(a)
            log["actions"].append(actions[j])
            log["reward"].append(torch.tensor(r))
            log["terminated"].append(torch.tensor(float(terminated)))
            returns[i] += r
            obs[i], avail[i] = o, a
            if not (terminated or truncated or len(log["actions"]) >= tasks[i].horizon):
                still.append(i)
        running = still
        if not running:
            break
    episodes = [Episode(torch.stack(g["obs"]), torch.stack(g["state"]), torch.stack(g["actions"]),
                        torch.stack(g["reward"]), torch.stack(g["terminated"]),
                        torch.stack(g["avail"])) for g in logs]
    return Batch(episodes, returns, sum(len(ep) for ep in episodes))
