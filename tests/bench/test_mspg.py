"""The MSPG suite runs end to end in quick mode and writes its tables."""
import json

import pytest

from genarena.bench import mspg
from genarena.bench.common import Launch

pytestmark = pytest.mark.slow            # end to end: `make test-fast` leaves it out


def test_quick_suite_writes_results(tmp_path, feature_cache, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", feature_cache)
    paths = mspg.run(tmp_path / "results", quick=True, runs_root=tmp_path / "runs",
                   launch=Launch(workers=0))
    assert {p.name for p in paths} == {"mspg.json", "mspg.md"}
    result = json.loads((tmp_path / "results" / "mspg.json").read_text())
    att = result["attention"]["results"]
    # DEMA is linear in H·W; self-attention is quadratic: its FLOPs grow faster with resolution
    dema_growth = att["DEMA@32"]["gflops_forward"] / att["DEMA@16"]["gflops_forward"]
    sa_growth = att["self-attention@32"]["gflops_forward"] / att["self-attention@16"]["gflops_forward"]
    assert 3.5 < dema_growth < 4.5 and sa_growth > dema_growth
    assert set(result["overhead"]["seconds_per_step"]) == {"static", "apfl", "dqn", "iqn"}
    assert list(result["grid25"]["raw"]) == [mspg.GRID25_ROWS[0][0], mspg.GRID25_ROWS[5][0]]
    assert list(result["stacked"]["raw"]) == [mspg.STACKED_ROWS[0][0], mspg.STACKED_ROWS[4][0]]
