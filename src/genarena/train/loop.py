"""The loop every trainer shares: logging, checkpoints, resume, the divergence guard, final eval.

It trains any `genarena.train.base.Trainer` through that contract alone (it never asks which
trainer it has); the caller plugs in sampling, pictures and observers through `Hooks`.
"""
from __future__ import annotations

import math
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from torch import Tensor

from genarena.catalogue import progress_keys
from genarena.checkpoint import cpu_copy
from genarena.config import to_dict
from genarena.errors import DivergenceError
from genarena.progress import Progress
from genarena.run import RunDir
from genarena.scalars import Stats
from genarena.train.base import LabelFn, SampleFn, Trainer
from genarena.train.meter import Meter

CHECKPOINT_FORMAT = 1
SHOWN_ON_PROGRESS = progress_keys()


@dataclass
class Hooks:
    """What the caller plugs into the loop: the progress display; the sample function (none for
    a trainer that evaluates itself); the class-conditional sampler; the picture writer; and an
    observer of every metrics row (with the evaluated samples on an evaluation row)."""
    progress: Progress
    sample_fn: SampleFn | None = None
    label_fn: LabelFn | None = None
    save_samples: Callable[[Tensor, str], None] | None = None
    on_log: Callable[[dict[str, Any], Tensor | None], None] | None = None


def due(before: int, after: int, interval: int) -> bool:
    """Whether a step from `before` to `after` crossed a multiple of `interval` (0: never).

    Trainers whose one call advances several updates (a coevolution generation) still log,
    checkpoint and evaluate at the first call on or past each multiple."""
    return interval > 0 and after // interval > before // interval


class Interrupted(Exception):
    """SIGINT/SIGTERM arrived: the loop stopped at a step boundary and saved a checkpoint (rank 0
    of several saved it; the other ranks have no run directory)."""

    def __init__(self, run: RunDir | None, step: int, signum: int) -> None:
        super().__init__(f"interrupted at step {step}; checkpoint saved")
        self.run, self.step, self.signum = run, step, signum


class StopRequest:
    """SIGINT/SIGTERM, turned into a flag the loop reads between steps, so the checkpoint it writes
    holds a whole step. A second signal interrupts at once. Handlers are installed only while a
    `fit` runs in the main thread, and the previous ones are restored after."""

    def __init__(self) -> None:
        self.signum = 0
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signum:
            raise KeyboardInterrupt
        self.signum = signum

    def __enter__(self) -> "StopRequest":
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                if signal.getsignal(sig) is signal.SIG_IGN:   # ignored by whoever started us
                    continue                                    # (a launcher's ranks: SIGINT)
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()


def drawn_once(sample_fn: SampleFn, n: int) -> SampleFn:
    """`sample_fn`, except that the n samples are drawn at most once: evaluation, sample pictures
    and TensorBoard at one step share one draw (sampling a diffusion model is costly)."""
    cache: list[Tensor] = []

    def sample(k: int) -> Tensor:
        if k != n:
            return sample_fn(k)
        if not cache:
            cache.append(sample_fn(n))
        return cache[0]
    return sample


class _Loop:
    """The state of one call to `fit` (kept small: counters the checkpoint must carry). `run` is
    None on ranks other than 0, which train alongside it and write nothing."""

    def __init__(self, trainer: Trainer, run: RunDir | None, hooks: Hooks) -> None:
        self.trainer, self.cfg, self.run, self.hooks = trainer, trainer.cfg, run, hooks
        self.world = trainer.world
        self.meter = Meter()
        self.retries = 0
        self.elapsed = 0.0
        self.started = time.perf_counter()
        self.reference_memo: dict[Any, Any] = {}       # the reference's side of the evaluations

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


def _non_finite_floats(stats: Stats) -> list[str]:
    """The keys of the step's host statistics that are NaN or infinite (device ones wait for the
    meter's next read)."""
    return sorted(k for k, v in stats.items()
                  if not isinstance(v, Tensor) and not math.isfinite(v))


def _reads_statistics(loop: _Loop, before: int, step: int, stopping: bool) -> bool:
    """Whether this step logs, checkpoints, evaluates, pictures or ends: the moments the loop
    reads the meter, and so checks the statistics a GPU step left on the device."""
    cfg = loop.cfg
    return (step == loop.trainer.total_steps or stopping
            or any(due(before, step, interval) for interval in (
                cfg.log.interval, cfg.log.checkpoint_interval, cfg.eval.interval,
                cfg.log.sample_interval)))


