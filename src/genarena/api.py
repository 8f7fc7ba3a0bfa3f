"""The Python API, mirroring the command line: train, load_run, Run.sample, Run.evaluate."""
from __future__ import annotations

import logging
import os
import platform
from contextlib import closing
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
from torch import Tensor

from genarena.checkpoint import load_checkpoint
from genarena.config import Config, load_config, parse_override, to_dict
from genarena.data import build_dataset
from genarena.data.base import Dataset
from genarena.distributed import SINGLE, World, joined
from genarena.errors import UserError
from genarena.generative import label_sampler_fn, sampler_fn
from genarena.metrics import evaluate
from genarena.progress import Progress
from genarena.report.html import write_report
from genarena.report.plots import save_sample_figure
from genarena.report.tensorboard import TensorBoard
from genarena.reuse import BUDGET_KEYS
from genarena.run import RunDir
from genarena.train.base import Trainer, eval_seed
from genarena.train.loop import Hooks, Interrupted, fit
from genarena.train.precision import switches
from genarena.trainers import TRAINERS, config_yaml, get_trainer

log = logging.getLogger(__name__)


def resolve_device(name: str, key: str = "config key 'device'") -> torch.device:
    """auto picks CUDA when present; asking for a CUDA device that is not there, or for no device
    at all, is a user error (named by `key`)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UserError(f"{key}: '{name}' is not a device (auto, cpu, cuda or cuda:N)") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UserError(f"{key}: {name} requested but no CUDA device is "
                            "available (device=cpu opens the run here)")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UserError(f"{key}: {name} requested but this machine has "
                            f"{torch.cuda.device_count()} CUDA device(s)")
    return device


def describe_device(device: torch.device) -> dict[str, str]:
    """The device a run used, for summary.json and bench records: its name and what it is."""
    if device.type == "cuda":
        # the UUID names the physical GPU: under CUDA_VISIBLE_DEVICES every run's is `cuda:0`
        return {"device": str(device), "device_name": torch.cuda.get_device_name(device),
                "device_uuid": str(torch.cuda.get_device_properties(device).uuid)}
    return {"device": str(device), "device_name": platform.processor() or platform.machine()}


def configure_threads(threads: int) -> None:
    """backend.threads > 0 sizes torch's intra-op pool; 0 leaves it as it is (torch's default: the
    cores, or OMP_NUM_THREADS when set), so a library call never overrides the caller's choice."""
    if threads > 0:
        torch.set_num_threads(threads)


def _run_name(config: Any) -> str:
    if isinstance(config, (str, Path)):
        return Path(str(config)).stem
    return "run"


class Run:
    """A finished (or checkpointed) run directory with its final model."""

    def __init__(self, path: str | Path, checkpoint: str | None = None,
                 device: str | None = None) -> None:
        self.dir = RunDir.existing(path)
        self.device = device                 # None: the device config.yaml names
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
        other = Run(self.path, self.checkpoint_name, self.device)
        other.config = load_config(self.config, {"guidance.scale": scale})   # validated anew
        return other

    def model(self) -> Any:
        """The final generative model: generate(n, rng, labels) (loaded once)."""
        if self._model is None:
            if not self.checkpoint.exists() and self.dir.summary_file.exists():
                raise UserError(f"run '{self.path}': a record of a finished run (summary, metrics, "
                                "samples) without its checkpoint; train it again to sample it")
            state = load_checkpoint(self.checkpoint)
            spec = get_trainer(self.config.trainer.name)
            device = resolve_device(self.device or self.config.device)
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
        """The metrics of docs/arena.md for n generated samples (default: eval.n_samples)."""
        return evaluate(lambda k: self.sample(k), self.dataset, self.config.eval,
                        eval_seed(self.config), n,
                        label_sampler_fn(self.model(), eval_seed(self.config)),
                        device=resolve_device(self.device or self.config.device))




