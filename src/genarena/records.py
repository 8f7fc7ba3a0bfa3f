"""Run records: the light files of finished runs (config, summary, metrics, final samples) kept
beside a bench's results.

A bench's run folders hold checkpoints and live on scratch disk; its results are committed. A
record of every finished run, written next to the results, lets a bench whose run folders are
gone (a new machine, a cleaned scratch disk, the next working session) reuse the runs it has
finished instead of training them again, and lets a reader audit each seed's summary and curve.
A restored run has no checkpoint: it serves what summaries and curves serve (tables, curves,
verdicts, the leaderboard), not sampling; benches that sample their final models keep none.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from genarena.checkpoint import atomic_write_bytes

# what a record keeps of a finished run; the summary is what makes a record whole, so it is
# written last and restored last
RECORD_FILES = ("config.yaml", "metrics.jsonl", "samples/final.png",
                "evidence-fid-logits-5000.json", "summary.json")


@dataclass(frozen=True)
class Records:
    """The records of the runs under `runs`, kept under `store` at the same relative paths."""
    runs: Path
    store: Path

    def record_of(self, run: Path) -> Path | None:
        """Where `run`'s record lives (None for a run outside `runs`)."""
        try:
            return self.store / Path(run).relative_to(self.runs)
        except ValueError:
            return None

    def has(self, run: Path) -> bool:
        """Whether a whole record of `run` is kept."""
        record = self.record_of(run)
        return record is not None and (record / "summary.json").is_file()

    def save(self, run: Path) -> None:
        """Keep the record of the finished run `run` (its summary last: a record cut short by a
        kill has none and is never restored)."""
        record = self.record_of(run)
        if record is None or not (Path(run) / "summary.json").is_file():
            return
        for name in RECORD_FILES:
            source = Path(run) / name
            if source.is_file():
                atomic_write_bytes(record / name, source.read_bytes())

    def restore(self, run: Path) -> bool:
        """Copy `run`'s record into its folder when that folder holds no run; True if it did."""
        record = self.record_of(run)
        if record is None or not self.has(run) or (Path(run) / "config.yaml").exists():
            return False
        if Path(run).exists():                    # what a run killed before its config left
            shutil.rmtree(run)
        for name in RECORD_FILES:
            source = record / name
            if source.is_file():
                atomic_write_bytes(Path(run) / name, source.read_bytes())
        return True
