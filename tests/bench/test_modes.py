"""The arena suite in quick mode: runs train (or are reused), the leaderboard and the tables are
written, published rows sit beside ours, and a second call reuses the finished runs."""
import json

import pytest

from genarena.bench import modes

pytestmark = pytest.mark.slow            # end to end: `make test-fast` leaves it out


def test_every_toy_method_has_presets_for_both_mixtures():
    from genarena.config import load_config
    for dataset in ("ring8", "grid25"):
        for _, suffix in modes.TOY_METHODS:
            cfg = load_config(f"{dataset}-{suffix}", modes.toy_overrides(suffix, quick=False))
            assert cfg.steps == modes.TOY_BUDGET, (dataset, suffix)
            assert cfg.data.name == dataset


def test_quick_suite_writes_the_leaderboard(tmp_path, feature_cache, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", feature_cache)
    out, runs = tmp_path / "results", tmp_path / "runs"
    paths = modes.run(out, quick=True, runs_root=runs, datasets=("ring8", "stacked-mnist5k"))
    assert {p.name for p in paths} == {"leaderboard.md", "leaderboard.html", "modes.json",
                                       "modes.md"}
    result = json.loads((out / "modes.json").read_text())
    board = result["board"]
    assert {"ring8/NS-GAN", "ring8/Lip-BCE", "stacked-mnist5k/DCGAN (NS-GAN)"} <= set(board)
    assert board["ring8/PacGAN4 (PacGAN Table 1)"]["published"] == "published"
    md = (out / "leaderboard.md").read_text()
    assert "### ring8" in md and "### stacked-mnist5k" in md
    assert "Budgets (--quick smoke run" in md and "2000 updates" not in md   # what actually ran
    page = (out / "leaderboard.html").read_text()
    assert page.count("data:image/png;base64,") >= 4 and 'src="http' not in page
    stamp = (runs / "ring8-nsgan-s0" / "summary.json").stat().st_mtime
    modes.run(out, quick=True, runs_root=runs, datasets=("ring8",))
    assert (runs / "ring8-nsgan-s0" / "summary.json").stat().st_mtime == stamp   # reused


def test_quick_two_seeds_train_through_the_scheduler(tmp_path, cli, feature_cache, monkeypatch):
    import genarena.sweep
    monkeypatch.setenv("XDG_CACHE_HOME", feature_cache)
    monkeypatch.chdir(tmp_path)
    started = []
    real_start = genarena.sweep._start
    monkeypatch.setattr(genarena.sweep, "_start",
                        lambda job, *how: (started.append(job.name), real_start(job, *how)))
    code, _, err = cli("bench", "modes", "--quick", "--seeds", "2", "--workers", "2")
    assert code == 0, err
    result = json.loads((tmp_path / "runs" / "bench-quick" / "modes.json").read_text())
    assert result["seeds"] == [0, 1]
    assert result["board"]["ring8/NS-GAN"]["seeds"] == [0, 1]          # aggregated over seeds
    assert {"ring8-nsgan-s0", "ring8-nsgan-s1", "ring8-lip-bce-s1"} <= set(started)
