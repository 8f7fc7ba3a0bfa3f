"""The trainer contract: what the shared loop (train/loop.py) trains through, with its defaults.

`Trainer` owns the step counter, the run's config, data set and device, and the data-parallel
world; a subclass supplies `train_step`, `final_generative` and `back_off`, and overrides the
defaults it needs (`updates`, `evaluate`, `describe_evaluation`, `evaluation_settings`,
`summary_extras`, `state_dict`/`load_state_dict`, `close`). `ModelTrainer` adds what the
trainers of one model in this process share: the data stream, the noise generator, an EMA of the
sampled net and the learning-rate knobs, all in the checkpoint. Adding a trainer is one module
and one line in genarena.trainers.TRAINERS (docs/foundation.md has an example).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable, ClassVar

import torch
from torch import Tensor, nn

from genarena.config import Config
from genarena.control import Knobs
from genarena.data.base import Dataset
from genarena.distributed import SINGLE, World
from genarena.errors import UserError
from genarena.generative import Generative
from genarena.metrics import evaluate
from genarena.scalars import Stats
from genarena.train.ema import EMA
from genarena.train.precision import precision_for

SampleFn = Callable[[int], Tensor]
LabelFn = Callable[[int, int], Tensor]


def eval_seed(cfg: Config) -> int:
    """Evaluation draws its own noise, so it never disturbs (or depends on) training randomness."""
    return cfg.seed + 10_000


class Trainer(ABC):
    """One run's training state, advanced a step at a time by the shared loop."""

    def __init__(self, cfg: Config, dataset: Dataset | None, device: torch.device) -> None:
        self.cfg, self.dataset, self.device = cfg, dataset, device
        self.world: World = SINGLE
        self.step = 0
        self.total_steps = cfg.loop_steps()

    # what every trainer supplies ------------------------------------------------------------
    @abstractmethod
    def train_step(self) -> Stats:
        """Advance `step` (by one update, or by several for a coevolution generation); return
        the step's statistics (a non-finite value triggers the divergence guard)."""

    @abstractmethod
    def final_generative(self) -> Generative:
        """The model the run evaluates and samples (the EMA generator, a mixture, ...)."""

    @abstractmethod
    def back_off(self, factor: float) -> None:
        """The divergence guard's remedy after a rollback: scale the learning rates."""

    # defaults -------------------------------------------------------------------------------
    @property
    def final_model_name(self) -> str:
        """What the run's model is, for summary.json."""
        return "generator"

    def knob_log(self) -> dict[str, float]:
        """The knobs' current values, logged with each metrics row."""
        return {}

    def updates(self) -> dict[str, int]:
        """What the budget bought, by kind of update."""
        return {"generator": self.step}

    @property
    def data_name(self) -> str:
        """What the run learns, for summary.json."""
        assert self.dataset is not None
        return self.dataset.name

    def describe_evaluation(self) -> str:
        """What the final evaluation will do, and the keys that size it (shown while it runs)."""
        return f"evaluating {self.cfg.eval.n_samples} samples (eval.n_samples)"

    def evaluation_settings(self) -> dict[str, Any]:
        """How the evaluation was made, for summary.json."""
        return {"n_samples": self.cfg.eval.n_samples, "seed": eval_seed(self.cfg)}

    def evaluate(self, samples: SampleFn | None, label_fn: LabelFn | None = None,
                 memo: dict[Any, Any] | None = None) -> dict[str, Any]:
        """The metrics of this moment on `samples` (drawn once and shared with the pictures),
        with the class-conditional ones when `label_fn` is given."""
        assert samples is not None and self.dataset is not None
        return evaluate(samples, self.dataset, self.cfg.eval, eval_seed(self.cfg),
                        sample_label=label_fn, memo=memo, device=self.device)

    def summary_extras(self) -> dict[str, Any]:
        """What summary.json records beyond the loop's own fields."""
        return {}

    def data_parallel(self, world: World) -> None:
        """Train as one rank of `world` (only trainers registered as data-parallel can)."""
        raise UserError(f"--nproc: trainer '{self.cfg.trainer.name}' trains in one process")

    def state_dict(self) -> dict[str, Any]:
        return {"step": self.step}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.step = int(state["step"])

    def training_done(self) -> None:
        """Training has ended (the loop calls it before the final evaluation): release what only
        training needs, such as workers; the model stays usable."""

    def close(self) -> None:
        """Release workers and environments (the caller closes every trainer it built)."""


class ModelTrainer(Trainer):
    """A trainer of one model in this process: it draws batches from a resumable stream and noise
    from its own generator, keeps the learning-rate knobs and, when configured, an EMA of the net
    it samples with."""

    ema_key: ClassVar[str] = "ema"                    # the EMA's key in the checkpoint
    net_name: ClassVar[str] = "generator"             # the sampled net, when it has no EMA

    def __init__(self, cfg: Config, dataset: Dataset, device: torch.device, knobs: Knobs) -> None:
        super().__init__(cfg, dataset, device)
        self.dataset: Dataset = dataset
        self.knobs = knobs
        self.stream = dataset.stream(cfg.data.batch_size, seed=cfg.seed,
                                     pin_memory=device.type == "cuda")
        self.noise = torch.Generator().manual_seed(cfg.seed + 1)
        self.ema: EMA | None = None
        self.precision = precision_for(cfg.trainer.amp, device)   # trainer.amp's autocast

    def track_ema(self, net: nn.Module) -> None:
        """Keep an EMA of `net` when trainer.ema_half_life is set (it is what gets sampled)."""
        half_life = self.cfg.trainer.ema_half_life
        self.ema = EMA(net, half_life, self.cfg.data.batch_size) if half_life > 0 else None

    @property
    def final_model_name(self) -> str:
        return "ema" if self.ema is not None else self.net_name

    def sampled(self, net: nn.Module) -> nn.Module:
        """The EMA of `net` when there is one, else `net`."""
        return self.ema.model if self.ema is not None else net

    @abstractmethod
    def apply_knobs(self) -> None:
        """Set the optimizers' learning rates from the knobs (after a decision or a rollback)."""

    def back_off(self, factor: float) -> None:
        self.knobs.scale_learning_rates(factor)
        self.apply_knobs()

    def knob_log(self) -> dict[str, float]:
        return self.knobs.as_log()

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(),
                self.ema_key: self.ema.model.state_dict() if self.ema is not None else None,
                "knobs": self.knobs.state_dict(), "stream": self.stream.state_dict(),
                "noise": self.noise.get_state(), "precision": self.precision.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        if self.ema is not None:
            self.ema.model.load_state_dict(state[self.ema_key])
        self.knobs = Knobs.from_state(state["knobs"])
        self.stream.load_state_dict(state["stream"])
        self.noise.set_state(state["noise"])
        self.precision.load_state_dict(state.get("precision"))
        self.apply_knobs()
