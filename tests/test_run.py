"""Run directories and atomic files: nothing half-written, metrics truncation on resume."""
import json

import pytest

from genarena.checkpoint import atomic_write_text
from genarena.errors import UserError
from genarena.run import RunDir


def test_atomic_write_leaves_no_temp_files(tmp_path):
    atomic_write_text(tmp_path / "a.txt", "one")
    atomic_write_text(tmp_path / "a.txt", "two")
    assert (tmp_path / "a.txt").read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_truncate_drops_later_rows_and_torn_lines(tmp_path):
    run = RunDir.create(tmp_path / "r", "x")
    for step in (10, 20, 30):
        run.append_metrics({"step": step, "loss": float(step)})
    with open(run.metrics_file, "a") as f:
        f.write('{"step": 40, "lo')                       # a line cut by a kill
    assert [r["step"] for r in run.read_metrics()] == [10, 20, 30]
    run.truncate_metrics(20)
    assert [json.loads(x)["step"] for x in run.metrics_file.read_text().splitlines()] == [10, 20]


def test_nan_becomes_null_in_json(tmp_path):
    run = RunDir.create(tmp_path / "r", "x")
    run.write_summary({"metrics": {"reverse_kl": float("nan")}})
    assert json.loads(run.summary_file.read_text())["metrics"]["reverse_kl"] is None


def test_default_names_are_unique(tmp_path):
    a = RunDir.create(None, "same", root=tmp_path)
    (a.path / "config.yaml").write_text("{}")
    b = RunDir.create(None, "same", root=tmp_path)
    assert a.path != b.path


def test_unfinished_run_has_no_summary(tmp_path):
    run = RunDir.create(tmp_path / "r", "x")
    with pytest.raises(UserError, match="has not finished"):
        run.read_summary()
