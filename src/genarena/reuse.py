"""Run reuse as a plan: what to do with a run directory that a sweep, a bench or the quickstart
is about to train into, decided by a pure function of what the directory holds and the config
wanted, then carried out by a separate `apply` (the only place that deletes anything).

- nothing: Fresh;
- the same config: Reuse when finished, Resume when checkpointed, else Fresh (the leftovers of a
  run killed before its first checkpoint are removed);
- a larger budget in one of BUDGET_KEYS and nothing else: Extend(key, to) when the run has a
  checkpoint (Fresh when killed before its first);
- a smaller budget, a kept record without checkpoint whose budget grew, or any other
  difference: Refuse(reason); with `replace`, Fresh after the old run is removed.

A refusal is a user error that names `--replace`: nothing is ever deleted silently.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import Any, Union

from genarena.config import Config, to_dict
from genarena.errors import UserError
from genarena.run import RunDir

# The keys that carry a run's budget and can grow on --resume (genarena.api._extend).
BUDGET_KEYS = ("steps", "guidance.classifier_steps")
# keys that say what a run is for without changing what it trains
DESCRIPTIVE_KEYS = ("description",)


@dataclass(frozen=True)
class Fresh:
    """Train from scratch; `leftovers`: what an earlier attempt left is removed first."""
    leftovers: bool = False


@dataclass(frozen=True)
class Reuse:
    """The finished run of this very config."""


@dataclass(frozen=True)
class Resume:
    """Continue the interrupted run of this very config from its checkpoint."""


@dataclass(frozen=True)
class Extend:
    """Continue the run past its budget: `key` grows to `to` (`train --resume RUN key=to`)."""
    key: str
    to: int


@dataclass(frozen=True)
class Refuse:
    """Neither reuse nor extension can make this run the one wanted: the user decides."""
    reason: str


Decision = Union[Fresh, Reuse, Resume, Extend, Refuse]


@dataclass(frozen=True)
class Existing:
    """What a run directory holds, read once: its config (None: none) and how far it got."""
    config: Config | None
    finished: bool = False
    checkpointed: bool = False


def inspect(path: Path) -> Existing:
    """What the run directory at `path` holds (reads only)."""
    run = RunDir(path)
    if not run.config_file.exists():
        return Existing(None)
    return Existing(run.read_config(), run.summary_file.exists(), run.last_checkpoint.exists())


def differences(stored: Config, wanted: Config) -> list[str]:
    """The dotted keys whose values differ between two configs, except those that only describe
    a run (DESCRIPTIVE_KEYS: rewording a preset's description does not make another run)."""
    def flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in d.items():
            out.update(flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
        return out
    a, b = flat(to_dict(stored)), flat(to_dict(wanted))
    return [k for k in sorted(set(a) | set(b))
            if a.get(k) != b.get(k) and k not in DESCRIPTIVE_KEYS]


def plan(existing: Existing, wanted: Config) -> Decision:
    """What to do with `existing` to get the run of `wanted` (pure: reads and writes nothing)."""
    stored = existing.config
    if stored is None:
        return Fresh()
    started = existing.finished or existing.checkpointed
    changed = differences(stored, wanted)
    if not changed:
        return Reuse() if existing.finished else Resume() if existing.checkpointed \
            else Fresh(leftovers=True)
    if len(changed) == 1 and changed[0] in BUDGET_KEYS:
        key = changed[0]
        have, want = attrgetter(key)(stored), attrgetter(key)(wanted)
        if not started:
            return Fresh(leftovers=True)
        if want < have:
            return Refuse(f"it holds a longer run ({key}={have}) than asked ({key}={want}); ask "
                          "for at least its budget, or --replace to train the shorter one")
        if not existing.checkpointed:
            return Refuse(f"it holds the record of a finished run ({key}={have}) without the "
                          f"checkpoint that extending it to {want} needs; --replace retrains it")
        return Extend(key, int(want))
    shown = ", ".join(f"{k}: {_show(stored, k)} → {_show(wanted, k)}" for k in changed[:3])
    more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
    return Refuse(f"it holds a run of another configuration ({shown}{more}); --replace "
                  "deletes it and trains the one asked for")


def _show(cfg: Config, key: str) -> str:
    try:
        return repr(attrgetter(key)(cfg))
    except AttributeError:
        return "(none)"


def apply(path: Path, decision: Decision, replace: bool = False, what: str = "sweep") -> Decision:
    """Carry out the part of `decision` that touches the disk: remove leftovers of a fresh run,
    or with `replace` the run a refusal protects; otherwise a refusal is a UserError naming the
    folder. Returns what remains to do (Fresh, Reuse, Resume or Extend)."""
    if isinstance(decision, Refuse):
        if not replace:
            raise UserError(f"{what}: '{path}': {decision.reason}")
        shutil.rmtree(path)
        return Fresh()
    if isinstance(decision, Fresh) and decision.leftovers:
        RunDir(path).discard()
        return Fresh()
    return decision
