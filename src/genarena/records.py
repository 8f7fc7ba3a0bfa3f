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
                "evidence-fid-logits-5000.json", "evidence-random-return.json", "summary.json")


@dataclass(frozen=True)
class Records:
    """The records of the runs under `runs`, kept under `store` at the same relative paths;
    `restores=False` keeps records without putting any back (genarena.sweep.restore_record)."""
    runs: Path
    store: Path
    restores: bool = True

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
        """Keep the record of the finished run `run`: exactly its record files, so a file of an
        earlier run at the same path (retrained under another configuration) does not survive
        beside the new ones. Unchanged files are not rewritten; while any changes, the record
        has no summary, which comes back last (a record cut short by a kill is never restored)."""
        record = self.record_of(run)
        if record is None or not (Path(run) / "summary.json").is_file():
            return
        wanted = {name: (Path(run) / name).read_bytes() if (Path(run) / name).is_file() else None
                  for name in RECORD_FILES}
        kept = {name: (record / name).read_bytes() if (record / name).is_file() else None
                for name in RECORD_FILES}
        if wanted == kept:
            return
        (record / "summary.json").unlink(missing_ok=True)
        kept["summary.json"] = None
        for name in RECORD_FILES:                               # the summary last
            target, data = record / name, wanted[name]
            if data is None:
                target.unlink(missing_ok=True)
            elif data != kept[name]:
                atomic_write_bytes(target, data)

    def restore(self, run: Path) -> None:
        """Copy `run`'s whole record into its folder, replacing what a run killed before writing
        its config left (whether to restore is genarena.sweep.restore_record's rule)."""
        record = self.record_of(run)
        assert record is not None and self.has(run)
        if Path(run).exists():
            shutil.rmtree(run)
        for name in RECORD_FILES:
            if (record / name).is_file():
                atomic_write_bytes(Path(run) / name, (record / name).read_bytes())
