"""PRDC equals the reference `prdc` package on random features; chunking changes nothing."""
import numpy as np
import pytest
import torch

from genarena.metrics.prdc import knn_radii, prdc


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_reference_package(seed, capsys):
    from prdc import compute_prdc
    rng = np.random.default_rng(seed)
    real = rng.normal(size=(300, 16))
    fake = rng.normal(loc=0.3, size=(250, 16))
    ours = prdc(torch.from_numpy(real), torch.from_numpy(fake), k=5, chunk=64)
    ref = compute_prdc(real, fake, nearest_k=5)
    for key in ("precision", "recall", "density", "coverage"):
        assert ours[key] == pytest.approx(float(ref[key]), abs=1e-6), key


def test_chunk_size_does_not_matter():
    real, fake = torch.randn(200, 4), torch.randn(180, 4)
    assert prdc(real, fake, chunk=7) == prdc(real, fake, chunk=1000)


def test_identical_sets_score_full_precision_and_recall():
    x = torch.randn(200, 3)
    m = prdc(x, x.clone())
    assert m["precision"] == 1 and m["recall"] == 1 and m["coverage"] == 1


def test_knn_radius_excludes_the_point_itself():
    x = torch.tensor([[0.0], [1.0], [3.0]])
    assert knn_radii(x, 1).tolist() == [1.0, 1.0, 2.0]


def test_knn_radius_is_the_k_plus_first_smallest_distance_in_every_chunk():
    x = torch.randn(300, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    brute = torch.cdist(x, x).sort(dim=1).values[:, 5]
    torch.testing.assert_close(knn_radii(x, 5, chunk=64), brute, rtol=0, atol=0)
