"""The statistics every bench table and claim check uses: mean, sd and a 95% bootstrap interval
over seeds, and verdicts on claims, never yes/no on means.

Intervals are percentile bootstraps of the mean: 10 000 resamples from a fixed seed, so a table
rebuilt from the same runs prints the same interval. A claim "A beats B" compares runs paired by
seed: the mean paired difference, its bootstrap interval and (with fewer than 10 seeds, where a
percentile bootstrap is too narrow) its t-interval, and an exact sign-flip permutation p-value,
one-sided in the direction the mean difference takes. The words follow the test alone: a claim
**holds** (or is **refuted**) only when that p, Holm-adjusted over the claims checked together
(a study's), is below 0.05; otherwise it is **not significant**, said with how many seeds agree
with it; without paired seeds (or with one seed on a side) it is **not separable**. With n
paired seeds the p cannot go below 1/2^n: a verdict needs 5 seeds for one claim, more for many.
"""
from __future__ import annotations

import itertools
import math
import statistics
from dataclasses import dataclass, replace
from typing import Mapping, Sequence

import numpy as np

RESAMPLES = 10_000
LEVEL = 0.95
ALPHA = 0.05                      # the level of the claim tests, after Holm's correction
# the last, the evidence report's: a claim about an arm at its learned-nothing floor tests nothing
VERDICTS = ("holds", "refuted", "not significant", "not separable", "not tested")


@dataclass(frozen=True)
class Estimate:
    """A figure over seeds: mean, sample sd, the 95% bootstrap interval of the mean, n."""
    mean: float
    sd: float
    lo: float
    hi: float
    n: int

    def overlaps(self, other: "Estimate") -> bool:
        """Whether the two intervals share a point (the leaderboard calls such rows tied)."""
        return self.lo <= other.hi and other.lo <= self.hi


def _resampled_means(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The means of RESAMPLES bootstrap resamples of x."""
    return x[rng.integers(0, len(x), size=(RESAMPLES, len(x)))].mean(1)


def _percentiles(means: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    tail = (1 - level) / 2
    lo, hi = np.quantile(means, [tail, 1 - tail])
    return float(lo), float(hi)


def bootstrap_interval(values: Sequence[float], seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of `values` (one value: that value twice)."""
    x = np.asarray(values, dtype=np.float64)
    if len(x) == 0:
        raise ValueError("no values to bootstrap")
    if len(x) == 1:
        return float(x[0]), float(x[0])
    return _percentiles(_resampled_means(x, np.random.default_rng(seed)))


def estimate(values: Sequence[float], seed: int = 0) -> Estimate:
    """Mean, sd (0 for one value) and the bootstrap interval of `values`."""
    vals = [float(v) for v in values]
    lo, hi = bootstrap_interval(vals, seed)
    sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
    return Estimate(statistics.fmean(vals), sd, lo, hi, len(vals))


def sign_flip_p(differences: Sequence[float]) -> float:
    """Exact one-sided p-value that the mean difference is > 0 under the null of symmetric
    differences around 0 (every sign pattern, for up to 16 pairs; beyond, 2^16 random ones)."""
    d = np.asarray(differences, dtype=np.float64)
    observed = d.mean()
    if len(d) <= 16:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=len(d))))
    else:
        signs = np.random.default_rng(0).choice((1.0, -1.0), size=(1 << 16, len(d)))
    flipped = (signs * np.abs(d)).mean(1)
    return float((flipped >= observed - 1e-12 * max(1.0, abs(observed))).mean())


@dataclass(frozen=True)
class Verdict:
    """A claim "a is better than b" checked on paired seeds (or, failing that, unpaired ones)."""
    verdict: str
    difference: Estimate          # of (a − b) signed so that positive favours the claim
    p_value: float | None         # exact one-sided sign-flip p in the claim's favour (paired)
    paired: bool
    p_against: float | None = None    # the same against the claim
    p_adjusted: float | None = None   # the p of the direction the mean takes, Holm-adjusted
    agree: int = 0                # paired seeds whose difference favours the claim
    t_lo: float | None = None     # 95% t-interval of the paired mean difference
    t_hi: float | None = None

    @property
    def p_tested(self) -> float | None:
        """The one-sided p of the direction the mean difference takes: the one tested."""
        return tested_p(self.difference, self.p_value, self.p_against)

    @property
    def words(self) -> str:
        """The verdict as a table says it: with the agreeing seeds when it is not significant."""
        if self.verdict == "not significant":
            return f"not significant: {self.agree} of {self.difference.n} seeds agree"
        return self.verdict


def tested_p(difference: Estimate | None, p_value: float | None,
             p_against: float | None) -> float | None:
    """Of a claim's two one-sided p-values, the one in the direction its mean difference takes."""
    return p_value if difference is None or difference.mean >= 0 else p_against


def t_interval(differences: Sequence[float], level: float = LEVEL) -> tuple[float, float]:
    """Student's t-interval of the mean of `differences` (at least two)."""
    from scipy.stats import t
    d = np.asarray(differences, dtype=np.float64)
    half = float(t.ppf(0.5 + level / 2, len(d) - 1)) * float(d.std(ddof=1)) / math.sqrt(len(d))
    return float(d.mean()) - half, float(d.mean()) + half


