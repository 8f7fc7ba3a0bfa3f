"""`genarena train ... backend.name=ray` in a fresh process, as a user runs it: nothing else has
started or imported Ray first (the other Ray tests share a Ray their fixture started)."""
import importlib.util
import json
import subprocess
import sys

import pytest
from helpers import COEVOLUTION_SMALL as SMALL

pytestmark = [pytest.mark.slow, pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                                reason="the ray extra is not installed"),
              pytest.mark.xdist_group("ray")]


def test_a_fresh_process_trains_a_grid_on_a_local_ray(tmp_path):
    cfg = {**SMALL, "steps": 40, "backend.name": "ray", "backend.workers": 2}
    proc = subprocess.run([sys.executable, "-m", "genarena", "train", "ring8-mustangs",
                           *(f"{k}={v}" for k, v in cfg.items()), "--out", str(tmp_path / "r"),
                           "--quiet"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["steps"] == 40 and len(summary["cells"]) == 4
