"""Where an evidence study stands across sittings (`genarena bench SUITE --status`): which runs
are done, which are under way and how far, and what is left, timed by the study's own runs so
far. It reads the run folders and the kept records, and writes nothing."""
from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path

from genarena.bench.common import records_beside
from genarena.bench.evidence import RUNS_ROOT, overrides_for, run_dir, shared_overrides, training_order
from genarena.bench.studies import STUDIES
from genarena.config import Config, load_config
from genarena.reuse import differences
from genarena.run import RunDir


@dataclass(frozen=True)
class RunState:
    """One run of the study: how many of its `total` steps are trained (`done`: the last logged
    step of a run under way, which resumes from its last checkpoint) and in how many seconds."""
    label: str
    seed: int
    total: int
    done: int = 0
    finished: bool = False
    seconds: float = 0.0

    @property
    def started(self) -> bool:
        return self.done > 0


def run_state(path: Path, record: Path | None, label: str, seed: int, wanted: Config,
              steps_key: str) -> RunState:
    """The state of the run at `path`, or of its kept record, as a run of `wanted` (a run of
    another configuration counts as not started: the study would replace it)."""
    total = int(attrgetter(steps_key)(wanted))
    for where in (path, record):
        if where is None or not (where / "config.yaml").is_file():
            continue
        run = RunDir(where)
        stored = run.read_config()
        if set(differences(stored, wanted)) - {steps_key}:
            continue
        trained = int(attrgetter(steps_key)(stored))
        if run.summary_file.is_file():
            seconds = float(run.read_summary()["train_seconds"])
            return RunState(label, seed, total, min(trained, total), trained >= total, seconds)
        timed = [r for r in run.read_metrics() if "elapsed" in r and "step" in r]
        if timed:
            last = max(timed, key=lambda r: r["step"])
            return RunState(label, seed, total, int(last["step"]), False, float(last["elapsed"]))
    return RunState(label, seed, total)


def study_states(study: str, budget: float | None = None, out: Path = Path("benchmarks/results"),
                 runs_root: Path = RUNS_ROOT) -> list[RunState]:
    """Every run of the study in training order (a shared stage's runs first)."""
    s = STUDIES[study]
    budget = s.budget if budget is None else budget
    root, records = runs_root / study, records_beside(out, runs_root)
    states = []
    seeds = list(range(s.seeds))
    if s.shared is not None:
        for seed in seeds:
            path = run_dir(root, s.shared.label, seed)
            states.append(run_state(path, records.record_of(path), s.shared.label, seed,
                                    load_config(s.shared.preset, shared_overrides(s, seed, False)),
                                    "steps"))
    for arm, seed in training_order(s, seeds):
        path = run_dir(root, arm.label, seed)
        stage = run_dir(root, s.shared.label, seed) if s.shared is not None else None
        states.append(run_state(path, records.record_of(path), arm.label, seed,
                                load_config(arm.preset, overrides_for(s, arm, seed, budget, False,
                                                                      stage)), s.steps_key))
    return states


def seconds_per_step(states: list[RunState]) -> float | None:
    """An arm's pace: its finished runs' if any, else its runs under way (None: not started)."""
    for runs in ([r for r in states if r.finished], [r for r in states if r.started]):
        if runs:
            return sum(r.seconds for r in runs) / sum(r.done for r in runs)
    return None


def status_lines(study: str, budget: float | None = None, out: Path = Path("benchmarks/results"),
                 runs_root: Path = RUNS_ROOT) -> list[str]:
    """The study's progress per arm and the hours left on one worker and on two."""
    states = study_states(study, budget, out, runs_root)
    done = sum(r.finished for r in states)
    under_way = sum(r.started and not r.finished for r in states)
    lines = [f"{study}: {done} of {len(states)} runs done, {under_way} under way"]
    left, untimed = 0.0, []
    for label in dict.fromkeys(r.label for r in states):
        runs = [r for r in states if r.label == label]
        pace = seconds_per_step(runs)
        parts = []
        if finished := [r for r in runs if r.finished]:
            parts.append("done " + " ".join(f"s{r.seed}" for r in finished))
        if going := [r for r in runs if r.started and not r.finished]:
            parts.append("under way " + " ".join(f"s{r.seed} at {r.done}/{r.total}" for r in going))
        if waiting := [r for r in runs if not r.started]:
            parts.append("to start " + " ".join(f"s{r.seed}" for r in waiting))
        remaining = sum(r.total - r.done for r in runs if not r.finished)
        if pace is None:
            untimed += [label] if remaining else []
            timing = "not timed yet"
        else:
            left += pace * remaining
            timing = f"{pace * runs[0].total / 60:.0f} min per run"
        lines.append(f"  {label}: {'; '.join(parts)} ({timing})")
    note = f" (not counting {', '.join(untimed)}: `--estimate` times them)" if untimed else ""
    lines.append(f"  left: about {left / 3600:.1f} h on one worker, {left / 7200:.1f} h on two{note}")
    return lines
