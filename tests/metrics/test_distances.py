"""Sliced Wasserstein distance: zero for equal sets, exact for shifts."""
import pytest
import torch

from genarena.metrics.distances import sliced_wasserstein


def test_identical_sets_are_at_distance_zero():
    x = torch.randn(500, 3)
    assert sliced_wasserstein(x, x[torch.randperm(500)]) == pytest.approx(0.0, abs=1e-12)


def test_shift_along_one_axis():
    x = torch.randn(1000, 1)
    assert sliced_wasserstein(x, x + 2.0) == pytest.approx(2.0, rel=1e-6)


def test_grows_with_the_gap():
    x = torch.randn(1000, 2)
    assert sliced_wasserstein(x, x + 1) < sliced_wasserstein(x, x + 3)
