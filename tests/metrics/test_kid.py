"""KID: the unbiased MMD² with the cubic kernel, against a sum written out pair by pair."""
import itertools

import numpy as np
import pytest
import torch

from genarena.metrics.kid import kid, mmd2_unbiased, polynomial_kernel


def _mmd2_by_pairs(x, y):
    """The unbiased estimator as its definition reads: means over i ≠ j within each set, over
    every pair across."""
    def k(a, b):
        return (float(np.dot(a, b)) / len(a) + 1) ** 3
    m = len(x)
    xx = sum(k(x[i], x[j]) for i, j in itertools.permutations(range(m), 2)) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i, j in itertools.permutations(range(m), 2)) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


def test_kernel_is_the_cubic_polynomial():
    x, y = np.array([[1.0, 2.0]]), np.array([[3.0, -1.0]])
    assert polynomial_kernel(x, y)[0, 0] == pytest.approx(((1 * 3 - 2 * 1) / 2 + 1) ** 3)


def test_mmd2_equals_the_pairwise_definition():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(6, 4)), rng.normal(0.5, 1.2, size=(6, 4))
    value = mmd2_unbiased(polynomial_kernel(x, x), polynomial_kernel(x, y), polynomial_kernel(y, y))
    assert value == pytest.approx(_mmd2_by_pairs(x, y), rel=1e-12)


def test_kid_is_near_zero_for_one_distribution_and_grows_with_a_shift():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(400, 8, generator=g), torch.randn(400, 8, generator=g)
    same, sd = kid(a, b, subsets=20, subset_size=200)
    shifted, _ = kid(a, b + 0.5, subsets=20, subset_size=200)
    assert abs(same) < 3 * sd + 1e-3 and shifted > 20 * abs(same) and shifted > 0.01


def test_subsets_are_one_set_s_when_sets_are_small():
    """With fewer samples than the subset size every subset is the whole (permuted) set, so
    every subset gives the full-set estimate: sd 0."""
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(7, 3, generator=g), torch.randn(9, 3, generator=g) + 1
    mean, sd = kid(a[:7], b[:7])
    full = mmd2_unbiased(*(polynomial_kernel(p.double().numpy(), q.double().numpy())
                           for p, q in ((a, a), (a, b[:7]), (b[:7], b[:7]))))
    assert mean == pytest.approx(full, rel=1e-10) and sd == pytest.approx(0, abs=1e-10)
    assert np.isnan(kid(a[:1], b)[0])