def fit(trainer: Trainer, run: RunDir | None, hooks: Hooks,
        resume_state: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train until the trainer's total, writing metrics, checkpoints and samples; return the summary.

    SIGINT/SIGTERM stop the loop after the current step with a checkpoint (raises Interrupted).
    A rank other than 0 of a data-parallel run passes run=None: it trains in step with rank 0,
    which alone writes and evaluates, and gets an empty summary."""
    loop = _Loop(trainer, run, hooks)
    cfg, progress = trainer.cfg, hooks.progress
    if resume_state is not None:
        loop.restore(resume_state)
        if run is not None:
            run.truncate_metrics(trainer.step)
    with StopRequest() as stop:
        _train(loop, stop)
    trainer.training_done()
    progress.close()
    if run is None:
        return {}
    train_seconds = loop.seconds()
    started = time.perf_counter()
    progress.note(trainer.describe_evaluation())
    final = drawn_once(hooks.sample_fn, cfg.eval.n_samples) if hooks.sample_fn else None
    metrics = trainer.evaluate(final, hooks.label_fn, loop.reference_memo)  # then pictured
    if hooks.save_samples and final is not None:
        hooks.save_samples(final(cfg.eval.n_samples), "final")
    return {
        "trainer": cfg.trainer.name, "dataset": trainer.data_name, "seed": cfg.seed,
        "steps": cfg.steps, "final_step": trainer.total_steps, "updates": trainer.updates(),
        "model": trainer.final_model_name,
        "train_seconds": round(train_seconds, 3),
        "eval_seconds": round(time.perf_counter() - started, 3), "divergence_retries": loop.retries,
        "eval": trainer.evaluation_settings(), "metrics": metrics,
    }


def _train(loop: _Loop, stop: StopRequest) -> None:
    """The phases of the loop, step after step: train, log, evaluate, picture, checkpoint (the
    writing phases on rank 0 only; every rank keeps the state a rollback returns to)."""
    trainer, cfg, run, progress = loop.trainer, loop.cfg, loop.run, loop.hooks.progress
    # kept on the CPU: beside a GPU model a second full copy would halve what fits
    last_good = cpu_copy(loop.snapshot())
    progress.update(trainer.step)
    total = trainer.total_steps
    while trainer.step < total:
        before = trainer.step
        stats = trainer.train_step()
        bad = _non_finite_floats(stats)
        if bad:
            last_good = _roll_back(loop, last_good, bad)
            continue
        loop.meter.add(stats)
        step = trainer.step
        stopping = loop.world.any(bool(stop.signum))      # every rank stops at the same step
        # a GPU step's statistics stay on the device: checked when the meter is read, before
        # anything is logged or saved (every rank reads at the same steps, on the same means)
        if _reads_statistics(loop, before, step, stopping) and not loop.meter.finite():
            last_good = _roll_back(loop, last_good, loop.meter.non_finite())
            continue
        if run is not None:
            _log_phase(loop, run, before)
            with loop.off_the_clock():
                _picture_phase(loop, run, before)
        if due(before, step, cfg.log.checkpoint_interval) or step == total or stopping:
            state = loop.snapshot()
            if run is not None:
                run.save_checkpoint(state, snapshot=due(before, step, cfg.log.snapshot_interval))
            last_good = cpu_copy(state)
            if stopping and step < total:
                progress.close()
                raise Interrupted(run, step, stop.signum or signal.SIGTERM)


def _log_phase(loop: _Loop, run: RunDir, before: int) -> None:
    """At each log interval (and the last step): the mean statistics as a metrics row."""
    trainer, step, hooks = loop.trainer, loop.trainer.step, loop.hooks
    if not (due(before, step, loop.cfg.log.interval) or step == trainer.total_steps):
        hooks.progress.update(step)
        return
    row = {"step": step, **loop.meter.mean(), **trainer.knob_log(),
           "elapsed": round(loop.seconds(), 3)}
    run.append_metrics(row)
    loop.meter.reset()
    hooks.progress.update(step, {k: row[k] for k in SHOWN_ON_PROGRESS if k in row}, log=True)
    if hooks.on_log:
        hooks.on_log(row, None)


def _picture_phase(loop: _Loop, run: RunDir, before: int) -> None:
    """At the eval and sample intervals: evaluation rows (with the class-conditional metrics
    when eval.conditional=every) and sample pictures (one draw)."""
    cfg, step, hooks = loop.cfg, loop.trainer.step, loop.hooks
    samples = drawn_once(hooks.sample_fn, cfg.eval.n_samples) if hooks.sample_fn else None
    if due(before, step, cfg.eval.interval) and step < loop.trainer.total_steps:
        hooks.progress.note(f"evaluating at step {step} (eval.interval)")
        label_fn = hooks.label_fn if cfg.eval.conditional == "every" else None
        row = {"step": step, "elapsed": round(loop.seconds(), 3),
               "eval": loop.trainer.evaluate(samples, label_fn, loop.reference_memo)}
        run.append_metrics(row)
        if hooks.on_log:
            hooks.on_log(row, samples(cfg.eval.n_samples) if samples is not None else None)
    if hooks.save_samples and samples is not None and due(before, step, cfg.log.sample_interval):
        hooks.save_samples(samples(cfg.eval.n_samples), f"step-{step:08d}")


def _roll_back(loop: _Loop, last_good: dict[str, Any], bad: list[str]) -> dict[str, Any]:
    """NaN/Inf in the statistics `bad`: restore the last good state, halve the learning rates,
    retry (bounded)."""
    retries = loop.retries + 1
    if retries > loop.cfg.trainer.max_retries:
        raise DivergenceError(
            f"training diverged at step {loop.trainer.step} ({', '.join(bad)} not finite) after "
            f"{loop.retries} rollbacks with halved learning rates; lower optim.lr_g/lr_d "
            f"or raise trainer.max_retries")
    good_retries, seconds = int(last_good["retries"]), loop.seconds()
    loop.restore(cpu_copy(last_good))
    loop.retries, loop.elapsed = retries, seconds
    loop.trainer.back_off(0.5 ** (retries - good_retries))
    if loop.run is None:
        return last_good
    loop.run.truncate_metrics(loop.trainer.step)
    loop.run.append_metrics({"step": loop.trainer.step, "event": "diverged", "non_finite": bad,
                             "retry": retries, **loop.trainer.knob_log()})
    return last_good
