"""Inception score, TVD, classes covered and mode reverse KL on hand-made predictions."""
import math

import pytest
import torch

from genarena.metrics.scores import classes_covered, inception_score, modes_and_reverse_kl, tvd


def test_inception_score_extremes():
    confident_uniform = torch.eye(10).repeat(10, 1)
    assert inception_score(confident_uniform) == pytest.approx(10.0)
    one_class = torch.zeros(50, 10)
    one_class[:, 3] = 1
    assert inception_score(one_class) == pytest.approx(1.0)
    undecided = torch.full((50, 10), 0.1)
    assert inception_score(undecided) == pytest.approx(1.0)


def test_tvd_and_classes():
    a = torch.tensor([0, 0, 1, 1])
    b = torch.tensor([0, 0, 0, 0])
    assert tvd(a, a, 3) == 0 and tvd(a, b, 3) == pytest.approx(0.5)
    assert classes_covered(torch.arange(10).repeat(10), 10) == 10
    skewed = torch.cat([torch.zeros(995, dtype=torch.long), torch.ones(5, dtype=torch.long)])
    # class 1 has 0.5% of samples: below a tenth of its 10% uniform share? 0.005 < 0.01 -> not covered
    assert classes_covered(skewed, 10) == 1


def test_modes_and_reverse_kl():
    assert modes_and_reverse_kl(torch.arange(1000), 1000) == (1000, pytest.approx(0.0, abs=1e-12))
    n, rkl = modes_and_reverse_kl(torch.zeros(100, dtype=torch.long), 1000)
    assert n == 1 and rkl == pytest.approx(math.log(1000))
