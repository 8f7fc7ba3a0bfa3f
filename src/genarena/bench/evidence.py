"""`genarena bench evidence-STUDY` (#17): the seed papers' claims under the protocol of
docs/arena.md — the published presets at a stated fraction of the published budget (`--budget`),
several seeds, every figure with its 95% bootstrap interval, each claim checked on seed-paired
differences and reported as holds / refuted / not separable, and the convergence curve of every
method (mean and band over seeds) beside the published endpoint.

Each study writes evidence/STUDY.json and its curves; benchmarks/results/evidence.md is rebuilt
from every study on record plus the reproductions other suites keep (DLSM two moons and digits
from `bench diffusion`, the DFAC matrix game from `bench dfac`). Runs live in
runs/bench/evidence/STUDY/: a larger budget extends them (the curve continues), a killed study
resumes, a smaller budget is refused rather than throwing training away."""
from __future__ import annotations

import json
import math
import re
import time
from dataclasses import replace
from operator import attrgetter
from pathlib import Path
from typing import Any, Callable, Mapping

from genarena.bench.common import Launch, machine_info, records_beside, train_all
from genarena.bench.evidence_report import (
    ArmRecord,
    FloorRecord,
    StudyRecord,
    at_floor,
    calibration,
    settings,
    study_section,
    verdict_table,
    verdicts,
    write_report,
)
from genarena.bench.floors import floor_metrics
from genarena.bench.studies import STUDIES, ArmSpec, StudySpec
from genarena.checkpoint import atomic_write_bytes, atomic_write_text
from genarena.config import load_config
from genarena.metrics.modes import ranked_value
from genarena.nets import GAN_ARCHS
from genarena.records import Records
from genarena.report.curves import band, run_curve
from genarena.report.plots import bands_png
from genarena.stats import best_step, seed_averages
from genarena.train.marl import initial_test_return, random_test_return
from genarena.trainers import get_trainer

RUNS_ROOT = Path("runs/bench/evidence")


def steps_for(study: StudySpec, budget: float) -> int:
    """Generator updates of each run at `budget` × the reference, a whole number of
    evaluation intervals (and of the study's step unit)."""
    unit = math.lcm(study.eval_every, study.step_unit)
    return max(unit, round(budget * study.reference_steps / unit) * unit)


def training_groups(study: StudySpec, seeds: list[int]) -> tuple[list[tuple[ArmSpec, int]],
                                                                  list[tuple[ArmSpec, int]]]:
    """The runs in the order they train, seed-major within two groups: the calibration arms
    first (no verdict counts before they reach the paper, so a study stopped part-way has learned
    that first, for every calibration arm at its first seeds), then the other arms (every arm at
    its first seeds, so they compare). A study without calibration arms is all one group."""
    first = {c.arm for c in study.calibration}
    groups = ([(arm, seed) for seed in seeds for arm in study.arms if arm.label in first],
              [(arm, seed) for seed in seeds for arm in study.arms if arm.label not in first])
    return groups if groups[0] else (groups[1], [])


def training_order(study: StudySpec, seeds: list[int]) -> list[tuple[ArmSpec, int]]:
    """Every run of the study in the order it trains (training_groups, one after the other)."""
    first, rest = training_groups(study, seeds)
    return first + rest


def overrides_for(study: StudySpec, arm: ArmSpec, seed: int, budget: float, quick: bool,
                  shared: Path | None = None) -> dict[str, Any]:
    """The run's overrides: the arm's, the budget (or the smoke budget), the seed and its seed's
    shared stage (`shared`, under study.shared_key); the checkpoint interval is the evaluation
    interval, so a killed run loses at most one."""
    stage = {study.shared_key: str(shared)} if shared is not None else {}
    if quick:
        return {**_smoke(study, arm.overrides, seed), **stage}
    return {**arm.overrides, study.steps_key: steps_for(study, budget),
            "eval.interval": study.eval_every, "log.checkpoint_interval": study.eval_every,
            "seed": seed, **stage}


