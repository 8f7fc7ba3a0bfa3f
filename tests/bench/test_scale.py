"""The scale suite: its quick form runs every measurement and writes coherent numbers."""
import json

import pytest
import torch

from genarena.bench import scale
from genarena.bench.common import process_memory_mb

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("ray")]   # it starts a local Ray


def test_memory_of_a_process_is_read_from_proc():
    import os
    m = process_memory_mb(os.getpid())
    assert m is not None and 0 < m["private"] <= m["rss"] <= m["peak_rss"]
    assert m["pss"] <= m["rss"]


def test_cell_batching_times_two_ways_of_the_same_arithmetic():
    # from the same weights and latents, the vmapped cells end where the one-by-one cells do
    pairs, real, cfg = scale._cell_pairs(2)
    latents = torch.randn(2, 2, 2, cfg.data.batch_size, cfg.model.z_dim)
    stacked = scale.batched(pairs, real, latents, cfg)        # leaves `pairs` as they were
    scale.one_after_another(pairs, real, latents, cfg)
    for c, (g, _) in enumerate(pairs):
        for name, p in g.named_parameters():
            torch.testing.assert_close(stacked[name][c], p, rtol=1e-4, atol=1e-5)
    r = scale.cell_batching(cells=2, steps=2)
    assert set(r["seconds_per_step"]) == {"one_after_another", "batched"}
    assert all(s > 0 for s in r["seconds_per_step"].values())


def test_quick_suite_writes_every_measurement(tmp_path, feature_cache, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", feature_cache)
    paths = scale.run(tmp_path / "results", quick=True, runs_root=tmp_path / "runs")
    assert {p.name for p in paths} == {"scale.json", "scale.md"}
    result = json.loads((tmp_path / "results" / "scale.json").read_text())
    assert [(s["workers"], s["threads"]) for s in result["sweep"]] == [(1, 2), (2, 1)]
    assert all(s["runs_per_hour"] > 0 for s in result["sweep"])
    engine = result["engine"]
    assert {(r["backend"], r["cells"]) for r in engine} == {
        (b, 4) for b in ("sequential", "processes", "ray")}
    assert all(r["ratio"] > 0 and len(r["round_ratios"]) == r["rounds"] for r in engine)
    assert all(r["ratio"] == pytest.approx(     # one round: its ratio is the median
        (r["generation_seconds"][0] + r["checkpoint_seconds"] / r["checkpoint_every_generations"])
        / (r["busiest_worker_cells"] * r["bare_cell_seconds"][0])) for r in engine)
    assert all((r["bytes_per_generation"] == 0) == (r["backend"] == "sequential") for r in engine)
    assert all(r["bytes_per_generation"] > 0 and r["actor_memory_mb"]
               for r in engine if r["backend"] == "ray")
    assert result["ray_actor_memory_mb"]["peak_rss"] > 0
    floors = result["idle_actor_mb"]
    assert floors["first_optimizer"]["private"] > floors["idle"]["private"] > 0
    assert not list((tmp_path / "runs").iterdir())      # timed sweeps are never kept for reuse
    md = (tmp_path / "results" / "scale.md").read_text()
    assert "runs per hour" in md and "Cell batching" in md and "private" in md
