"""Benchmark suites of `genarena bench` (docs/arena.md); results go to benchmarks/results/ as
JSON + md. Each suite is one `SuiteSpec`: how it runs, what it measures, which options it takes."""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import Callable, Mapping

from genarena.bench import coevolution, dfac, diffusion, evidence, images, modes, mspg, scale, throughput
from genarena.bench.common import Launch
from genarena.bench.studies import STUDIES

RESULTS_OUT = "benchmarks/results"    # where full suites write (the committed results)
QUICK_OUT = "runs/bench-quick"        # where --quick writes unless --out says otherwise


@dataclass(frozen=True, kw_only=True)
class SuiteSpec:
    """One suite: `run(out, quick, **options)` writes its results. `minutes`: the wall time of
    its last full run on the machine its results name (None: never run in full; `--estimate`
    measures an evidence study); `parallel`: its training runs go through the run scheduler
    (--workers, --address), else it times code in this process and runs alone; `seeded`: it
    takes --seeds; `study`: the evidence study it runs (--budget, --estimate); `timed`: it
    times code on one device (--device)."""
    name: str
    run: Callable[..., list[Path]]
    about: str
    minutes: int | None = None
    parallel: bool = False
    seeded: bool = False
    study: str = ""
    timed: bool = False


SUITES: Mapping[str, SuiteSpec] = MappingProxyType({s.name: s for s in (
    SuiteSpec(name="throughput", run=throughput.run, minutes=6, timed=True,
              about="pair-trainer steps/s against a hand-written loop; the studies' updates "
                    "against one core's peak"),
    SuiteSpec(name="images", run=images.run, minutes=30, parallel=True,
              about="FID and the image metrics against training time on MNIST-5k"),
    SuiteSpec(name="diffusion", run=diffusion.run, minutes=75, parallel=True,
              about="the DLSM reproductions (two moons, conditional digits), sampler costs"),
    SuiteSpec(name="coevolution", run=coevolution.run, minutes=90, parallel=True,
              about="the Mustangs reproduction table; grid controllers against plain Mustangs"),
    SuiteSpec(name="mspg", run=mspg.run, minutes=60, parallel=True, timed=True,
              about="DEMA vs self-attention, controller overhead, the MSPG-SEN ablations"),
    SuiteSpec(name="dfac", run=dfac.run, minutes=5,
              about="IQL/VDN/QMIX/DIQL/DDN/DMIX on the stochastic two-step matrix game"),
    SuiteSpec(name="modes", run=modes.run, minutes=130, parallel=True, seeded=True,
              about="the arena: every method on ring8, grid25, stacked-mnist5k; leaderboard"),
    SuiteSpec(name="scale", run=scale.run, minutes=35,
              about="sweep runs/hour by workers; coevolution overhead by grid and backend; "
                    "Ray memory"),
    # no minutes for the evidence studies: their last full runs were under other protocols and
    # seed counts, so `--estimate` measures what each costs
    *(SuiteSpec(name=study.suite_name, run=partial(evidence.run, study=name),
                about=study.title, parallel=True,
                seeded=True, study=name) for name, study in STUDIES.items()),
)})


def suites_that(flag: str) -> list[str]:
    """The suites with `flag` set (parallel, seeded, timed, or study: the evidence suites)."""
    return [name for name, s in SUITES.items() if getattr(s, flag)]


def suite_table() -> str:
    """The suites, their estimated full durations and what each measures."""
    lines = [f"{'suite':<22} {'about':>14}  what"]
    for name, s in SUITES.items():
        when = ("see --estimate" if s.minutes is None          # never run in full yet
                else f"{s.minutes / 60:.1f} h" if s.minutes >= 90 else f"{s.minutes} min")
        lines.append(f"{name:<22} {when:>14}  {s.about}")
    lines.append("\n--quick runs a smoke version of a suite in minutes (results in "
                 f"{QUICK_OUT}/ unless --out is given).")
    return "\n".join(lines)


def run_suites(names: list[str], out: Path, quick: bool = False, seeds: int | None = None,
               launch: Launch = Launch(), budget: float | None = None,
               device: str | None = None, uncalibrated: bool = False) -> list[Path]:
    """Run the named suites, returning the result files written (`seeds`: for the seeded
    suites; `launch`: how the parallel suites spread their training runs; `budget`: the
    fraction of the published budget the evidence suites train; `device`: where the timed
    suites time their code; `uncalibrated`: the evidence suites train their compared arms even
    when the calibration arms miss their published figures)."""
    written: list[Path] = []
    for name in names:
        spec = SUITES[name]
        options: dict[str, object] = {}
        if spec.parallel:
            options["launch"] = launch
        if spec.seeded and seeds is not None:
            options["seeds"] = list(range(seeds))
        if spec.study and budget is not None:
            options["budget"] = budget
        if spec.study and (uncalibrated or quick):     # a smoke run tries every arm's code
            options["uncalibrated"] = True
        if spec.timed and device is not None:
            options["device"] = device
        written += spec.run(out, quick, **options)
    return written
