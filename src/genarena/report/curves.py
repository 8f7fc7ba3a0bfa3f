"""Convergence curves: a metric at every evaluation of a run (metrics.jsonl's evaluation rows and
the final one of summary.json), and their mean with a 95% bootstrap band over seeds, so that a
table's endpoint can be read against whether the method had stopped improving."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

from genarena.metrics.modes import ranked_value
from genarena.run import RunDir
from genarena.stats import estimate

Point = tuple[int, float]


def run_curve(path: str | Path, metric: str, grid: int = 1) -> list[Point]:
    """(step, value) of `metric` at each evaluation of the run, the final one included, in step
    order (an evaluation the metric was undefined at is left out; the reverse KL of no mode
    counts as log K, as on the boards: metrics.modes.ranked_value). Extended runs keep
    their earlier final evaluations on the curve. Steps are placed on multiples of `grid` (an
    evaluation due at an interval runs at the first step past it)."""
    run = RunDir(Path(path))
    points: dict[int, float] = {}
    for row in run.read_metrics():
        value = ranked_value(row["eval"], metric) if isinstance(row.get("eval"), dict) else None
        if isinstance(value, (int, float)) and math.isfinite(value):
            points[int(row["step"]) // grid * grid] = float(value)
    if run.summary_file.exists():
        summary = run.read_summary()
        value = ranked_value(summary.get("metrics", {}), metric)
        if isinstance(value, (int, float)) and math.isfinite(value):
            # at the loop's budget (a guided diffusion run counts its classifier's updates
            # after its `steps`); runs from before final_step was recorded give `steps`
            points[int(summary.get("final_step", summary["steps"]))] = float(value)
    return sorted(points.items())


def band(curves: Sequence[Sequence[Point]]) -> list[tuple[int, float, float, float]]:
    """(step, mean, lo, hi) over the runs at every step all of them evaluated (the seeds of one
    method share their evaluation steps; a step some seed lacks is left out)."""
    if not curves:
        return []
    shared = set.intersection(*(set(s for s, _ in c) for c in curves))
    out = []
    for step in sorted(shared):
        e = estimate([dict(c)[step] for c in curves])
        out.append((step, e.mean, e.lo, e.hi))
    return out
