"""Benchmark helpers: a killed suite reuses finished runs; changed ones are refused unless replaced."""
import json

import pytest
from helpers import FAST

from genarena.bench.common import machine_info, train_or_reuse, write_results
from genarena.errors import UserError


def test_train_or_reuse(tmp_path):
    out = tmp_path / "run"
    first = train_or_reuse("ring8-nsgan", out, dict(FAST))
    stamp = (out / "summary.json").stat().st_mtime_ns
    again = train_or_reuse("ring8-nsgan", out, dict(FAST))
    assert again.path == first.path and (out / "summary.json").stat().st_mtime_ns == stamp
    longer = train_or_reuse("ring8-nsgan", out, {**FAST, "steps": FAST["steps"] + 20})
    assert longer.summary["steps"] == FAST["steps"] + 20                # extended, not retrained
    assert any(r.get("event") == "extended" for r in longer.dir.read_metrics())
    with pytest.raises(UserError, match="holds a longer run"):        # never thrown away
        train_or_reuse("ring8-nsgan", out, {**FAST, "steps": 20})
    with pytest.raises(UserError, match="another configuration.*--replace"):  # not deleted
        train_or_reuse("ring8-nsgan", out, {**FAST, "optim.lr_g": 5e-4})
    other = train_or_reuse("ring8-nsgan", out, {**FAST, "optim.lr_g": 5e-4}, replace=True)
    assert other.config.optim.lr_g == 5e-4


def test_unfinished_run_is_resumed(tmp_path):
    out = tmp_path / "run"
    train_or_reuse("ring8-nsgan", out, dict(FAST))
    (out / "summary.json").unlink()
    resumed = train_or_reuse("ring8-nsgan", out, dict(FAST))
    assert resumed.summary["steps"] == FAST["steps"]


def test_write_results_records_command_and_machine(tmp_path):
    result = {"command": "genarena bench x", "machine": machine_info(), "value": 1}
    paths = write_results(tmp_path, "x", result, "Title", ["| a |", "|---|"], ["note"])
    md = (tmp_path / "x.md").read_text()
    assert "genarena bench x" in md and "cores" in md and "note" in md
    assert json.loads(paths[0].read_text())["value"] == 1


@pytest.mark.slow
def test_smoke_runs_live_apart_from_the_full_budgets_runs():
    from genarena.bench.common import runs_folder
    assert runs_folder("modes", quick=False).name == "modes"
    assert runs_folder("modes", quick=True).name == "modes-quick"
