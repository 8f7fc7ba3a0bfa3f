"""Many runs of one preset (seeds × varied keys) in parallel worker processes, resumable.

`genarena sweep PRESET [key=value ...] --seeds A-B [--vary key=v1,v2 ...] --workers N --out DIR`
writes one run directory per combination, DIR/<preset>-s<seed>[-<key>=<value>...]. Each run is a
`genarena train` process with one torch thread (two single-threaded processes beat one
two-threaded process for these nets); its result is the same as `genarena train` with the same
config would give. A finished run is reused, an interrupted one resumed from its checkpoint, and a
run whose process dies is retried from its last checkpoint. Killing the sweep and starting it
again continues where it stopped.
"""
from __future__ import annotations

import itertools
import logging
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genarena.config import load_config, parse_override
from genarena.errors import UserError
from genarena.run import RunDir

log = logging.getLogger(__name__)


@dataclass
class Job:
    """One run of the sweep: its preset, directory and the overrides that make it."""
    name: str
    path: Path
    overrides: dict[str, Any]
    preset: str = ""
    attempts: int = 0
    proc: subprocess.Popen | None = field(default=None, repr=False)


def cores() -> int:
    """The cores this process may use: the default number of workers."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


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


def run_state(job: Job, replace: bool = False) -> str:
    """done | resume | fresh, from what the job's directory holds: the one rule by which sweeps,
    benches and the quickstart reuse finished runs and resume interrupted ones. A run of another
    configuration there is an error, or (`replace`, for benches whose budgets changed) removed;
    what a run killed before its first checkpoint left is removed for a fresh start."""
    run = RunDir(job.path)
    if not run.config_file.exists():
        return "fresh"
    if run.read_config() != load_config(job.preset, job.overrides):
        if not replace:
            raise UserError(f"sweep: '{job.path}' holds a run of another configuration "
                            "(use another --out)")
        shutil.rmtree(job.path)
        return "fresh"
    if run.summary_file.exists():
        return "done"
    if run.last_checkpoint.exists():
        return "resume"
    run.discard()                                           # killed before its first checkpoint
    return "fresh"


def _progress(running: list[Job]) -> str:
    """Where each running job is: its last logged step of its budget."""
    parts = []
    for job in running:
        rows = RunDir(job.path).read_metrics()
        step = max((int(r.get("step", 0)) for r in rows), default=0)
        parts.append(f"{job.name} {step}/{load_config(job.preset, job.overrides).steps}")
    return ", ".join(parts)


def _start(job: Job, fresh: bool, threads: int = 1) -> None:
    args = (["train", job.preset, *(f"{k}={v}" for k, v in job.overrides.items()), "--out", str(job.path)]
            if fresh else ["train", "--resume", str(job.path)])
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    job.attempts += 1
    job.proc = subprocess.Popen([sys.executable, "-m", "genarena", *args, "--quiet"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def run_sweep(preset: str, overrides: list[str], seeds: list[int], vary: list[str], workers: int,
              out: Path, retries: int = 2) -> list[Path]:
    """Run (or reuse, or resume) every combination on `workers` processes; the run directories."""
    return run_jobs(plan(preset, overrides, seeds, parse_vary(vary), out), workers, retries)


def run_jobs(jobs: list[Job], workers: int, retries: int = 2, replace: bool = False,
             poll_s: float = 0.2, every_s: float = 10.0, threads: int = 1) -> list[Path]:
    """Every job on `workers` processes of `threads` torch threads each (reused when finished,
    resumed when interrupted, retried from its checkpoint when its process dies), with a
    progress line every `every_s` seconds; the run directories, in the jobs' order."""
    todo = [j for j in jobs if run_state(j, replace) != "done"]
    log.info("sweep: %d runs, %d already finished, %d worker(s)", len(jobs),
             len(jobs) - len(todo), workers)
    running: list[Job] = []
    started, finished = time.monotonic(), 0
    shown = started
    try:
        while todo or running:
            while todo and len(running) < workers:
                job = todo.pop(0)
                _start(job, fresh=run_state(job) == "fresh", threads=threads)
                running.append(job)
            time.sleep(poll_s)
            if time.monotonic() - shown >= every_s:
                shown = time.monotonic()
                log.info("sweep: %s", _progress(running))
            for job in [j for j in running if j.proc is not None and j.proc.poll() is not None]:
                running.remove(job)
                assert job.proc is not None
                code, err = job.proc.returncode, (job.proc.stderr.read() if job.proc.stderr else "")
                if code == 0:
                    finished += 1
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
    return [j.path for j in jobs]