def fewest_seeds(claims: int, alpha: float = ALPHA) -> int:
    """The fewest paired seeds at which a family of `claims` can carry a verdict: the exact
    sign-flip p of n seeds is at least 1/2ⁿ, and Holm multiplies the smallest by `claims`."""
    n = 1
    while claims / 2 ** n >= alpha:
        n += 1
    return n


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment of a family of p-values (each kept ≤ 1, order preserved)."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted, running = [0.0] * len(p_values), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def _compare(a: Mapping[int, float], b: Mapping[int, float], higher_is_better: bool,
             seed: int) -> Verdict:
    """The figures of one claim, its words left for the family's correction to decide."""
    sign = 1.0 if higher_is_better else -1.0
    shared = sorted(set(a) & set(b))
    if len(shared) >= 2:
        diffs = [sign * (a[s] - b[s]) for s in shared]
        lo, hi = t_interval(diffs)
        return Verdict("not separable", estimate(diffs, seed), sign_flip_p(diffs), True,
                       p_against=sign_flip_p([-d for d in diffs]),
                       agree=sum(d > 0 for d in diffs), t_lo=lo, t_hi=hi)
    if not a or not b:
        raise ValueError("a claim needs values on both sides")
    rng = np.random.default_rng(seed)
    xa, xb = np.asarray(list(a.values())), np.asarray(list(b.values()))
    resampled = sign * (_resampled_means(xa, rng) - _resampled_means(xb, rng))
    lo, hi = _percentiles(resampled)
    mean = sign * (statistics.fmean(xa) - statistics.fmean(xb))
    # no per-seed differences to take an sd of: the bootstrap's standard error instead
    diff = Estimate(mean, float(resampled.std(ddof=1)), lo, hi, min(len(xa), len(xb)))
    return Verdict("not separable", diff, None, False)


def check_claims(claims: Sequence[tuple[Mapping[int, float], Mapping[int, float], bool]],
                 seed: int = 0) -> list[Verdict]:
    """Each claim (a, b, higher_is_better) checked, the paired ones' p-values (each in the
    direction its mean difference takes) Holm-adjusted together, and worded by ALPHA."""
    checked = [_compare(a, b, higher, seed) for a, b, higher in claims]
    tested = [i for i, v in enumerate(checked) if v.paired]
    directed = [checked[i].p_tested for i in tested]
    adjusted = holm([float(p) for p in directed if p is not None])
    out = list(checked)
    for i, p in zip(tested, adjusted):
        v = checked[i]
        word = ("not significant" if p >= ALPHA else
                "holds" if v.difference.mean > 0 else "refuted")
        out[i] = replace(v, verdict=word, p_adjusted=p)
    return out


def check_claim(a: Mapping[int, float], b: Mapping[int, float], higher_is_better: bool,
                seed: int = 0) -> Verdict:
    """Whether method a beats method b on a metric, from {seed: value} of each: one claim, a
    family of one (see check_claims)."""
    return check_claims([(a, b, higher_is_better)], seed)[0]


def decimals_for(value: float) -> int:
    """Decimals a number of this size is written with in tables (3 significant-ish digits)."""
    m = abs(value)
    return 0 if m >= 100 else 1 if m >= 10 else 2 if m >= 1 else 3


def format_estimate(e: Estimate, decimals: int | None = None) -> str:
    """"mean ± sd [lo, hi]" (the one way a figure over seeds is written in a table); one value is
    written alone (it has no sd). Decimals follow the mean's size unless given."""
    d = decimals_for(e.mean) if decimals is None else decimals
    if e.n == 1:
        return f"{e.mean:.{d}f}"
    return f"{e.mean:.{d}f} ± {e.sd:.{d}f} [{e.lo:.{d}f}, {e.hi:.{d}f}]"


def mean_sd(values: Sequence[float | None], decimals: int | None = None) -> str:
    """`format_estimate` of the defined values (NaN and None are undefined: counted, not
    averaged, and said); none is "n/a"."""
    defined = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    if not defined:
        return "n/a"
    text = format_estimate(estimate(defined), decimals)
    missing = len(values) - len(defined)
    return text if not missing else f"{text} ({len(defined)} of {len(values)} seeds)"


@dataclass(frozen=True)
class CurvePoint:
    """A figure of learning curves over seeds: the mean over seeds, its 95% t-interval (equal to
    the mean with one seed), the seeds, and the evaluation step it was read at (None: every
    evaluation averaged)."""
    mean: float
    lo: float
    hi: float
    n: int
    step: int | None


def _common_steps(curves: Mapping[int, Mapping[int, float]]) -> list[int]:
    steps = set.intersection(*(set(c) for c in curves.values())) if curves else set()
    if not steps:
        raise ValueError("the curves share no evaluation step")
    return sorted(steps)


def _over_seeds(values: Sequence[float], step: int | None) -> CurvePoint:
    mean = statistics.fmean(values)
    lo, hi = t_interval(values) if len(values) > 1 else (mean, mean)
    return CurvePoint(mean, lo, hi, len(values), step)


def best_step(curves: Mapping[int, Mapping[int, float]]) -> int:
    """The evaluation step where the mean over seeds is highest (the earliest of equals), among
    the steps every seed evaluated. `curves`: seed -> {step: value}."""
    return max(_common_steps(curves),
               key=lambda s: (statistics.fmean(c[s] for c in curves.values()), -s))


def seed_averages(curves: Mapping[int, Mapping[int, float]]) -> dict[int, float]:
    """Each seed's mean over the evaluation steps every seed shares."""
    steps = _common_steps(curves)
    return {seed: statistics.fmean(c[s] for s in steps) for seed, c in curves.items()}


def maximum_return(curves: Mapping[int, Mapping[int, float]]) -> CurvePoint:
    """EPyMARL's "maximum return": at `best_step`, the mean over seeds and its 95% interval.
    `curves`: seed -> {step: test return}."""
    best = best_step(curves)
    return _over_seeds([c[best] for c in curves.values()], best)


def average_return(curves: Mapping[int, Mapping[int, float]]) -> CurvePoint:
    """EPyMARL's "average return": the mean and 95% interval over seeds of `seed_averages`."""
    return _over_seeds(list(seed_averages(curves).values()), None)
