"""Mode metrics on samples of the true mixtures and on hand-made collapsed sets."""
import math

import pytest
import torch

from genarena.config import DataConfig, EvalConfig
from genarena.data import build_dataset
from genarena.metrics import evaluate
from genarena.metrics.modes import mode_metrics


@pytest.mark.parametrize("name,k", [("ring8", 8), ("grid25", 25)])
def test_true_mixture_covers_every_mode(name, k):
    ds = build_dataset(DataConfig(name=name))
    x, _ = ds.sampler(2500, torch.Generator().manual_seed(1))
    m = mode_metrics(x, ds.modes)
    assert m["modes_captured"] == k and m["modes_total"] == k
    # P(‖N(0, σ²I₂)‖ ≤ 3σ) = 1 - exp(-4.5) ≈ 0.989
    assert m["high_quality_fraction"] == pytest.approx(1 - math.exp(-4.5), abs=0.01)
    assert m["reverse_kl"] < 0.01


def test_collapse_to_one_mode():
    ds = build_dataset(DataConfig(name="ring8"))
    x = ds.modes.centres[3].repeat(1000, 1)
    m = mode_metrics(x, ds.modes)
    assert m["modes_captured"] == 1 and m["high_quality_fraction"] == 1.0
    assert m["reverse_kl"] == pytest.approx(math.log(8))


def test_two_of_eight_modes_in_equal_parts():
    ds = build_dataset(DataConfig(name="ring8"))
    x = torch.cat([ds.modes.centres[0].repeat(500, 1), ds.modes.centres[5].repeat(500, 1)])
    m = mode_metrics(x, ds.modes)
    assert m["modes_captured"] == 2 and m["reverse_kl"] == pytest.approx(math.log(4))


def test_samples_between_modes_are_low_quality():
    ds = build_dataset(DataConfig(name="grid25"))
    x = torch.full((100, 2), 1.0)      # equidistant from four centres, far beyond 3σ
    m = mode_metrics(x, ds.modes)
    assert m["high_quality_fraction"] == 0 and m["modes_captured"] == 0
    assert math.isnan(m["reverse_kl"])
    assert evaluate(lambda n: torch.full((n, 2), 1.0), ds, EvalConfig(n_samples=100), 0)["reverse_kl"] is None


def test_quality_threshold_is_three_sigma():
    ds = build_dataset(DataConfig(name="ring8"))
    centre = ds.modes.centres[0]
    inside = centre + torch.tensor([0.0299, 0.0])
    outside = centre + torch.tensor([0.0301, 0.0])
    assert mode_metrics(inside[None], ds.modes)["high_quality_fraction"] == 1
    assert mode_metrics(outside[None], ds.modes)["high_quality_fraction"] == 0


def test_a_run_with_no_mode_ranks_at_the_worst_reverse_kl():
    from genarena.metrics.modes import ranked_reverse_kl
    assert ranked_reverse_kl({"reverse_kl": 0.2, "modes_captured": 8, "modes_total": 8}) == 0.2
    assert ranked_reverse_kl({"reverse_kl": None, "modes_captured": 0,
                              "modes_total": 25}) == pytest.approx(math.log(25))
    assert ranked_reverse_kl({"reverse_kl": math.nan, "modes_captured": 0,
                              "modes_total": 8}) == pytest.approx(math.log(8))
    assert ranked_reverse_kl({"fid": 3.0}) is None                      # not a mode metric
    # log K is what a run that put every good sample on one mode scores
    ds = build_dataset(DataConfig(name="ring8"))
    one = mode_metrics(ds.modes.centres[:1].expand(50, -1), ds.modes)
    assert one["reverse_kl"] == pytest.approx(ranked_reverse_kl({"modes_captured": 0,
                                                                 "modes_total": 8}))
