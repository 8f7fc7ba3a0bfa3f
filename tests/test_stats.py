"""The protocol's statistics: known means, sds, intervals, exact permutation p-values, verdicts."""
import math
import statistics

import pytest

from genarena.stats import (
    bootstrap_interval,
    check_claim,
    check_claims,
    estimate,
    fewest_seeds,
    format_estimate,
    holm,
    mean_sd,
    sign_flip_p,
    t_interval,
)


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


def test_verdict_words_follow_the_sign_flip_test():
    # three seeds that all agree: p = 1/8, which no claim can call significant
    three = check_claim({0: 10.0, 1: 11.0, 2: 12.0}, {0: 1.0, 1: 2.0, 2: 3.0}, True)
    assert three.verdict == "not significant" and three.paired and three.difference.mean == 9.0
    assert three.p_value == pytest.approx(1 / 8) and three.agree == 3
    assert three.words == "not significant: 3 of 3 seeds agree"
    # five that agree: p = 1/32 < 0.05, the claim holds; read the other way round, it is refuted
    a, b = {s: 10.0 + s for s in range(5)}, {s: 1.0 + s for s in range(5)}
    holds = check_claim(a, b, higher_is_better=True)
    assert holds.verdict == "holds" and holds.p_adjusted == pytest.approx(1 / 32)
    refuted = check_claim(a, b, higher_is_better=False)
    assert refuted.verdict == "refuted" and refuted.p_against == pytest.approx(1 / 32)
    assert refuted.agree == 0
    noisy = check_claim({0: 1.0, 1: 3.0, 2: 2.0}, {0: 2.0, 1: 2.0, 2: 2.0}, True)
    assert noisy.verdict == "not significant" and noisy.agree == 1


def test_holm_adjusts_a_family_and_a_study_needs_more_seeds_for_more_claims():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    a, b = {s: 10.0 + s for s in range(5)}, {s: 1.0 + s for s in range(5)}
    two = check_claims([(a, b, True), (a, b, True)])        # each 1/32 alone, 1/16 adjusted
    assert [v.verdict for v in two] == ["not significant"] * 2
    assert [v.p_adjusted for v in two] == pytest.approx([1 / 16, 1 / 16])


def test_the_fewest_seeds_a_family_needs_for_a_verdict():
    # 1/2ⁿ × claims < 0.05: one claim 5 seeds (1/32), two or three 6 (2/64, 3/64), four to six
    # 7, 16 claims 9 (16/512)
    assert [fewest_seeds(c) for c in (1, 2, 3, 4, 6, 7, 16)] == [5, 6, 6, 7, 7, 8, 9]
    a, b = {s: 10.0 + s for s in range(6)}, {s: 1.0 + s for s in range(6)}
    assert [v.verdict for v in check_claims([(a, b, True)] * 3)] == ["holds"] * 3   # 6 seeds


def test_a_paired_claim_carries_its_t_interval():
    v = check_claim({0: 2.0, 1: 3.0, 2: 4.0}, {0: 1.0, 1: 1.0, 2: 1.0}, True)   # diffs 1, 2, 3
    # mean 2, sd 1, t(0.975, 2) = 4.3027: 2 ± 4.3027/√3
    assert (v.t_lo, v.t_hi) == pytest.approx((2 - 2.48414, 2 + 2.48414), abs=1e-4)
    assert t_interval([1.0, 2.0, 3.0]) == pytest.approx((v.t_lo, v.t_hi))


def test_unpaired_seeds_compare_independent_means_without_a_verdict():
    v = check_claim({0: 5.0, 1: 6.0}, {7: 1.0, 8: 2.0}, higher_is_better=True)
    assert not v.paired and v.p_value is None and v.verdict == "not separable"
    # its sd is the bootstrap standard error: the mean of two values resampled has variance
    # 1/8 here, so the difference of two such means has sd sqrt(1/4) = 0.5 (finite, for JSON)
    assert v.difference.mean == 4.0 and v.difference.sd == pytest.approx(0.5, abs=0.03)


def test_one_seed_on_a_side_is_never_a_verdict():
    # a point "interval" from one value would call any difference a win
    assert check_claim({0: 9.0}, {1: 1.0}, higher_is_better=True).verdict == "not separable"
    assert check_claim({0: 9.0, 1: 9.5}, {1: 1.0}, higher_is_better=True).verdict == "not separable"


def test_epymarls_maximum_and_average_returns_by_hand():
    from genarena.stats import average_return, maximum_return
    curves = {0: {0: 0.0, 50: 0.6, 100: 0.5}, 1: {0: 0.1, 50: 0.4, 100: 0.9},
              2: {0: 0.0, 50: 0.8, 100: 0.4, 150: 1.0}}          # seed 2's extra step is ignored
    best = maximum_return(curves)                  # seed means: 0.0333, 0.6, 0.6 -> earliest, 50
    assert best.step == 50 and best.n == 3 and best.mean == pytest.approx(0.6)
    half = 4.302652729911275 * 0.2 / math.sqrt(3)                    # t(0.975, 2) · sd / √n
    assert (best.lo, best.hi) == (pytest.approx(0.6 - half), pytest.approx(0.6 + half))
    average = average_return(curves)               # per seed over steps 0, 50, 100
    assert average.step is None
    assert average.mean == pytest.approx(statistics.fmean([1.1 / 3, 1.4 / 3, 1.2 / 3]))
    one = maximum_return({7: {0: 0.2, 10: 0.3}})
    assert (one.mean, one.lo, one.hi, one.step) == (0.3, 0.3, 0.3, 10)
    with pytest.raises(ValueError, match="share no evaluation"):
        maximum_return({0: {0: 1.0}, 1: {5: 1.0}})
