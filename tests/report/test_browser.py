"""report.html and a leaderboard page in a real browser (headless Chromium): every embedded
image decodes, the tables render, and the page is not blank. `make test` installs Chromium
where it is missing; without it these tests skip and say why."""
import json
import re
import shutil
import subprocess

import pytest
from helpers import FAST, as_kwargs

import genarena
from genarena.report import leaderboard
from genarena.report.html import write_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed "
                                "(make test installs the Debian package 'chromium' as root)")

# Appended to a copy of the page: after load, record what the browser made of it.
PROBE = """<script>window.addEventListener('load', () => {
  const imgs = [...document.images];
  document.body.setAttribute('data-probe', JSON.stringify({
    images: imgs.length,
    decoded: imgs.filter(i => i.complete && i.naturalWidth > 0).length,
    tables: document.querySelectorAll('table').length,
    cells: document.querySelectorAll('td').length,
    height: document.body.scrollHeight}));
});</script>"""
# No network at all: every host name fails to resolve; no background services.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--host-resolver-rules=MAP * ~NOTFOUND",
         "--virtual-time-budget=5000"]


def _chromium(tmp_path, *args):
    cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def _render(page, tmp_path):
    """(probe of the page in Chromium, screenshot path)."""
    probe = tmp_path / "probe.html"
    probe.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    dom = _chromium(tmp_path, "--dump-dom", probe.as_uri()).stdout
    found = re.search(r"data-probe=\"([^\"]*)\"", dom)
    assert found, dom[-2000:]
    result = json.loads(found.group(1).replace("&quot;", '"'))
    shot = tmp_path / "shot.png"
    _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1100,1400", page.as_uri())
    return result, shot


def _not_blank(png):
    import matplotlib.image
    pixels = matplotlib.image.imread(str(png))[..., :3]
    return float((pixels < 0.9).any(axis=-1).mean())


def test_run_report_renders_images_and_tables(tmp_path):
    run = genarena.train("grid25-hinge", out=tmp_path / "r",
                         **as_kwargs({**FAST, "eval.interval": 20}))
    result, shot = _render(write_report(run.path), tmp_path)
    assert result["images"] >= 4 and result["decoded"] == result["images"], result
    assert result["tables"] >= 2 and result["cells"] >= 10 and result["height"] > 1000, result
    assert _not_blank(shot) > 0.02


def test_leaderboard_page_renders_its_charts_and_samples(tmp_path):
    entries = []
    for seed in (0, 1):
        run = genarena.train("ring8-nsgan", out=tmp_path / f"ns-s{seed}",
                             **as_kwargs({**FAST, "seed": seed}))
        entries += leaderboard.entries_from_runs([run.path])
    rows = leaderboard.aggregate(entries)
    rows.append(leaderboard.published_row("PacGAN4", "ring8", "published", modes_captured=7.8))
    page = leaderboard.write(tmp_path / "lb", "board", "test board", rows)[1]
    result, shot = _render(page, tmp_path)
    assert result["images"] == 2 and result["decoded"] == 2, result      # the chart, the samples
    assert result["tables"] == 1 and result["cells"] >= 2 * 6, result
    assert _not_blank(shot) > 0.02