def _extend(run: RunDir, cfg: Config, overrides: Mapping[str, Any], at_step: int,
            record: bool = True) -> Config:
    """--resume RUN steps=N: the same run, with a larger budget recorded in config.yaml and
    metrics.jsonl (only a budget key may change, genarena.reuse.BUDGET_KEYS: anything else would
    not be the same run; `device` moves it without changing it); `record`
    is False on ranks other than 0, which read the run but never write it."""
    bad = [k for k in overrides if k not in BUDGET_KEYS]
    if bad:
        raise UserError(f"--resume: override '{bad[0]}' would change the run; only "
                        f"{', '.join(BUDGET_KEYS)} (to extend it) and device may be given")
    new = load_config(to_dict(cfg), dict(overrides))
    if new == cfg:
        return cfg
    key = "steps" if new.steps != cfg.steps else "guidance.classifier_steps"
    if new.loop_steps() < max(at_step, 1):
        raise UserError(f"config key '{key}': the run is at step {at_step}; expected a budget "
                        f"of at least that, got {new.loop_steps()}")
    guided = cfg.trainer.name == "diffusion" and cfg.guidance.classifier != "none"
    if guided and new.steps != cfg.steps:
        raise UserError("config key 'steps': a guided diffusion run trains its classifier after "
                        "the score net, so its score net cannot be extended; start a new run with "
                        "guidance.score_run")
    if key == "guidance.classifier_steps" and not guided:
        raise UserError("config key 'guidance.classifier_steps': only a guided diffusion run "
                        "trains a classifier")
    if record:
        # a finished run's final evaluation lives in summary.json, which the extended run will
        # rewrite: it stays on the convergence curve as this row's evaluation
        final = run.read_summary().get("metrics") if run.summary_file.exists() else None
        run.append_metrics({"step": at_step, "event": "extended", "from_steps": cfg.loop_steps(),
                            "to_steps": new.loop_steps(), **({"eval": final} if final else {})})
        run.write_config(config_yaml(new))
    return new


def _open_or_create(config: Any, resume: str | Path | None,
                    overrides: Sequence[str] | Mapping[str, Any], kwargs: Mapping[str, Any]
                    ) -> tuple[Config, RunDir | None, dict[str, Any] | None, dict[str, Any]]:
    """(config, existing run or None, checkpoint state or None, overrides as a mapping)."""
    base = (dict(overrides) if isinstance(overrides, Mapping)
            else dict(parse_override(o) for o in overrides))
    base.update({k.replace("__", "."): v for k, v in kwargs.items()})
    if resume is None:
        return load_config(config, base), None, None, base
    run = RunDir.existing(resume)
    cfg = run.read_config()
    state = run.load_checkpoint() if run.last_checkpoint.exists() else None
    return cfg, run, state, base


def train(config: str | Path | Mapping[str, Any] | Config = "ring8-nsgan", *,
          out: str | Path | None = None, resume: str | Path | None = None, quiet: bool = True,
          overrides: Sequence[str] | Mapping[str, Any] = (), **kwargs: Any) -> Run | None:
    """Train a preset, YAML file, dict or Config; keyword overrides use '__' for dots.

    The run directory is `out`, else runs/NAME-TIME under the current directory. With `resume`,
    continue that run from its last checkpoint; `steps=N` then extends it.
    Example: ``genarena.train("ring8-nsgan", steps=500, optim__lr_g=2e-4)``.
    Launched as one of several ranks (`genarena train --nproc N`, or torchrun), the process
    trains its share of one model; rank 0 returns the Run, the other ranks None.
    """
    cfg, run, state, given = _open_or_create(config, resume, overrides, kwargs)
    device_name = cfg.device
    if run is not None and given:
        device_name = str(given.pop("device", cfg.device))   # where this session trains
        load_config(cfg, {"device": device_name})               # validated as the config key is
    with joined(resolve_device(device_name)) as world:
        if run is not None and given:
            cfg = _extend(run, cfg, given, int(state["step"]) if state else 0, world.is_main)
        check_trainer_support(cfg, world.size)
        configure_threads(cfg.backend.threads or _rank_threads(world))
        device = torch.device(world.device)         # a rank's own GPU under plain `cuda`
        # The run seeds torch's global generator for what draws from it (weight initialisation);
        # the caller's generator state is restored afterwards, so train() leaves it as it found it.
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(cfg.seed)
            return _train_run(config, cfg, out, run, state, device, quiet, world)


