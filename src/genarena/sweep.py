"""Many runs of one preset (seeds × varied keys) in parallel worker processes, resumable.

`genarena sweep PRESET [key=value ...] --seeds A-B [--vary key=v1,v2 ...] [--workers N]
[--address local|auto|HOST:PORT] --out DIR` writes one run directory per combination,
DIR/<preset>-s<seed>[-<key>=<value>...]. Each run is a `genarena train` process with one torch
thread (two single-threaded processes beat one two-threaded process for these nets): a child of
this process, or with --address one Ray task per run on a cluster (whose nodes must see DIR, a
shared filesystem). Its result is the same as `genarena train` with the same config would give.
A finished run is reused, an interrupted one resumed from its checkpoint, and a run whose
process (or Ray worker, or node) dies is retried from its last checkpoint. Killing the sweep and
starting it again continues where it stopped.
"""
from __future__ import annotations

import itertools
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from genarena.cluster import cores
from genarena.config import load_config, parse_override
from genarena.errors import UserError
from genarena.records import Records
from genarena.reuse import Decision, Extend, Fresh, Reuse, apply, differences, inspect
from genarena.reuse import plan as plan_reuse
from genarena.run import RunDir

log = logging.getLogger(__name__)


class Launched(Protocol):
    """A started run: a local process or a Ray task."""
    def poll(self) -> int | None: ...       # the exit code once finished
    def error(self) -> str: ...             # what the run wrote to stderr
    def terminate(self) -> None: ...        # ask it to stop (it checkpoints first)
    def wait(self) -> None: ...


@dataclass
class Job:
    """One run of the sweep: its preset, directory and the overrides that make it."""
    name: str
    path: Path
    overrides: dict[str, Any]
    preset: str = ""
    attempts: int = 0
    proc: Launched | None = field(default=None, repr=False)
    decision: Decision | None = None      # what its folder called for when last looked at
    gpu: int | None = None                # the GPU a local run was placed on (None: none)

    def wants_gpu(self) -> bool:
        """Whether the run trains on a GPU the sweep may choose: device cuda or auto (cuda:N
        is the user's own placement, cpu none)."""
        cfg = load_config(self.preset, self.overrides) if self.preset else \
            RunDir(self.path).read_config()
        return cfg.device in ("cuda", "auto")


def parse_seeds(text: str) -> list[int]:
    """'0-4' -> [0..4]; '1,3,7' -> [1, 3, 7]."""
    try:
        if "-" in text and "," not in text:
            lo, hi = (int(p) for p in text.split("-", 1))
            seeds = list(range(lo, hi + 1))
        else:
            seeds = [int(p) for p in text.split(",")]
    except ValueError:
        raise UserError(f"--seeds '{text}': expected A-B or a comma-separated list of seeds") from None
    if not seeds or min(seeds) < 0:
        raise UserError(f"--seeds '{text}': expected non-negative seeds, low to high")
    return seeds


def parse_vary(items: list[str]) -> list[tuple[str, list[Any]]]:
    """['optim.lr_g=1e-4,2e-4'] -> [('optim.lr_g', [1e-4, 2e-4])] (values read as YAML)."""
    out = []
    for item in items:
        key, raw = parse_override(item)
        values = [parse_override(f"{key}={v}")[1] for v in str(item.partition("=")[2]).split(",")]
        if not values or any(v == "" for v in values):
            raise UserError(f"--vary '{item}': expected KEY=V1,V2,...")
        out.append((key, values))
    return out


def plan(preset: str, overrides: list[str], seeds: list[int], vary: list[tuple[str, list[Any]]],
         out: Path) -> list[Job]:
    """Every combination as a Job, each config validated before anything runs."""
    base = dict(parse_override(o) for o in overrides)
    stem = Path(preset).stem
    jobs = []
    for seed in seeds:
        for combo in itertools.product(*(values for _, values in vary)):
            chosen = {key: value for (key, _), value in zip(vary, combo)}
            name = f"{stem}-s{seed}" + "".join(f"-{k}={v}" for k, v in chosen.items())
            over = {**base, **chosen, "seed": seed}
            load_config(preset, over)                       # a bad combination stops here
            jobs.append(Job(name, out / name, over, preset))
    return jobs


def reuse_decision(job: Job, replace: bool = False) -> Decision:
    """What to do with the job's folder (genarena.reuse): the one rule by which sweeps, benches
    and the quickstart reuse finished runs, resume interrupted ones and extend shorter ones. A
    run of another configuration, or of a larger budget, is refused (exit 2 naming --replace)
    unless `replace`, which deletes it; leftovers of a run killed before its first checkpoint
    are removed."""
    decision = plan_reuse(inspect(job.path), load_config(job.preset, job.overrides))
    job.decision = apply(job.path, decision, replace)
    return job.decision