def shared_overrides(study: StudySpec, seed: int, quick: bool) -> dict[str, Any]:
    """The overrides of the seed's shared stage: its own budget (its preset's), or the smoke one."""
    assert study.shared is not None
    if quick:
        return _smoke(study, study.shared.overrides, seed)
    return {**study.shared.overrides, "seed": seed}


def _smoke(study: StudySpec, overrides: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """`overrides` at the study's smoke budget (--quick), checkpointing every other step."""
    return {**overrides, **study.quick, "log.checkpoint_interval": 2, "seed": seed}


def _train_shared(study: StudySpec, root: Path, seeds: list[int], quick: bool, launch: Launch,
                  records: Records | None) -> dict[int, Any]:
    """The shared stage of each seed (root/<label>-s<seed>), trained, resumed or reused; from its
    record only when every arm is recorded too (an arm still to train needs its checkpoint)."""
    if study.shared is None:
        return {}
    arms_recorded = records is not None and all(
        records.has(run_dir(root, arm.label, seed)) for arm in study.arms for seed in seeds)
    runs = train_all([(study.shared.preset, run_dir(root, study.shared.label, seed),
                       shared_overrides(study, seed, quick)) for seed in seeds], launch,
                     replace(records, restores=arms_recorded) if records is not None else None)
    return dict(zip(seeds, runs))


def _slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


def run_dir(root: Path, label: str, seed: int) -> Path:
    """Where the run of an arm (or a shared stage) at a seed trains, under the study's root."""
    return root / f"{_slug(label)}-s{seed}"


def picture_name(study: str, group: str, metric: str) -> str:
    """The file of a study's curves of one metric (and group): a markdown link, so no spaces;
    a group the study is named after is not repeated."""
    named = group and not study.endswith(f"-{_slug(group)}")
    return f"{study}-{_slug(group) + '-' if named else ''}{metric}.png"


def _cached(run: Any, file: str, key: str, compute: Callable[[], float]) -> float:
    """A figure of the final model, computed once and kept in the run's folder beside its
    summary (so its record carries it); recomputed when the run was extended."""
    cache = run.path / file
    if cache.exists():
        kept = json.loads(cache.read_text())
        if kept["steps"] == run.config.steps:
            return float(kept[key])
    value = float(compute())
    atomic_write_text(cache, json.dumps({"steps": run.config.steps, key: value}) + "\n")
    return value


def _fid_logits_5000(run: Any, quick: bool) -> float:
    """Classifier-FID of the final model on 5 000 samples (the paper's is on 1 000); a quick
    run reads its own FID instead."""
    if quick:
        return float(run.summary["metrics"].get("fid_logits", math.nan))
    return _cached(run, "evidence-fid-logits-5000.json", "fid_logits",
                   lambda: run.evaluate(5000)["fid_logits"])


def _random_return(run: Any, quick: bool) -> float:
    """Uniformly random agents on the run's own test episodes: the floor of its task."""
    return _cached(run, "evidence-random-return.json", "random_return",
                   lambda: random_test_return(run.config))


def _initial_return(run: Any, quick: bool) -> float:
    """The run's test return at step 0 (its untrained agents), where its curve starts."""
    return _cached(run, "evidence-initial-return.json", "initial_return",
                   lambda: initial_test_return(run.config))


EXTRA_FIGURES = {"fid_logits_5000": _fid_logits_5000, "random_return": _random_return,
                 "initial_return": _initial_return}
# extra figures that are a metric's value at step 0, where the training loop does not evaluate:
# the curves that figures are read off (CURVE_FIGURES) start with them
CURVE_STARTS = {"test_return": "initial_return"}


def _at_best_evaluation(curves: dict[int, dict[int, float]]) -> dict[int, float]:
    """Each seed's value at the evaluation where the seeds' mean is highest (EPyMARL's "maximum
    return": its mean and interval over seeds are those of these values)."""
    step = best_step(curves)
    return {seed: c[step] for seed, c in curves.items()}


# figures read off an arm's per-seed curves (they need every seed's curve): name -> (the metric
# whose curves they read, the rule); EPyMARL's maximum and average return, per seed
CURVE_FIGURES: dict[str, tuple[str, Callable[[dict[int, dict[int, float]]], dict[int, float]]]] = {
    "max_return": ("test_return", _at_best_evaluation),
    "average_return": ("test_return", seed_averages)}


def seed_curves(metric: str, curves: Mapping[int, list[tuple[int, float]]],
                figures: Mapping[str, Mapping[int, float]]) -> dict[int, dict[int, float]]:
    """Each seed's curve of `metric` as {step: value}, starting at step 0 with the arm's figure
    that measured it there (CURVE_STARTS), where the study has one."""
    start = figures.get(CURVE_STARTS.get(metric, ""), {})
    return {seed: {**({0: start[seed]} if seed in start else {}), **dict(c)}
            for seed, c in curves.items()}


def run(out: Path, quick: bool = False, study: str = "pacgan-grid25", budget: float | None = None,
        seeds: list[int] | None = None, launch: Launch = Launch(),
        runs_root: Path = RUNS_ROOT, uncalibrated: bool = False) -> list[Path]:
    """Train (or reuse, resume, extend) every arm × seed of `study`, then write
    evidence/STUDY.json, its curves, and evidence.md over every study on record. The calibration
    arms train first; when they miss their published figures the other arms are not trained
    (no verdict could count) unless `uncalibrated`."""
    s = STUDIES[study]
    budget = s.budget if budget is None else budget
    seeds = seeds if seeds is not None else [0, 1] if quick else list(range(s.seeds))
    root = runs_root / (f"{study}-quick" if quick else study)
    # evaluations fall on the first step past each interval (a round of episodes may overrun):
    # each is placed at the interval it crossed, so seeds share their curve's steps
    grid = (s.quick.get("eval.interval", 1) if quick else s.eval_every)
    records = records_beside(out, runs_root)
    shared = _train_shared(s, root, seeds, quick, launch, records)

    def train(part: list[tuple[ArmSpec, int]]) -> list[Any]:
        return train_all([(arm.preset, run_dir(root, arm.label, seed),
                           overrides_for(s, arm, seed, budget, quick,
                                         shared[seed].path if shared else None))
                          for arm, seed in part], launch, records)

    plan, rest = training_groups(s, seeds)
    runs = train(plan)
    if rest:
        values, _, seconds = _figures(s, plan, runs, grid, quick, records)
        if calibration(study, _arm_records(s, values, seconds))[0] or uncalibrated:
            plan, runs = plan + rest, runs + train(rest)
    values, curves, seconds = _figures(s, plan, runs, grid, quick, records)
    steps = int(attrgetter(s.steps_key)(runs[0].config))      # the dotted key the budget sets
    folder = out / "evidence"
    folder.mkdir(parents=True, exist_ok=True)
    pictures: dict[str, str] = {}
    for group in dict.fromkeys(a.group for a in s.arms):
        arms = [a for a in s.arms if a.group == group]
        for m in s.metrics:
            bands = {a.label: band(curves[m].get(a.label, [])) for a in arms}
            if not any(bands.values()):                 # no arm of the group trained
                continue
            refs = {a.label: a.published[m] for a in arms if m in a.published}
            png = bands_png({k: v for k, v in bands.items() if v}, s.xlabel, m,
                            f"{group or s.title}: {m} ({len(seeds)} seeds, mean, 95% band)", refs)
            name = picture_name(study, group, m)
            atomic_write_bytes(folder / name, png)
            pictures[f"{group} {m}".strip()] = name
    arm_records = _arm_records(s, values, seconds)
    floors = _floors(s, plan, runs)
    record = StudyRecord(
        study=study, title=s.title, protocol=s.protocol, seeds=seeds,
        budget=budget if not quick else None, steps=steps, eval_every=grid,
        reference_steps=s.reference_steps, reference=s.reference, quick=quick,
        command=_command(study, budget, s, quick, seeds), machine=machine_info(),
        arms=arm_records,
        curves={m: {label: band(c) for label, c in curves[m].items()} for m in s.metrics},
        metrics=list(s.metrics), pictures=pictures,
        claims=verdicts(s.claims, values, at_floor(arm_records, floors, s.metrics),
                        calibration(study, arm_records)[0]),
        shared=_shared_record(s, shared), floors=floors,
        settings=settings({a.label: r.config for (a, seed), r in zip(plan, runs)
                           if seed == seeds[0]}))
    js = folder / f"{study}.json"
    text = record.to_json()
    atomic_write_text(js, text)
    own: list[Path] = []
    if s.results:
        atomic_write_text(out / f"{s.results}.json", text)
        atomic_write_text(out / f"{s.results}.md", "\n".join(
            [f"# {s.title}", "", *verdict_table([record]), *study_section(record)]) + "\n")
        own = [out / f"{s.results}.json", out / f"{s.results}.md"]
    return [js, *(folder / p for p in pictures.values()), *own, *write_report(out)]


def _figures(s: StudySpec, plan: list[tuple[ArmSpec, int]], runs: list[Any], grid: int,
             quick: bool, records: Records) -> tuple[dict[str, dict[str, dict[int, float]]],
                                                     dict[str, dict[str, list]],
                                                     dict[str, list[float]]]:
    """The trained runs' figures (arm -> metric -> seed -> value: final metrics, extra figures,
    figures read off the curves), their curves (metric -> arm -> one per seed) and training
    seconds (arm -> one per seed)."""
    values: dict[str, dict[str, dict[int, float]]] = {a.label: {} for a in s.arms}
    curves: dict[str, dict[str, list]] = {m: {} for m in s.metrics}
    seconds: dict[str, list[float]] = {a.label: [] for a in s.arms}
    for (arm, seed), r in zip(plan, runs):
        metrics = r.summary["metrics"]
        for m in s.metrics:
            v = ranked_value(metrics, m)
            if isinstance(v, (int, float)) and math.isfinite(v):
                values[arm.label].setdefault(m, {})[seed] = float(v)
            curves[m].setdefault(arm.label, []).append(run_curve(r.path, m, grid))
        for m in s.extra:
            values[arm.label].setdefault(m, {})[seed] = EXTRA_FIGURES[m](r, quick)
        if s.extra:
            records.save(r.path)                   # the extra figures' caches join the record
        seconds[arm.label].append(r.summary["train_seconds"])
    for name in s.from_curves:
        metric, rule = CURVE_FIGURES[name]
        for arm in s.arms:
            per_seed = seed_curves(metric, {seed: run_curve(r.path, metric, grid)
                                            for (a, seed), r in zip(plan, runs) if a is arm},
                                   values[arm.label])
            if per_seed and all(per_seed.values()):
                values[arm.label][name] = rule(per_seed)
    return values, curves, seconds


def _arm_records(s: StudySpec, values: dict[str, dict[str, dict[int, float]]],
                 seconds: dict[str, list[float]]) -> list[ArmRecord]:
    """Every arm's record (an arm not trained has no figures and no seconds)."""
    return [ArmRecord(label=a.label, preset=a.preset, overrides=dict(a.overrides),
                      published=dict(a.published), train_seconds=seconds[a.label],
                      values={m: {str(k): v for k, v in values[a.label].get(m, {}).items()}
                              for m in (*s.metrics, *s.extra, *s.from_curves)},
                      group=a.group, source=a.source)
            for a in s.arms]


def _floors(s: StudySpec, plan: list[tuple[ArmSpec, int]], runs: list[Any]) -> list[FloorRecord]:
    """The learned-nothing floors of each group of arms (its data), scored like the group's first
    run; none for a study that learns no data set (marl: its floor is random_return) or whose
    images come from a net that is not a GAN generator (a score net)."""
    out = []
    for group in dict.fromkeys(a.group for a in s.arms):
        run = next((r for (arm, _), r in zip(plan, runs) if arm.group == group), None)
        if run is None:                             # no arm of the group trained (uncalibrated)
            continue
        cfg = run.config
        if not get_trainer(cfg.trainer.name).generative or (
                len(run.dataset.sample_shape) > 1 and cfg.model.arch not in GAN_ARCHS):
            continue
        for label, metrics in floor_metrics(cfg, run.dataset).items():
            figures = {m: ranked_value(metrics, m) for m in s.metrics}
            out.append(FloorRecord(label=label, group=group, values={
                m: float(v) for m, v in figures.items()
                if isinstance(v, (int, float)) and math.isfinite(v)}))
    return out


def _shared_record(s: StudySpec, shared: dict[int, Any]) -> dict[str, Any] | None:
    """The shared stage: its preset, budget, final figures per seed and curves (mean and band)."""
    if s.shared is None or not shared:
        return None
    first = next(iter(shared.values()))
    values = {m: {str(seed): float(r.summary["metrics"][m]) for seed, r in shared.items()
                  if isinstance(r.summary["metrics"].get(m), (int, float))} for m in s.metrics}
    every = first.config.eval.interval or first.config.steps
    return {"label": s.shared.label, "preset": s.shared.preset, "steps": first.config.steps,
            "overrides": dict(s.shared.overrides),
            "train_seconds": [r.summary["train_seconds"] for r in shared.values()],
            "values": {m: v for m, v in values.items() if v},
            "curves": {m: band([run_curve(r.path, m, every) for r in shared.values()])
                       for m, v in values.items() if v}}


def _command(study: str, budget: float, s: StudySpec, quick: bool, seeds: list[int]) -> str:
    suite = STUDIES[study].suite_name
    return (f"genarena bench {suite}" + (" --quick" if quick else "")
            + (f" --budget {budget:g}" if budget != s.budget and not quick else "")
            + (f" --seeds {len(seeds)}" if len(seeds) != s.seeds and not quick else ""))


def estimate_minutes(study: str, budget: float | None = None, workers: int = 2,
                     root: Path = Path("runs/bench/evidence-estimate")) -> list[str]:
    """The study's cost, from a short timed run of each arm (one evaluation interval, then an
    evaluation): minutes per run and for the whole study on `workers` parallel runs."""
    s = STUDIES[study]
    budget = s.budget if budget is None else budget
    steps = steps_for(s, budget)
    unit = math.lcm(s.eval_every, s.step_unit)
    started = time.perf_counter()
    seed = 999                                                   # never a reported seed
    lines = [f"{study}: {steps} updates per run ({budget:g} × {s.reference}), "
             f"{steps // s.eval_every} evaluations, {s.seeds} seeds"]
    total, extra = 0.0, {}
    if s.shared is not None:
        over = shared_overrides(s, seed, False)
        full = load_config(s.shared.preset, over)
        [stage] = train_all([(s.shared.preset, root / study / _slug(s.shared.label),
                              {**over, "steps": unit, "eval.interval": 0})],
                            Launch(workers, replace=True))          # timing runs are disposable
        evals = full.steps // full.eval.interval if full.eval.interval else 0
        per_seed = (stage.summary["train_seconds"] * full.steps / unit
                    + stage.summary["eval_seconds"] * (evals + 1)) / 60
        total += per_seed * s.seeds
        lines.append(f"  {s.shared.label} (once per seed): {per_seed:.1f} min")
        extra = {s.shared_key: str(stage.path)}
    runs = train_all([(arm.preset, root / study / _slug(arm.label),
                       {**arm.overrides, **extra, s.steps_key: unit, "eval.interval": 0,
                        "seed": seed}) for arm in s.arms], Launch(workers, replace=True))
    for arm, r in zip(s.arms, runs):
        summary = r.summary
        per_run = (summary["train_seconds"] * steps / unit
                   + summary["eval_seconds"] * steps / s.eval_every) / 60
        total += per_run * s.seeds
        lines.append(f"  {arm.label}: {per_run:.1f} min per run")
    lines.append(f"  whole study on {workers} workers: about {total / workers:.0f} min "
                 f"(timed {time.perf_counter() - started:.0f} s)")
    return lines


def check_budget(study: str, budget: float) -> None:
    """A budget must be positive; one too small for ten curve points is refused."""
    from genarena.errors import UserError
    s = STUDIES[study]
    if not budget > 0:
        raise UserError(f"--budget: expected a positive fraction of the published budget, got {budget}")
    points = steps_for(s, budget) // s.eval_every
    if points < 10:
        raise UserError(f"--budget: {budget:g} gives {points} evaluations in evidence-{study} "
                        f"(the protocol asks for at least 10); use at least "
                        f"{10 * s.eval_every / s.reference_steps:.3g}")
