"""The Parzen oracle of the two-moons experiment."""
import pytest
import torch

from genarena.diffusion.oracle import moons_grid, parzen_score, posterior_score_error


def test_single_point_oracle_is_the_gaussian_score():
    x = torch.tensor([[1.0, 2.0], [0.0, 0.0]])
    score = parzen_score(x, torch.tensor([[3.0, -1.0]]), sigma=2.0)
    assert torch.allclose(score, (torch.tensor([[3.0, -1.0]]) - x).double() / 4)


def test_two_symmetric_points_cancel_at_the_midpoint():
    pts = torch.tensor([[-1.0, 0.0], [1.0, 0.0]])
    assert torch.allclose(parzen_score(torch.zeros(1, 2), pts, 0.5), torch.zeros(1, 2, dtype=torch.float64))


def test_grid_and_error():
    grid = moons_grid()
    assert grid.shape == (35 * 35, 2)
    assert grid[:, 0].min() == -40 and grid[:, 0].max() == 40 and grid[:, 1].max() == 25
    a = torch.randn(10, 2)
    assert posterior_score_error(a, a) == 0
    assert posterior_score_error(a, a + torch.tensor([3.0, 4.0])) == pytest.approx(5.0)
