"""The loop every trainer shares: logging, checkpoints, resume, the divergence guard, final eval.

A trainer object supplies `step`, `train_step()`, `state_dict()`, `load_state_dict()`,
`back_off(factor)`, `knob_log()`, `final_generative()` and `final_model_name`; this module does
the rest.
"""
from __future__ import annotations

import copy
import math
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Protocol

from torch import Tensor

from genarena.config import Config, to_dict
from genarena.data.base import Dataset
from genarena.errors import DivergenceError
from genarena.metrics import evaluate
from genarena.progress import Progress
from genarena.run import RunDir
from genarena.train.generative import Generative
from genarena.train.meter import Meter

CHECKPOINT_FORMAT = 1
SHOWN_ON_PROGRESS = ("loss_d", "loss_g", "d_acc_real", "d_acc_fake", "loss_vae", "loss_dsm", "loss_clf")


class Trainer(Protocol):
    step: int
    total_steps: int
    final_model_name: str

    def train_step(self) -> dict[str, float]: ...
    def state_dict(self) -> dict[str, Any]: ...
    def load_state_dict(self, state: dict[str, Any]) -> None: ...
    def back_off(self, factor: float) -> None: ...
    def knob_log(self) -> dict[str, float]: ...
    def final_generative(self) -> Generative: ...


def eval_seed(cfg: Config) -> int:
    """Evaluation draws its own noise, so it never disturbs (or depends on) training randomness."""
    return cfg.seed + 10_000


class _Loop:
    """The state of one call to `fit` (kept small: counters the checkpoint must carry)."""

    def __init__(self, trainer: Trainer, cfg: Config, run: RunDir) -> None:
        self.trainer, self.cfg, self.run = trainer, cfg, run
        self.meter = Meter()
        self.retries = 0
        self.elapsed = 0.0
        self.started = time.perf_counter()

    def seconds(self) -> float:
        """Training seconds so far: wall time, less evaluations and sample pictures."""
        return self.elapsed + time.perf_counter() - self.started

    @contextmanager
    def off_the_clock(self) -> Iterator[None]:
        """Work that is not training (evaluation, pictures) does not count in `seconds`."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.started += time.perf_counter() - start

    def snapshot(self) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT, "trainer": self.cfg.trainer.name,
            "step": self.trainer.step, "config": to_dict(self.cfg),
            "trainer_state": self.trainer.state_dict(), "log_meter": self.meter.state_dict(),
            "retries": self.retries, "elapsed": self.seconds(),
        }

    def restore(self, state: dict[str, Any]) -> None:
        self.trainer.load_state_dict(state["trainer_state"])
        self.meter.load_state_dict(state["log_meter"])
        self.retries = int(state["retries"])
        self.elapsed, self.started = float(state["elapsed"]), time.perf_counter()


def _finite(stats: dict[str, float]) -> bool:
    return all(math.isfinite(v) for v in stats.values())


def fit(trainer: Trainer, cfg: Config, run: RunDir, dataset: Dataset, progress: Progress,
        sample_fn: Callable[[int], Tensor], resume_state: dict[str, Any] | None = None,
        save_samples: Callable[[Tensor, str], None] | None = None,
        label_fn: Callable[[int, int], Tensor] | None = None) -> dict[str, Any]:
    """Train until cfg.steps, writing metrics, checkpoints and samples; return the summary."""
    loop = _Loop(trainer, cfg, run)
    if resume_state is not None:
        loop.restore(resume_state)
        run.truncate_metrics(trainer.step)
    last_good = copy.deepcopy(loop.snapshot())
    progress.update(trainer.step)
    total = trainer.total_steps
    while trainer.step < total:
        stats = trainer.train_step()
        if not _finite(stats):
            last_good = _roll_back(loop, last_good, stats)
            continue
        loop.meter.add(stats)
        step = trainer.step
        if step % cfg.log.interval == 0 or step == total:
            row = {"step": step, **loop.meter.mean(), **trainer.knob_log(),
                   "elapsed": round(loop.seconds(), 3)}
            run.append_metrics(row)
            loop.meter.reset()
            progress.update(step, {k: row[k] for k in SHOWN_ON_PROGRESS if k in row})
        else:
            progress.update(step)
        with loop.off_the_clock():
            if cfg.eval.interval and step % cfg.eval.interval == 0 and step < total:
                run.append_metrics({"step": step, "elapsed": round(loop.seconds(), 3),
                                    "eval": evaluate(sample_fn, dataset, cfg.eval, eval_seed(cfg))})
            if save_samples and cfg.log.sample_interval and step % cfg.log.sample_interval == 0:
                save_samples(sample_fn(cfg.eval.n_samples), f"step-{step:08d}")
        if step % cfg.log.checkpoint_interval == 0 or step == total:
            state = loop.snapshot()
            snap = bool(cfg.log.snapshot_interval) and step % cfg.log.snapshot_interval == 0
            run.save_checkpoint(state, snapshot=snap)
            last_good = copy.deepcopy(state)
    progress.close()
    train_seconds = loop.seconds()
    started = time.perf_counter()
    metrics = evaluate(sample_fn, dataset, cfg.eval, eval_seed(cfg), sample_label=label_fn)
    if save_samples:
        save_samples(sample_fn(cfg.eval.n_samples), "final")
    return {
        "trainer": cfg.trainer.name, "dataset": dataset.name, "seed": cfg.seed,
        "steps": total, "model": trainer.final_model_name,
        "train_seconds": round(train_seconds, 3),
        "eval_seconds": round(time.perf_counter() - started, 3), "divergence_retries": loop.retries,
        "eval": {"n_samples": cfg.eval.n_samples, "seed": eval_seed(cfg)},
        "metrics": metrics,
    }


def _roll_back(loop: _Loop, last_good: dict[str, Any], stats: dict[str, float]) -> dict[str, Any]:
    """NaN/Inf: restore the last good state, halve the learning rates, retry (bounded)."""
    retries = loop.retries + 1
    bad = sorted(k for k, v in stats.items() if not math.isfinite(v))
    if retries > loop.cfg.trainer.max_retries:
        raise DivergenceError(
            f"training diverged at step {loop.trainer.step} ({', '.join(bad)} not finite) after "
            f"{loop.retries} rollbacks with halved learning rates; lower optim.lr_g/lr_d "
            f"or raise trainer.max_retries")
    good_retries, seconds = int(last_good["retries"]), loop.seconds()
    loop.restore(copy.deepcopy(last_good))
    loop.retries, loop.elapsed = retries, seconds
    loop.trainer.back_off(0.5 ** (retries - good_retries))
    loop.run.truncate_metrics(loop.trainer.step)
    loop.run.append_metrics({"step": loop.trainer.step, "event": "diverged", "non_finite": bad,
                             "retry": retries, **loop.trainer.knob_log()})
    return last_good
