"""What every benchmark suite records: the machine, versions, peak memory, JSON + markdown files."""
from __future__ import annotations

import json
import logging
import os
import platform
import resource
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F

from genarena.checkpoint import atomic_write_text
from genarena.records import Records
from genarena.run import json_safe

if TYPE_CHECKING:
    from genarena.api import Run

log = logging.getLogger(__name__)


def machine_info() -> dict[str, Any]:
    """CPU, cores, threads, GPUs and library versions, so results can be read against their
    machine."""
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu, "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
        else os.cpu_count(), "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
        "platform": platform.platform(), "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        # the GPUs torch sees: device=auto (the presets' default) trains on the first
        "gpus": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())],
    }


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def clock(device: torch.device) -> float:
    """time.perf_counter once the device's queued work has finished: CUDA kernels run
    asynchronously, so a timer that does not wait for them times the launches only."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


def bare_gan_step(g: torch.nn.Module, d: torch.nn.Module, opt_g: torch.optim.Optimizer,
                  opt_d: torch.optim.Optimizer, real: torch.Tensor, z_dim: int,
                  latents: tuple[torch.Tensor, torch.Tensor] | None = None) -> None:
    """The textbook step benches compare against: a D step (BCE) on real and detached fakes,
    then a G step (non-saturating) through the frozen D, nothing else (`latents`: the D and G
    steps' z, else drawn here)."""
    n = len(real)
    z_d, z_g = latents if latents is not None else (torch.randn(n, z_dim, device=real.device),
                                                    torch.randn(n, z_dim, device=real.device))
    with torch.no_grad():
        fake = g(z_d)
    loss_d = F.softplus(-d(real)).mean() + F.softplus(d(fake)).mean()
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    opt_d.step()
    d.requires_grad_(False)
    loss_g = F.softplus(-d(g(z_g))).mean()
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()
    d.requires_grad_(True)


def process_memory_mb(pid: int) -> dict[str, float] | None:
    """Memory of another process in MB (Linux /proc; None elsewhere): peak and current resident
    (counting shared libraries and shared object-store pages it touched), proportional (shared
    pages split among their users) and private (its own)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return None
    kb = {line.split(":")[0]: int(line.split()[1]) for text in (status, rollup)
          for line in text.splitlines() if line.split(":")[0] in _KB_FIELDS}
    return {"peak_rss": kb["VmHWM"] / 1024, "rss": kb["Rss"] / 1024, "pss": kb["Pss"] / 1024,
            "private": (kb["Private_Clean"] + kb["Private_Dirty"]) / 1024}


_KB_FIELDS = ("VmHWM", "Rss", "Pss", "Private_Clean", "Private_Dirty")


def write_results(out: Path, name: str, result: dict[str, Any], title: str,
                  table: list[str], notes: list[str]) -> list[Path]:
    """Write out/name.json and out/name.md (with the command and machine) atomically."""
    out.mkdir(parents=True, exist_ok=True)
    js, md = out / f"{name}.json", out / f"{name}.md"
    atomic_write_text(js, json.dumps(json_safe(result), indent=2, allow_nan=False) + "\n")
    m = result["machine"]
    lines = [f"# {title}", "", f"Command: `{result['command']}`", "",
             f"Machine: {m['cpu']}, {m['cores']} cores, torch {m['torch']} "
             f"({m['torch_threads']} threads), Python {m['python']}, "
             f"{'GPUs: ' + ', '.join(m['gpus']) if m.get('gpus') else 'no GPU'}, {m['date']}.", "",
             *table, "", *notes, ""]
    atomic_write_text(md, "\n".join(lines))
    return [js, md]


def runs_folder(suite: str, quick: bool) -> Path:
    """Where a suite's training runs live: runs/bench/SUITE, or runs/bench/SUITE-quick for its
    smoke runs, so a --quick call never meets (and is never refused by) the full budget's runs."""
    return Path("runs/bench") / (f"{suite}-quick" if quick else suite)


@dataclass(frozen=True)
class Launch:
    """How a suite's training runs are spread: `workers` parallel runs (None: one per core, or
    per CPU of the Ray cluster) as local processes, or as Ray tasks when `address` is given;
    workers=0 trains them in this process, one after another (smoke runs, debugging)."""
    workers: int | None = None
    address: str = ""
    replace: bool = False           # retrain runs of another config (`bench --replace`)


def records_beside(out: Path, runs_root: Path) -> Records:
    """The records of a suite's runs (runs_root/...), kept with its results: out/records/<suite>/...,
    so a later sitting on a fresh scratch disk reuses every run this one finished."""
    return Records(runs_root, out / "records" / runs_root.name)


def train_all(runs: list[tuple[str, Path, dict[str, Any]]], launch: Launch = Launch(),
              records: Records | None = None) -> list[Any]:
    """Train every (preset, run directory, overrides) through the run scheduler, in parallel, or
    reuse / resume what is there (the rule of train_or_reuse); the Runs, in order. With
    `records`, finished runs are kept as records and restored from them (genarena.records)."""
    from genarena.api import Run
    from genarena.sweep import Job, run_jobs
    if launch.workers == 0 and not launch.address:
        return [train_or_reuse(preset, out, overrides, records, launch.replace)
                for preset, out, overrides in runs]
    jobs = [Job(out.name, out, overrides, preset) for preset, out, overrides in runs]
    paths = run_jobs(jobs, launch.workers, replace=launch.replace, address=launch.address,
                     records=records)
    return [Run(path) for path in paths]


def _trained(run: Run | None) -> Run:
    """The run a bench trained (benches train in one process, which is rank 0)."""
    assert run is not None
    return run


def train_or_reuse(preset: str, out: Path, overrides: dict[str, Any],
                   records: Records | None = None, replace: bool = False) -> Any:
    """Train `preset` into `out` in this process, or reuse a finished run there (or its record)
    with the same resolved config, resume an unfinished one or extend a shorter one (the
    sweep's rule, genarena.reuse): a killed suite picks up where it stopped. A run of another
    configuration is refused unless `replace`."""
    from genarena.api import Run, train
    from genarena.reuse import Extend, Resume, Reuse
    from genarena.sweep import Job, restore_record, reuse_decision
    job = Job(out.name, out, overrides, preset)
    restore_record(job, records)
    decision = reuse_decision(job, replace)
    if isinstance(decision, Reuse):
        log.info("bench: reusing the finished run %s", out)
        run = Run(out)
    elif isinstance(decision, (Resume, Extend)):
        log.info("bench: %s %s", "resuming" if isinstance(decision, Resume) else "extending", out)
        run = _trained(train(resume=out, quiet=True, overrides={decision.key: decision.to}
                             if isinstance(decision, Extend) else {}))
    else:
        log.info("bench: training %s into %s", preset, out)
        started = time.perf_counter()
        run = _trained(train(preset, out=out, quiet=True, overrides=overrides))
        log.info("bench: %s done in %.0f s", out.name, time.perf_counter() - started)
    if records is not None:
        records.save(out)
    return run