def restore_record(job: Job, records: Records | None) -> None:
    """Put the kept record of `job` into its empty folder when the record is of the job's very
    configuration (a record of another budget has no checkpoint to extend, so it is left)."""
    if (records is None or not records.restores or not records.has(job.path)
            or RunDir(job.path).config_file.exists()):
        return
    record = records.record_of(job.path)
    assert record is not None
    if not differences(RunDir(record).read_config(), load_config(job.preset, job.overrides)):
        records.restore(job.path)
        log.info("sweep: %s restored from its record %s", job.name, record)


def _progress(running: list[Job]) -> str:
    """Where each running job is: its last logged step of its budget."""
    parts = []
    for job in running:
        rows = RunDir(job.path).read_metrics()
        step = max((int(r.get("step", 0)) for r in rows), default=0)
        parts.append(f"{job.name} {step}/{load_config(job.preset, job.overrides).loop_steps()}")
    return ", ".join(parts)


def _command(job: Job, decision: Decision) -> list[str]:
    """The `genarena` command line of a job: a fresh run, a resumed one or an extended one."""
    if isinstance(decision, Fresh):
        args = ["train", job.preset, *(f"{k}={v}" for k, v in job.overrides.items()), "--out",
                str(job.path)]
    else:
        extend = [f"{decision.key}={decision.to}"] if isinstance(decision, Extend) else []
        args = ["train", "--resume", str(job.path), *extend]
    return [*args, "--quiet"]


