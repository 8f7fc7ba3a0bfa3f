"""The DFAC suite runs in quick mode and writes one row per factorisation method."""
import json

import pytest

from genarena.bench import dfac

pytestmark = pytest.mark.slow            # end to end: `make test-fast` leaves it out


def test_quick_suite_writes_every_method(tmp_path):
    paths = dfac.run(tmp_path, quick=True)
    assert {p.name for p in paths} == {"dfac.json", "dfac.md"}
    result = json.loads((tmp_path / "dfac.json").read_text())
    assert list(result["raw"]) == list(dfac.ORDER)
    for method, rows in result["raw"].items():
        assert [r["seed"] for r in rows] == [0, 1]
        assert all(r["expected_return"] in (0.0, 1.0, 7.0, 8.0) for r in rows)
        assert all(("w1" in r) == (method in ("ddn", "dmix")) for r in rows)
    assert "| DMIX |" in (tmp_path / "dfac.md").read_text()


def test_results_are_strict_json(tmp_path):
    from genarena.bench.common import machine_info, write_results
    result = {"command": "x", "machine": machine_info(), "v": [float("nan"), 1.0, float("inf")]}
    write_results(tmp_path, "t", result, "t", [], [])
    assert json.loads((tmp_path / "t.json").read_text())["v"] == [None, 1.0, None]
