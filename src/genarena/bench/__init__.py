"""Benchmark suites of `genarena bench` (SPEC 8); results go to benchmarks/results/ as JSON + md."""
from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Callable

from genarena.bench import coevolution, dfac, diffusion, images, modes, mspg, throughput

SUITES: MappingProxyType[str, Callable[..., list[Path]]] = MappingProxyType({
    "throughput": throughput.run,
    "images": images.run,
    "diffusion": diffusion.run,
    "coevolution": coevolution.run,
    "mspg": mspg.run,
    "dfac": dfac.run,
    "modes": modes.run,
})


SEEDED = ("modes",)          # suites whose number of seeds the command line may set


def run_suites(names: list[str], out: Path, quick: bool = False,
               seeds: int | None = None) -> list[Path]:
    """Run the named suites, returning the result files written (`seeds`: for SEEDED suites)."""
    written: list[Path] = []
    for name in names:
        options = {"seeds": list(range(seeds))} if seeds is not None and name in SEEDED else {}
        written += SUITES[name](out, quick, **options)
    return written
