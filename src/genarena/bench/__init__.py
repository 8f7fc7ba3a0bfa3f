"""Benchmark suites of `genarena bench` (SPEC 8); results go to benchmarks/results/ as JSON + md."""
from __future__ import annotations

from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import Callable

from genarena.bench import (coevolution, dfac, diffusion, evidence, images, modes, mspg, scale,
                            throughput)
from genarena.bench.common import Launch

SUITES: MappingProxyType[str, Callable[..., list[Path]]] = MappingProxyType({
    "throughput": throughput.run,
    "images": images.run,
    "diffusion": diffusion.run,
    "coevolution": coevolution.run,
    "mspg": mspg.run,
    "dfac": dfac.run,
    "modes": modes.run,
    "scale": scale.run,
    **{suite: partial(evidence.run, study=study) for suite, study in evidence.SUITES.items()},
})


EVIDENCE = tuple(evidence.SUITES)       # the suites of evidence studies: --budget, --estimate
SEEDED = ("modes", *EVIDENCE)          # suites whose seeds the command line may set
# suites whose training runs go through the run scheduler (--workers, --address); the others
# time code in this process and run alone
PARALLEL = ("images", "diffusion", "coevolution", "mspg", "modes", *EVIDENCE)
RESULTS_OUT = "benchmarks/results"    # where full suites write (the committed results)
QUICK_OUT = "runs/bench-quick"        # where --quick writes unless --out says otherwise

# Wall minutes of each full suite on 2 cores, as the last full runs took (rounded; modes at its
# default 5 seeds), so that `genarena bench` can say what a suite costs before it starts; a
# suite not yet run in full has no entry (`--estimate` measures it).
MINUTES = MappingProxyType({"throughput": 5, "images": 30, "diffusion": 75, "coevolution": 90,
                            "mspg": 60, "dfac": 5, "modes": 130,
                            "scale": 35, "evidence-pacgan": 175, "evidence-stacked": 75,
                            "evidence-mustangs": 65, "evidence-mspg": 30,
                            "evidence-controllers": 45, "evidence-dlsm-digits": 100,
                            "evidence-mspg-stacked": 215,
                            "marl": 120})
ABOUT = MappingProxyType({
    "throughput": "pair-trainer steps/s against a hand-written loop of the same nets",
    "images": "FID and the image metrics against training time on MNIST-5k",
    "diffusion": "the DLSM reproductions (two moons, conditional digits), sampler costs",
    "coevolution": "the Mustangs reproduction table; grid controllers against plain Mustangs",
    "mspg": "DEMA vs self-attention, controller overhead, the MSPG-SEN ablations",
    "dfac": "IQL/VDN/QMIX/DIQL/DDN/DMIX on the stochastic two-step matrix game",
    "modes": "the arena: every method on ring8, grid25, stacked-mnist5k; leaderboard",
    "scale": "sweep runs/hour by workers; coevolution overhead by grid and backend; Ray memory",
    **{suite: evidence.STUDIES[study].title for suite, study in evidence.SUITES.items()},
})


def suite_table() -> str:
    """The suites, their estimated full durations and what each measures."""
    lines = [f"{'suite':<22} {'about':>14}  what"]
    for name in SUITES:
        minutes = MINUTES.get(name)
        when = ("see --estimate" if minutes is None          # never run in full yet
                else f"{minutes / 60:.1f} h" if minutes >= 90 else f"{minutes} min")
        lines.append(f"{name:<22} {when:>14}  {ABOUT[name]}")
    lines.append("\n--quick runs a smoke version of a suite in minutes (results in "
                 f"{QUICK_OUT}/ unless --out is given).")
    return "\n".join(lines)


def run_suites(names: list[str], out: Path, quick: bool = False, seeds: int | None = None,
               launch: Launch = Launch(), budget: float | None = None) -> list[Path]:
    """Run the named suites, returning the result files written (`seeds`: for the SEEDED
    suites; `launch`: how the PARALLEL suites spread their training runs; `budget`: the
    fraction of the published budget the EVIDENCE suites train)."""
    written: list[Path] = []
    for name in names:
        options: dict[str, object] = {}
        if name in PARALLEL:
            options["launch"] = launch
        if name in SEEDED and seeds is not None:
            options["seeds"] = list(range(seeds))
        if name in EVIDENCE and budget is not None:
            options["budget"] = budget
        written += SUITES[name](out, quick, **options)
    return written