def check_trainer_support(cfg: Config, nproc: int) -> None:
    """Whether the run's trainer supports what the run asks of it: mixed precision, and `nproc`
    processes (which must also split the batch). Checked before any run directory or rank."""
    spec = get_trainer(cfg.trainer.name)
    if cfg.trainer.amp != "none" and not spec.mixed_precision:
        able = " and ".join(name for name, s in TRAINERS.items() if s.mixed_precision)
        raise UserError(f"config key 'trainer.amp': the {cfg.trainer.name} trainer trains in "
                        f"fp32; mixed precision is for the {able} trainers")
    if nproc <= 1:
        return
    if not spec.data_parallel:
        parallel = [name for name, other in TRAINERS.items() if other.data_parallel]
        raise UserError(f"--nproc: trainer '{cfg.trainer.name}' trains in one process (a "
                        f"coevolution grid spreads its cells with backend.name); --nproc trains "
                        f"{' and '.join(parallel)}")
    if cfg.data.batch_size % nproc:
        raise UserError(f"config key 'data.batch_size': {cfg.data.batch_size} does not split "
                        f"evenly over --nproc {nproc} processes")
    per_rank = cfg.data.batch_size // nproc
    packs = [("model.pack", cfg.model.pack)]
    if cfg.trainer.name == "mspg" and cfg.mspg.aux_weight > 0:
        packs.append(("mspg.aux_pack", cfg.mspg.aux_pack))
    for key, pack in packs:
        if per_rank % pack:
            raise UserError(f"config key '{key}': each of the {nproc} processes gets {per_rank} "
                            f"samples of the batch, which do not group into packs of {pack}")
    _check_rank_devices(cfg.device, nproc)


def _check_rank_devices(device: str, nproc: int) -> None:
    """Several ranks on CUDA take a GPU each (their local rank's): one named GPU cannot serve
    them all, and there must be a GPU per rank."""
    if device.startswith("cuda:"):
        raise UserError(f"config key 'device': {device} names one GPU, but each of the {nproc} "
                        "processes trains on its own (its local rank's); use device=cuda")
    if device == "cuda" or (device == "auto" and torch.cuda.is_available()):
        count = torch.cuda.device_count()
        if nproc > count:
            raise UserError(f"--nproc: {nproc} processes on CUDA need a GPU each; this machine "
                            f"has {count} (device=cpu trains them on the CPU)")


