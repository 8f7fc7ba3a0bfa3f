"""Run directories: resolved config, metrics.jsonl, summary.json, checkpoints and samples."""
from __future__ import annotations

import json
import math
import os
import shutil
import time
from pathlib import Path
from typing import Any

import yaml

from genarena.checkpoint import atomic_write_text, load_checkpoint, save_checkpoint
from genarena.config import Config, from_dict
from genarena.errors import UserError


def json_safe(value: Any) -> Any:
    """NaN/Inf become null so every file stays strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


class RunDir:
    """The files of one training run, each written atomically (metrics.jsonl line by line)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    config_file = property(lambda self: self.path / "config.yaml")
    metrics_file = property(lambda self: self.path / "metrics.jsonl")
    summary_file = property(lambda self: self.path / "summary.json")
    checkpoints = property(lambda self: self.path / "checkpoints")
    samples = property(lambda self: self.path / "samples")
    last_checkpoint = property(lambda self: self.checkpoints / "last.pt")

    @classmethod
    def create(cls, out: str | Path | None, name: str, root: str | Path = "runs") -> "RunDir":
        """A new run directory: `out` if given (it must not hold a run), else root/name-time."""
        if out is None:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            path = Path(root) / f"{name}-{stamp}"
            i = 1
            while path.exists():
                i += 1
                path = Path(root) / f"{name}-{stamp}-{i}"
        else:
            path = Path(out)
            failed = cls(path)
            if failed.failed_file.exists() and not failed.last_checkpoint.exists():
                failed.discard()
            if (path / "config.yaml").exists():
                raise UserError(f"run directory '{path}' already holds a run "
                                "(use --resume to continue it, or another --out)")
            if path.exists() and not path.is_dir():
                raise UserError(f"--out '{path}': exists and is not a directory")
        path.mkdir(parents=True, exist_ok=True)
        return cls(path)

    failed_file = property(lambda self: self.path / "failed.txt")

    def mark_failed(self, exc: BaseException) -> None:
        """A run that stopped before its first checkpoint: say why (its metrics stay for diagnosis)
        and let the next run with the same --out replace it."""
        atomic_write_text(self.failed_file, f"{type(exc).__name__}: {exc}\n")

    def discard(self) -> None:
        """Remove what a failed run wrote (and the folder, if that leaves it empty)."""
        for name in ("config.yaml", "metrics.jsonl", "summary.json", "report.html", "failed.txt",
                     "train.log"):
            (self.path / name).unlink(missing_ok=True)
        for sub in (self.samples, self.checkpoints, self.path / "tensorboard"):
            if sub.is_dir():
                shutil.rmtree(sub, ignore_errors=True)
        try:
            self.path.rmdir()
        except OSError:
            pass

    @classmethod
    def existing(cls, path: str | Path) -> "RunDir":
        """An existing run directory (one with a config.yaml)."""
        run = cls(path)
        if not run.config_file.is_file():
            raise UserError(f"run directory '{path}': no config.yaml (expected a genarena run)")
        return run

    # config ------------------------------------------------------------------------------------
    def write_config(self, text: str) -> None:
        """config.yaml: the resolved configuration as YAML (genarena.trainers.config_yaml)."""
        atomic_write_text(self.config_file, text)

    def read_config(self) -> Config:
        try:
            data = yaml.safe_load(self.config_file.read_text())
        except (OSError, yaml.YAMLError):
            raise UserError(f"config file '{self.config_file}': unreadable or malformed") from None
        return from_dict(data or {})

    # metrics -----------------------------------------------------------------------------------
    def append_metrics(self, row: dict[str, Any]) -> None:
        with open(self.metrics_file, "a", encoding="utf-8") as f:
            f.write(json.dumps(json_safe(row)) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def read_metrics(self) -> list[dict[str, Any]]:
        """Complete rows of metrics.jsonl (a line cut by a kill is skipped)."""
        if not self.metrics_file.exists():
            return []
        rows = []
        for line in self.metrics_file.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return rows

    def truncate_metrics(self, last_step: int) -> None:
        """Drop rows after `last_step` (resume and rollback continue from a checkpoint)."""
        if not self.metrics_file.exists():
            return
        keep = [r for r in self.read_metrics() if r.get("step", 0) <= last_step]
        atomic_write_text(self.metrics_file,
                          "".join(json.dumps(r) + "\n" for r in keep))

    # summary -----------------------------------------------------------------------------------
    def write_summary(self, summary: dict[str, Any]) -> None:
        atomic_write_text(self.summary_file, json.dumps(json_safe(summary), indent=2) + "\n")

    def read_summary(self) -> dict[str, Any]:
        if not self.summary_file.exists():
            raise UserError(f"run directory '{self.path}': no summary.json "
                            "(the run has not finished; use --resume)")
        try:
            return json.loads(self.summary_file.read_text())
        except json.JSONDecodeError:
            raise UserError(f"summary file '{self.summary_file}': malformed JSON") from None

    # checkpoints -------------------------------------------------------------------------------
    def save_checkpoint(self, state: dict[str, Any], snapshot: bool = False) -> None:
        save_checkpoint(state, self.last_checkpoint)
        if snapshot:
            save_checkpoint(state, self.checkpoints / f"step-{state['step']:08d}.pt")

    def load_checkpoint(self) -> dict[str, Any]:
        return load_checkpoint(self.last_checkpoint)
