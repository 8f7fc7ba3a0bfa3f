"""The protocol's statistics: known means, sds, intervals, exact permutation p-values, verdicts."""

import math

import pytest

from genarena.stats import bootstrap_interval, check_claim, estimate, format_estimate, mean_sd, sign_flip_p


def test_estimate_of_known_values():
    e = estimate([1.0, 2.0, 3.0])
    assert (e.mean, e.sd, e.n) == (2.0, 1.0, 3)
    assert 1.0 <= e.lo <= 2.0 <= e.hi <= 3.0


def test_a_constant_has_a_point_interval_and_one_value_is_its_own():
    assert bootstrap_interval([4.0, 4.0, 4.0]) == (4.0, 4.0)
    e = estimate([7.0])
    assert (e.mean, e.sd, e.lo, e.hi) == (7.0, 0.0, 7.0, 7.0)
    assert format_estimate(e) == "7.00"                      # one seed: no sd to show


def test_mean_sd_is_written_one_way():
    # mean ± sd [95% bootstrap interval of the mean]: two seeds resample to means 1, 2 or 3
    assert mean_sd([1.0, 3.0], 1) == "2.0 ± 1.4 [1.0, 3.0]"
    assert mean_sd([0.2, 0.4]) == "0.300 ± 0.141 [0.200, 0.400]"     # decimals by the mean's size
    assert mean_sd([150.0, 160.0]) == "155 ± 7 [150, 160]"
    assert mean_sd([2.5]) == "2.50"                           # one seed: no sd to show
    assert mean_sd([1.0, math.nan, 3.0], 1) == "2.0 ± 1.4 [1.0, 3.0] (2 of 3 seeds)"
    assert mean_sd([None, math.nan]) == "n/a" and mean_sd([]) == "n/a"


def test_the_interval_is_reproducible_and_narrows_with_more_seeds():
    few = [0.0, 1.0, 2.0, 3.0, 4.0]
    assert bootstrap_interval(few) == bootstrap_interval(few)
    lo5, hi5 = bootstrap_interval(few)
    lo50, hi50 = bootstrap_interval(few * 10)
    assert hi50 - lo50 < hi5 - lo5
    assert lo5 < 2.0 < hi5


def test_sign_flip_p_values_are_exact():
    assert sign_flip_p([1.0, 2.0, 3.0]) == pytest.approx(1 / 8)     # only the observed signs
    assert sign_flip_p([1.0, -1.0]) == pytest.approx(3 / 4)          # means 1, 0, 0, -1 vs 0
    assert sign_flip_p([-1.0, -2.0]) == pytest.approx(1.0)


def test_verdicts_follow_the_interval_of_paired_differences():
    a = {0: 10.0, 1: 11.0, 2: 12.0}
    b = {0: 1.0, 1: 2.0, 2: 3.0}
    holds = check_claim(a, b, higher_is_better=True)
    assert holds.verdict == "holds" and holds.paired and holds.difference.mean == 9.0
    assert holds.p_value == pytest.approx(1 / 8)
    assert check_claim(a, b, higher_is_better=False).verdict == "refuted"
    noisy = check_claim({0: 1.0, 1: 3.0, 2: 2.0}, {0: 2.0, 1: 2.0, 2: 2.0}, True)
    assert noisy.verdict == "not separable"


def test_unpaired_seeds_compare_independent_means():
    v = check_claim({0: 5.0, 1: 6.0}, {7: 1.0, 8: 2.0}, higher_is_better=True)
    assert not v.paired and v.p_value is None and v.verdict == "holds"
    # its sd is the bootstrap standard error: the mean of two values resampled has variance
    # 1/8 here, so the difference of two such means has sd sqrt(1/4) = 0.5 (finite, for JSON)
    assert v.difference.mean == 4.0 and v.difference.sd == pytest.approx(0.5, abs=0.03)


def test_one_seed_on_a_side_is_never_a_verdict():
    # a point "interval" from one value would call any difference a win
    assert check_claim({0: 9.0}, {1: 1.0}, higher_is_better=True).verdict == "not separable"
    assert check_claim({0: 9.0, 1: 9.5}, {1: 1.0}, higher_is_better=True).verdict == "not separable"