def _rank_threads(world: World) -> int:
    """Torch threads of one rank when none are configured: the cores shared among this machine's
    ranks (0, torch's own choice, for one process or when OMP_NUM_THREADS says)."""
    if not world.distributed or "OMP_NUM_THREADS" in os.environ:
        return 0
    from genarena.cluster import cores
    return max(1, cores() // world.local_size)


def _train_run(config: Any, cfg: Config, out: str | Path | None, run: RunDir | None,
               state: dict[str, Any] | None, device: torch.device, quiet: bool,
               world: World = SINGLE) -> Run | None:
    """Build, create the run directory (only once the input is accepted), fit, summarise."""
    # Everything that can reject the input runs before a run directory is created.
    spec = get_trainer(cfg.trainer.name)
    dataset = build_dataset(cfg.data) if spec.generative else None
    if dataset is not None:
        log.debug("data %s: %s, sample shape %s", dataset.name, dataset.description,
                  dataset.sample_shape)
    log.debug("trainer %s on %s with %d torch threads", cfg.trainer.name, device,
              torch.get_num_threads())
    with closing(spec.build(cfg, dataset, device)) as trainer, switches(cfg.trainer):
        # closing: workers (Ray actors) never outlive the run, whatever happens
        if world.distributed:
            trainer.data_parallel(world)
        if not world.is_main:                  # in step with rank 0, which writes the run
            _fit(trainer, None, state, True)
            return None
        created = run is None
        if run is None:
            run = RunDir.create(out, _run_name(config))
            run.write_config(config_yaml(cfg))
        log.info("run directory %s", run.path.resolve())
        try:
            summary = _fit(trainer, run, state, quiet)
        except Interrupted:
            raise
        except BaseException as exc:
            if created and not run.last_checkpoint.exists():
                run.mark_failed(exc)           # nothing to resume: a new run may take this --out
            raise
    run.write_summary({**summary, **describe_device(device), "processes": world.size})
    write_report(run.path)
    return Run(run.path)


def _fit(trainer: Trainer, run: RunDir | None, state: dict[str, Any] | None,
         quiet: bool) -> dict[str, Any]:
    """The shared loop with this run's sample functions, progress display and TensorBoard (run
    is None on a rank other than 0: it trains and writes nothing)."""
    if run is None:
        return fit(trainer, None, Hooks(Progress(trainer.total_steps, "", quiet=True)), state)
    board = TensorBoard.open(run.path, trainer.cfg.log.tensorboard)
    progress = Progress(trainer.total_steps, run.path.name, quiet=quiet,
                        initial=int(state["step"]) if state else 0)
    try:
        summary = fit(trainer, run, _hooks(trainer, run, progress, board), state)
    finally:
        if board is not None:
            board.close()
    return {"run": run.path.name, **summary, "threads": torch.get_num_threads(),
            **trainer.summary_extras(), **_extensions(run)}


def _hooks(trainer: Trainer, run: RunDir, progress: Progress,
           board: TensorBoard | None) -> Hooks:
    """How a run samples its model (seeded for evaluation), pictures it and feeds TensorBoard; a
    trainer without a data set (it evaluates itself) has nothing to draw or picture."""
    dataset = trainer.dataset
    if dataset is None:
        return Hooks(progress, on_log=board.scalars_and_samples(None) if board else None)
    seed = eval_seed(trainer.cfg)

    def sample_fn(n: int) -> Tensor:
        # Asked afresh each time: a coevolution run's best mixture changes between generations.
        return sampler_fn(trainer.final_generative(), seed)(n)

    def label_fn(n: int, label: int) -> Tensor:
        fn = label_sampler_fn(trainer.final_generative(), seed)
        assert fn is not None
        return fn(n, label)

    def save_samples(x: Tensor, tag: str) -> None:
        save_sample_figure(x, dataset, run.samples / f"{tag}.png", f"{run.path.name} {tag}")
        if board is not None:
            board.samples(x, dataset, trainer.step)

    conditional = trainer.final_generative().conditional
    return Hooks(progress, sample_fn, label_fn if conditional else None, save_samples,
                 board.scalars_and_samples(dataset) if board else None)


def _extensions(run: RunDir) -> dict[str, Any]:
    """{"extensions": [...]} of a run whose budget was extended (each without the evaluation it
    keeps on the curve), or nothing."""
    rows = [{k: v for k, v in r.items() if k != "eval"} for r in run.read_metrics()
            if r.get("event") == "extended"]
    return {"extensions": rows} if rows else {}


def load_run(path: str | Path, checkpoint: str | None = None, device: str | None = None) -> Run:
    """Open a run directory written by `train`; `checkpoint` picks a snapshot (e.g.
    step-00000500.pt), `device` where its model runs (default: the device it was trained on)."""
    if device is not None:
        load_config({}, {"device": device})           # validated as the config key is
    return Run(path, checkpoint, device)
