"""Fréchet distance: the eigen form equals scipy's sqrtm form; closed-form cases."""
import numpy as np
import pytest
import scipy.linalg
import torch

from genarena.metrics.fid import fid, frechet_distance, gaussian_fit


def scipy_fd(mu1, s1, mu2, s2):
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    covmean = covmean.real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


@pytest.mark.parametrize("dim", [2, 16, 64])
def test_eigen_form_equals_sqrtm(dim):
    rng = np.random.default_rng(dim)
    a, b = rng.normal(size=(500, dim)), rng.normal(size=(500, dim)) @ rng.normal(size=(dim, dim))
    mu1, s1 = gaussian_fit(torch.from_numpy(a))
    mu2, s2 = gaussian_fit(torch.from_numpy(b + 0.3))
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(scipy_fd(mu1, s1, mu2, s2), abs=1e-6)


def test_closed_forms():
    eye = np.eye(3)
    assert frechet_distance(np.zeros(3), eye, np.zeros(3), eye) == pytest.approx(0, abs=1e-9)
    # shift only: ‖μ₁-μ₂‖²
    assert frechet_distance(np.zeros(3), eye, np.ones(3), eye) == pytest.approx(3.0)
    # isotropic scales: d (σ₁ - σ₂)²
    assert frechet_distance(np.zeros(3), eye, np.zeros(3), 4 * eye) == pytest.approx(3.0)


def test_fid_of_a_set_with_itself_is_zero_and_grows_with_shift():
    x = torch.randn(1000, 8)
    assert fid(x, x) == pytest.approx(0.0, abs=1e-8)
    assert fid(x, x + 0.5) < fid(x, x + 1.0)
