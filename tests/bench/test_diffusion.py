"""The diffusion suite runs end to end in quick mode and writes its four tables."""
import json

import pytest

from genarena.bench import diffusion
from genarena.bench.common import Launch

pytestmark = pytest.mark.slow            # end to end: `make test-fast` leaves it out


def test_quick_suite_writes_results(tmp_path, feature_cache, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", feature_cache)
    paths = diffusion.run(tmp_path / "results", quick=True, runs_root=tmp_path / "runs",
                   launch=Launch(workers=0))
    assert {p.name for p in paths} == {"diffusion.json", "diffusion.md"}
    md = (tmp_path / "results" / "diffusion.md").read_text()
    for heading in ("the paper's protocol", "our classifiers", "error against classifier updates",
                    "Conditional digits", "Sampling time", "Sampler sharpness",
                    "Classifier training cost"):
        assert heading in md
    result = json.loads((tmp_path / "results" / "diffusion.json").read_text())
    assert result["moons"]["ratio"] > 0 and result["moons_paper_protocol"]["ratio"] > 0
    assert "dlsm only (α=1)" not in result["moons_paper_protocol"]["raw"]
    assert all(len(v["error"]) == 1 and v["error"][0] > 0
               for kind in ("ce", "total") for v in result["moons_budget"][kind].values())
    assert set(result["sampling_seconds_per_1000"]) == {"em", "pc", "ode", "ddpm"}
    assert all(r["exact_median"] >= 0 and r["learned_p90"] >= r["learned_median"]
               for r in result["sample_distance_to_moons"].values())
    assert result["classifier_step_seconds"]["moons-dlsm-ce"]["dlsm"] > 0
