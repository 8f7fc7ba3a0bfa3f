"""Run records (genarena.records): finished runs kept beside a bench's results come back on a
fresh scratch disk, only whole and only for the very configuration asked."""
import dataclasses
import json
import shutil

import pytest

import genarena
from genarena.errors import UserError
from genarena.records import Records
from genarena.reuse import Reuse
from genarena.sweep import Job, restore_record, reuse_decision, run_jobs

OVER = {"steps": 20, "model.g_hidden": [16], "model.d_hidden": [16], "eval.n_samples": 200,
        "log.interval": 10, "log.checkpoint_interval": 10, "seed": 3}


def _finished(tmp_path):
    runs = tmp_path / "runs"
    genarena.train("ring8-nsgan", out=runs / "a" / "r-s3", quiet=True, overrides=OVER)
    return Records(runs, tmp_path / "kept"), runs / "a" / "r-s3"


def test_a_saved_record_restores_a_finished_run_without_its_checkpoint(tmp_path):
    records, run = _finished(tmp_path)
    assert records.record_of(run) == tmp_path / "kept" / "a" / "r-s3"
    assert records.record_of(tmp_path / "elsewhere") is None
    records.save(run)
    kept = records.record_of(run)
    assert {p.name for p in kept.iterdir()} == {"config.yaml", "metrics.jsonl", "summary.json",
                                                "samples"}
    summary = (run / "summary.json").read_text()
    for path in sorted(run.rglob("*"), reverse=True):           # a fresh scratch disk
        path.unlink() if path.is_file() else path.rmdir()
    job = Job(run.name, run, OVER, "ring8-nsgan")
    restore_record(job, records)
    assert (run / "summary.json").read_text() == summary
    assert not (run / "checkpoints").exists()
    assert reuse_decision(job) == Reuse()
    with pytest.raises(UserError, match="a record of a finished run .* without its checkpoint"):
        genarena.Run(run).sample(4)


def test_a_record_of_another_configuration_or_cut_short_is_not_restored(tmp_path):
    records, run = _finished(tmp_path)
    records.save(run)
    other = tmp_path / "runs" / "a" / "other"
    longer = Job("r-s3", tmp_path / "runs" / "a" / "r-s3", {**OVER, "steps": 40}, "ring8-nsgan")
    shutil.copytree(records.record_of(run), records.store / "a" / "other")
    shutil.rmtree(run)
    restore_record(longer, records)                 # a record of 20 steps has nothing to extend
    assert not run.exists()
    (records.store / "a" / "other" / "summary.json").unlink()     # a record cut by a kill
    assert not records.has(other)
    restore_record(Job("other", other, OVER, "ring8-nsgan"), records)
    assert not other.exists()


@pytest.mark.slow
def test_the_scheduler_keeps_each_finished_runs_record_and_reuses_it(tmp_path):
    runs, kept = tmp_path / "runs", tmp_path / "kept"
    records = Records(runs, kept)
    jobs = [Job(f"r-s{s}", runs / f"r-s{s}", {**OVER, "seed": s}, "ring8-nsgan") for s in (0, 1)]
    run_jobs(jobs, workers=2, records=records)
    first = [json.loads((j.path / "summary.json").read_text())["metrics"] for j in jobs]
    assert all(records.has(j.path) for j in jobs)
    shutil.rmtree(runs)
    fresh = [Job(j.name, j.path, j.overrides, j.preset) for j in jobs]
    run_jobs(fresh, workers=2, records=records)
    assert not any((j.path / "checkpoints").exists() for j in fresh)        # none retrained
    assert [json.loads((j.path / "summary.json").read_text())["metrics"] for j in fresh] == first


def test_records_that_do_not_restore_are_still_kept(tmp_path):
    records, run = _finished(tmp_path)
    keeping = dataclasses.replace(records, restores=False)      # a shared stage an arm still needs
    keeping.save(run)
    assert records.has(run)
    shutil.rmtree(run)
    restore_record(Job(run.name, run, OVER, "ring8-nsgan"), keeping)
    assert not run.exists()
    restore_record(Job(run.name, run, OVER, "ring8-nsgan"), records)
    assert reuse_decision(Job(run.name, run, OVER, "ring8-nsgan")) == Reuse()


def test_a_record_holds_exactly_the_latest_runs_files(tmp_path):
    records, run = _finished(tmp_path)
    kept = records.record_of(run)
    records.save(run)
    stale = kept / "evidence-random-return.json"          # the floor of an earlier run here
    stale.write_text('{"steps": 20, "random_return": 0.5}\n')
    (kept / "metrics.jsonl").write_text("{}\n")
    before = (kept / "config.yaml").stat().st_mtime_ns
    records.save(run)
    assert not stale.exists()
    assert (kept / "metrics.jsonl").read_bytes() == (run / "metrics.jsonl").read_bytes()
    assert (kept / "summary.json").read_bytes() == (run / "summary.json").read_bytes()
    assert (kept / "config.yaml").stat().st_mtime_ns == before        # unchanged: not rewritten
    summary = kept / "summary.json"
    summary_time = summary.stat().st_mtime_ns
    records.save(run)                                      # nothing changed: nothing written
    assert summary.stat().st_mtime_ns == summary_time
