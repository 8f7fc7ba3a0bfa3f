"""The `marl` trainer: a DFAC learner (IQL, VDN, QMIX, DIQL, DDN, DMIX; rl.dfac) with recurrent
agents on a cooperative task, trained the EPyMARL way: rounds of episodes from parallel
environments into an episode replay, gradient steps after each round, greedy test episodes at
each evaluation. It shares the training loop of every trainer (logging, checkpoints, resume,
the divergence guard); its evaluation is the test return instead of sample metrics.

`steps` counts environment steps. Episodes are seeded by their index (rl.runner), and the
learner's generator and replay are in the checkpoint, so a resumed run continues exactly."""
from __future__ import annotations

import dataclasses
import statistics
from typing import Any

import torch

from genarena.config import Config
from genarena.data.base import Dataset
from genarena.errors import UserError
from genarena.generative import Generative
from genarena.rl.dfac import MultiAgentLearner
from genarena.rl.envs.tasks import Task, make_task
from genarena.rl.learner import RLSettings
from genarena.rl.runner import episode_seed, run_batch
from genarena.train.base import LabelFn, SampleFn, Trainer


def settings_of(cfg: Config) -> RLSettings:
    """The learner's hyperparameters from the marl config section, which names each of them
    as RLSettings does."""
    return RLSettings(**{f.name: getattr(cfg.marl, f.name) for f in dataclasses.fields(RLSettings)})


class MARLTrainer(Trainer):
    """train_step(): one round of `marl.envs` episodes, then `marl.updates_per_round` updates.
    It learns no data set: its evaluation is greedy test episodes."""

    def __init__(self, cfg: Config, dataset: Dataset | None, device: torch.device) -> None:
        if device.type != "cpu":
            raise UserError("config key 'device': the marl trainer runs on the CPU (its nets are "
                            "small and its environments are CPU code); use device=cpu")
        super().__init__(cfg, None, device)
        self.tasks: list[Task] = [make_task(cfg.marl.task, cfg.marl.raw_observations)
                                  for _ in range(cfg.marl.envs)]
        t = self.tasks[0]
        self.learner = MultiAgentLearner(cfg.marl.method, t.n_agents, t.obs_dim, t.state_dim,
                                         t.n_actions, t.horizon, settings_of(cfg), cfg.seed,
                                         recurrent=True)
        self.episodes = 0

    def train_step(self) -> dict[str, float]:
        seeds = [episode_seed(self.cfg.seed, self.episodes + i) for i in range(len(self.tasks))]
        batch = run_batch(self.learner, self.tasks, seeds)
        for episode in batch.episodes:
            self.learner.store(episode)
        losses = [loss for _ in range(self.cfg.marl.updates_per_round)
                  if (loss := self.learner.learn()) is not None]
        self.step += batch.steps
        self.episodes += len(batch.episodes)
        stats = {"train_return": statistics.fmean(batch.returns),
                 "marl_epsilon": self.learner.epsilon}
        if losses:
            stats["loss_td"] = statistics.fmean(losses)
        return stats

    @property
    def final_model_name(self) -> str:
        return "agents"

    @property
    def data_name(self) -> str:
        return self.cfg.marl.task

    def describe_evaluation(self) -> str:
        how = ("greedy" if self.cfg.marl.test_epsilon == 0
               else f"ε = {self.cfg.marl.test_epsilon}")
        return (f"running {self.cfg.marl.test_episodes} {how} test episodes "
                "(marl.test_episodes, marl.test_epsilon)")

    def evaluation_settings(self) -> dict[str, Any]:
        return {"test_episodes": self.cfg.marl.test_episodes,
                "test_epsilon": self.cfg.marl.test_epsilon}

    def evaluate(self, samples: SampleFn | None, label_fn: LabelFn | None = None,
                 memo: dict[Any, Any] | None = None) -> dict[str, Any]:
        """Test episodes on fixed seeds (the same at every evaluation), at marl.test_epsilon
        (EPyMARL's evaluation ε; 0: greedy): their mean and sd return, and the share that ended
        by the task's own termination."""
        return self.test_episodes(self.cfg.marl.test_epsilon)

    def test_episodes(self, epsilon: float) -> dict[str, float]:
        """The run's test episodes at a fixed ε. Their exploration draws come from a generator
        seeded the same at every evaluation, never from training's (see `random_test_return`)."""
        returns: list[float] = []
        ended = 0
        n, e = self.cfg.marl.test_episodes, len(self.tasks)
        rng = torch.Generator().manual_seed(episode_seed(self.cfg.seed, n, test=True))
        for start in range(0, n, e):
            tasks = self.tasks[:min(e, n - start)]
            seeds = [episode_seed(self.cfg.seed, start + i, test=True) for i in range(len(tasks))]
            batch = run_batch(self.learner, tasks, seeds, epsilon, rng)
            returns += batch.returns
            ended += sum(bool(ep.terminated[-1] > 0) for ep in batch.episodes)
        return {"test_return": statistics.fmean(returns),
                "test_return_sd": statistics.stdev(returns) if len(returns) > 1 else 0.0,
                "test_terminated": ended / len(returns), "test_episodes": len(returns)}

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "learner": self.learner.state_dict(),
                "episodes": self.episodes}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.learner.load_state_dict(state["learner"])
        self.episodes = int(state["episodes"])

    def back_off(self, factor: float) -> None:
        for group in self.learner.opt.param_groups:
            group["lr"] = self.cfg.marl.lr * factor

    def knob_log(self) -> dict[str, float]:
        return {"lr": self.learner.opt.param_groups[0]["lr"]}

    def updates(self) -> dict[str, int]:
        return {"environment_steps": self.step, "episodes": self.episodes,
                "gradient_steps": self.learner.updates}

    def final_generative(self) -> Generative:
        raise UserError("a marl run has no generative model: its test return is in summary.json")

    def close(self) -> None:
        for task in self.tasks:
            task.close()


def _untrained_test_return(cfg: Config, epsilon: float) -> float:
    """The mean return on a run's test episodes of its agents before any training, at ε."""
    trainer = MARLTrainer(cfg, None, torch.device(cfg.device))      # the trainer checks it
    try:
        return trainer.test_episodes(epsilon)["test_return"]
    finally:
        trainer.close()


def random_test_return(cfg: Config) -> float:
    """The mean return of uniformly random agents on a run's test episodes (the same seeds as
    its tests): the floor a learned policy has to clear on that task."""
    return _untrained_test_return(cfg, epsilon=1.0)


def initial_test_return(cfg: Config) -> float:
    """A run's evaluation at step 0, measured after the fact: its untrained agents on its test
    episodes at marl.test_epsilon. EPyMARL's curves start with it (41 evaluations over 2 M
    steps). The learner's first weights are a function of the run's seed alone and the tests
    draw from their own generator, so this is the value a test at step 0 would have read."""
    return _untrained_test_return(cfg, epsilon=cfg.marl.test_epsilon)


def load_agents(cfg: Config, dataset: Any, state: dict[str, Any], device: torch.device) -> Any:
    """What `genarena sample` would load: a marl run has nothing to sample."""
    raise UserError("a marl run has no generative model to sample or evaluate: its test return "
                    "is in summary.json (genarena compare shows it)")
