"""The images suite runs end to end in quick mode and writes its table, JSON and plot."""
import json

import pytest

from genarena.bench import images
from genarena.bench.common import Launch

pytestmark = pytest.mark.slow            # end to end: `make test-fast` leaves it out


def test_quick_suite_writes_results(tmp_path, feature_cache):
    paths = images.run(tmp_path / "results", quick=True, runs_root=tmp_path / "runs",
                       extra={"eval.cache_dir": feature_cache}, launch=Launch(workers=0))
    assert {p.name for p in paths} == {"images.json", "images.md", "images_fid_vs_time.png"}
    result = json.loads((tmp_path / "results" / "images.json").read_text())
    assert [r["method"] for r in result["rows"]] == list(images.METHODS)
    assert all(r["fid"] is not None and r["fid"] >= 0 for r in result["rows"])
    assert result["features"].startswith("lenet28x1-mnist5k")
