"""The Python API, mirroring the command line: train, load_run, Run.sample, Run.evaluate."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import Tensor

from genarena.checkpoint import load_checkpoint
from genarena.config import Config, load_config, parse_override
from genarena.data import build_dataset
from genarena.data.base import Dataset
from genarena.errors import UserError
from genarena.metrics import evaluate
from genarena.progress import Progress
from genarena.report.html import write_report
from genarena.report.plots import save_sample_figure
from genarena.run import RunDir
from genarena.train import get_trainer
from genarena.train.generative import label_sampler_fn, sampler_fn
from genarena.train.loop import eval_seed, fit


def resolve_device(name: str) -> torch.device:
    """auto picks CUDA when present; asking for CUDA without it is a user error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("config key 'device': cuda requested but no CUDA device is available")
    return torch.device(name)


def configure_threads(threads: int) -> None:
    """Size torch's intra-op pool: one thread per available core unless the config says otherwise."""
    if not threads:
        threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    torch.set_num_threads(max(1, threads))


def _run_name(config: Any) -> str:
    if isinstance(config, (str, Path)):
        return Path(str(config)).stem
    return "run"


class Run:
    """A finished (or checkpointed) run directory with its final model."""

    def __init__(self, path: str | Path, checkpoint: str | None = None) -> None:
        self.dir = RunDir.existing(path)
        self.path = self.dir.path
        self.checkpoint_name = checkpoint
        self.checkpoint = self.dir.checkpoints / checkpoint if checkpoint else self.dir.last_checkpoint
        self.config: Config = self.dir.read_config()
        self._model: Any = None
        self._dataset: Dataset | None = None

    def __repr__(self) -> str:
        return f"Run('{self.path}')"

    @property
    def summary(self) -> dict[str, Any]:
        return self.dir.read_summary()

    @property
    def dataset(self) -> Dataset:
        if self._dataset is None:
            self._dataset = build_dataset(self.config.data)
        return self._dataset

    def with_guidance_scale(self, scale: float) -> "Run":
        """The same run, sampled with guidance scale α = `scale` (e.g. the α=10 'scaling' baseline)."""
        other = Run(self.path, self.checkpoint_name)
        other.config.guidance.scale = scale
        return other

    def model(self) -> Any:
        """The final generative model: generate(n, rng, labels) (loaded once)."""
        if self._model is None:
            state = load_checkpoint(self.checkpoint)
            spec = get_trainer(self.config.trainer.name)
            device = resolve_device(self.config.device)
            try:
                self._model = spec.load_model(self.config, self.dataset,
                                              state["trainer_state"], device)
            except (KeyError, RuntimeError) as exc:
                raise UserError(f"checkpoint '{self.checkpoint}': does not match "
                                f"config.yaml ({type(exc).__name__}: {exc})"[:300]) from None
        return self._model

    def sample(self, n: int, label: int | None = None, seed: int | None = None) -> Tensor:
        """n samples of the final model (EMA generator or mixture), deterministic for a seed."""
        model = self.model()
        if label is not None and not model.conditional:
            raise UserError(f"--label: run '{self.path}' has an unconditional model")
        if label is not None and not 0 <= label < self.dataset.num_classes:
            raise UserError(f"--label: expected a class in 0..{self.dataset.num_classes - 1}, "
                            f"got {label}")
        seed = eval_seed(self.config) if seed is None else seed
        return sampler_fn(model, seed, label)(n)

    def evaluate(self, n: int | None = None) -> dict[str, Any]:
        """The metrics of SPEC 7 for n generated samples (default: eval.n_samples)."""
        return evaluate(lambda k: self.sample(k), self.dataset, self.config.eval,
                        eval_seed(self.config), n,
                        label_sampler_fn(self.model(), eval_seed(self.config)))


def train(config: str | Path | Mapping[str, Any] | Config = "ring8-nsgan", *,
          out: str | Path | None = None, resume: str | Path | None = None, quiet: bool = True,
          overrides: list[str] | Mapping[str, Any] = (), **kwargs: Any) -> Run:
    """Train a preset, YAML file, dict or Config; keyword overrides use '__' for dots.

    Example: ``genarena.train("ring8-nsgan", steps=500, optim__lr_g=2e-4)``.
    """
    if resume is not None:
        run: RunDir | None = RunDir.existing(resume)
        cfg = run.read_config()
        state = run.load_checkpoint() if run.last_checkpoint.exists() else None
    else:
        base = (dict(overrides) if isinstance(overrides, Mapping)
                else dict(parse_override(o) for o in overrides))
        base.update({k.replace("__", "."): v for k, v in kwargs.items()})
        cfg, run, state = load_config(config, base), None, None
    configure_threads(cfg.backend.threads)
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)
    # Everything that can reject the input runs before a run directory is created.
    dataset = build_dataset(cfg.data)
    trainer = get_trainer(cfg.trainer.name).build(cfg, dataset, device)
    if run is None:
        run = RunDir.create(out, _run_name(config))
        run.write_config(cfg)
    seed = eval_seed(cfg)

    def sample_fn(n: int) -> Tensor:
        # Asked afresh each time: a coevolution run's best mixture changes between generations.
        return sampler_fn(trainer.final_generative(), seed)(n)

    def label_fn(n: int, label: int) -> Tensor:
        fn = label_sampler_fn(trainer.final_generative(), seed)
        assert fn is not None
        return fn(n, label)

    def save_samples(x: Tensor, tag: str) -> None:
        save_sample_figure(x, dataset, run.samples / f"{tag}.png", f"{run.path.name} {tag}")

    progress = Progress(trainer.total_steps, run.path.name, quiet=quiet,
                        initial=int(state["step"]) if state else 0)
    conditional = trainer.final_generative().conditional
    summary = fit(trainer, cfg, run, dataset, progress, sample_fn, state, save_samples,
                  label_fn if conditional else None)
    extras = getattr(trainer, "summary_extras", None)
    summary = {"run": run.path.name, **summary, **(extras() if extras else {})}
    run.write_summary(summary)
    write_report(run.path)
    return Run(run.path)


def load_run(path: str | Path, checkpoint: str | None = None) -> Run:
    """Open a run directory written by `train`; `checkpoint` picks a snapshot (e.g. step-00000500.pt)."""
    return Run(path, checkpoint)
