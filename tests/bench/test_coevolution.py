"""The coevolution suite runs end to end in quick mode and writes both tables."""
import json

import pytest

from genarena.bench import coevolution
from genarena.bench.common import Launch
from genarena.stats import mean_sd

pytestmark = pytest.mark.slow            # end to end: `make test-fast` leaves it out


def test_order_checks_read_the_claims_of_spec_5_4():
    good = {"GAN-BCE": 700, "E-GAN": 150, "Lip-BCE": 120, "Lip-MSE": 140, "Lip-HEU": 110,
            "Mustangs": 100}
    assert all(coevolution.order_checks(good).values())
    bad = {**good, "Mustangs": 130, "Lip-MSE": 100}
    checks = coevolution.order_checks(bad)
    assert not checks["Mustangs at least as good as Lip-BCE"]
    assert not checks["Lip-MSE worst of the grid methods"]


def test_quick_suite_writes_results(tmp_path, feature_cache, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", feature_cache)
    paths = coevolution.run(tmp_path / "results", quick=True, runs_root=tmp_path / "runs",
                   launch=Launch(workers=0))
    assert {p.name for p in paths} == {"coevolution.json", "coevolution.md"}
    md = (tmp_path / "results" / "coevolution.md").read_text()
    assert "Mustangs reproduction" in md
    result = json.loads((tmp_path / "results" / "coevolution.json").read_text())
    assert set(result["reproduction"]["mean_fid_logits"]) == {
        "GAN-BCE", "E-GAN", "Lip-BCE", "Lip-MSE", "Lip-HEU", "Mustangs"}
    control = result["controllers"]["raw"]
    assert list(control) == [name for name, _ in coevolution.CONTROLLERS]
    assert all(len(r["modes_captured"]) == 1 for r in control.values())
    assert "Does a multi-agent controller help?" in md


def test_undefined_values_are_counted_not_averaged():
    nan = float("nan")
    assert mean_sd([1.0, 3.0], 1) == "2.0 ± 1.4 [1.0, 3.0]"
    assert mean_sd([1.0, nan, 3.0], 1) == "2.0 ± 1.4 [1.0, 3.0] (2 of 3 seeds)"
    assert mean_sd([nan], 1) == "n/a"