def _die_with_parent() -> None:
    """In a run's process (Linux): SIGTERM when its parent dies, so that a Ray worker killed
    with its task leaves no orphan training on; the run checkpoints and stops."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _popen(args: list[str], threads: int, stderr: Any = subprocess.PIPE,
           gpu: int | None = None) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads),
           **({"CUDA_VISIBLE_DEVICES": str(gpu)} if gpu is not None else {})}
    return subprocess.Popen([sys.executable, "-m", "genarena", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=stderr, text=True,
                            preexec_fn=_die_with_parent if sys.platform == "linux" else None)


LOG_NAME = "train.log"        # a sweep's run writes its stderr here, beside config.yaml


class LocalRun:
    """A run as a child process of this one, its stderr streamed to RUN/train.log (a pipe read
    only at exit would block a child that writes more than the pipe holds)."""

    def __init__(self, args: list[str], threads: int, log_file: Path,
                 gpu: int | None = None) -> None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_file = log_file
        self.offset = log_file.stat().st_size if log_file.exists() else 0
        with open(log_file, "a") as stream:
            self.proc = _popen(args, threads, stream, gpu)

    def poll(self) -> int | None:
        return self.proc.poll()

    def error(self) -> str:
        """What this attempt wrote to stderr."""
        with open(self.log_file) as f:
            f.seek(self.offset)
            return f.read()

    def terminate(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()

    def wait(self) -> None:
        self.proc.wait()


def run_in_ray_task(args: list[str], threads: int) -> tuple[int, str]:
    """The body of a Ray task: one run as a child process of the Ray worker; cancelling the
    task stops the run with a checkpoint."""
    proc = _popen(args, threads)
    try:
        _, err = proc.communicate()
    except BaseException:
        proc.terminate()
        proc.wait()
        raise
    return proc.returncode, err


class RayRun:
    """A run as a Ray task, scheduled on any node of the cluster with `threads` free CPUs (and
    `gpus`: Ray then shows the task, and the run it starts, only the GPUs it was given)."""

    def __init__(self, ray: Any, args: list[str], threads: int, gpus: float = 0) -> None:
        task = ray.remote(num_cpus=threads, num_gpus=gpus, max_retries=0)(run_in_ray_task)
        self.ray, self.ref = ray, task.remote(args, threads)
        self.code: int | None = None
        self.err = ""

    def poll(self) -> int | None:
        if self.code is None and self.ray.wait([self.ref], timeout=0)[0]:
            try:
                self.code, self.err = self.ray.get(self.ref)
            except Exception as exc:                 # the worker or its node died: retry
                self.code, self.err = -1, f"{type(exc).__name__}: {exc}"
        return self.code

    def error(self) -> str:
        return self.err

    def terminate(self) -> None:
        if self.code is None:
            self.ray.cancel(self.ref)

    def wait(self) -> None:
        try:
            self.ray.wait([self.ref], timeout=60)
        except Exception:
            pass


def least_loaded_gpu(running: list[Job], gpus: int) -> int:
    """The GPU with the fewest running local runs (the lowest index among equals)."""
    load = [sum(j.gpu == g for j in running) for g in range(gpus)]
    return load.index(min(load))


def _start(job: Job, decision: Decision, threads: int, ray: Any = None,
           running: list[Job] | None = None, gpus: int = 0) -> None:
    """Start the job's run: as a Ray task (a GPU requested when the run wants one and the cluster
    has them), or as a child process (placed on the least loaded of this machine's `gpus`)."""
    job.attempts += 1
    args = _command(job, decision)
    if ray is not None:
        want = ray.cluster_resources().get("GPU", 0) > 0 and job.wants_gpu()
        job.proc = RayRun(ray, args, threads, gpus=1 if want else 0)
        return
    job.gpu = least_loaded_gpu(running or [], gpus) if gpus and job.wants_gpu() else None
    job.proc = LocalRun(args, threads, job.path / LOG_NAME, job.gpu)


def _cuda_devices() -> int:
    """This machine's CUDA devices (0 without torch's CUDA): local runs are spread over them."""
    import torch
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def run_sweep(preset: str, overrides: list[str], seeds: list[int], vary: list[str],
              workers: int | None, out: Path, retries: int = 2, address: str = "",
              replace: bool = False) -> list[Path]:
    """Run (or reuse, resume or extend) every combination on `workers` processes, or as Ray
    tasks when `address` is given; the run directories."""
    return run_jobs(plan(preset, overrides, seeds, parse_vary(vary), out), workers, retries,
                    address=address, replace=replace)


def run_jobs(jobs: list[Job], workers: int | None = None, retries: int = 2, replace: bool = False,
             poll_s: float = 0.2, every_s: float = 10.0, threads: int = 1,
             address: str = "", records: Records | None = None) -> list[Path]:
    """Every job on `workers` processes of `threads` torch threads each (default: as many as the
    cores allow), or as Ray tasks when `address` is given ("local" starts a Ray on 127.0.0.1;
    workers default to the cluster's CPUs ÷ threads). Jobs are reused when finished, resumed
    when interrupted and retried from their checkpoint when their process dies; a progress line
    every `every_s` seconds; the run directories, in the jobs' order. With `records`, a job whose
    folder is empty reuses its kept record, and each finished run's record is kept."""
    for job in jobs:
        restore_record(job, records)
    todo = [j for j in jobs if not isinstance(reuse_decision(j, replace), Reuse)]
    if records is not None:
        for job in (j for j in jobs if all(j is not t for t in todo)):
            records.save(job.path)
    ray, owns_ray = None, False
    if address and todo:
        from genarena.cluster import import_ray, start_ray
        owns_ray = start_ray("" if address == "local" else address, what="--address")
        ray = import_ray("--address")
        if workers is None:
            workers = max(1, int(ray.cluster_resources().get("CPU", 1)) // threads)
    workers = workers or max(1, cores() // threads)
    local_gpus = 0 if ray is not None else _cuda_devices()
    log.info("sweep: %d runs, %d already finished, %d worker(s)", len(jobs),
             len(jobs) - len(todo), workers)
    running: list[Job] = []
    started, finished = time.monotonic(), 0
    shown = started
    try:
        while todo or running:
            while todo and len(running) < workers:
                job = todo.pop(0)
                # a first start carries out the decision made above; a retry looks again (the
                # failed attempt may have left a checkpoint to resume from)
                decision = job.decision if job.attempts == 0 and job.decision else reuse_decision(job)
                _start(job, decision, threads, ray, running, local_gpus)
                running.append(job)
            time.sleep(poll_s)
            if time.monotonic() - shown >= every_s:
                shown = time.monotonic()
                log.info("sweep: %s", _progress(running))
            for job in [j for j in running if j.proc is not None and j.proc.poll() is not None]:
                running.remove(job)
                assert job.proc is not None
                code, err = job.proc.poll(), job.proc.error()
                if code == 0:
                    finished += 1
                    if records is not None:
                        records.save(job.path)
                    left = len(todo) + len(running)
                    eta = left * (time.monotonic() - started) / finished
                    log.info("sweep: %s done; %d of %d runs left, eta %.0f s", job.name, left,
                             len(jobs), eta)
                elif code == 2:
                    raise UserError(f"sweep: run {job.name}: {err.strip().splitlines()[-1]}"
                                    if err.strip() else f"sweep: run {job.name} was refused")
                elif job.attempts <= retries:
                    log.warning("sweep: run %s stopped (exit %s); retrying from its checkpoint",
                                job.name, code)
                    todo.insert(0, job)
                else:
                    raise UserError(f"sweep: run {job.name} failed {job.attempts} times "
                                    f"(last exit {code}); see {job.path}")
    finally:
        for job in running:                                  # interrupted: stop with checkpoints
            if job.proc is not None and job.proc.poll() is None:
                job.proc.terminate()
        for job in running:
            if job.proc is not None:
                job.proc.wait()
        if owns_ray and ray is not None:
            ray.shutdown()
    return [j.path for j in jobs]
