"""The statistics every bench table and claim check uses: mean, sd and a 95% bootstrap interval
over seeds, and verdicts on claims (holds / refuted / not separable), never yes/no on means.

Intervals are percentile bootstraps of the mean: 10 000 resamples from a fixed seed, so a table
rebuilt from the same runs prints the same interval. A claim "A beats B" compares runs paired by
seed when both sides ran the same seeds: the bootstrap interval of the mean paired difference,
beside an exact sign-flip permutation p-value (one-sided, in the claim's direction). The claim
holds when the interval lies wholly on its side of zero, is refuted when it lies wholly on the
other side, and is not separable otherwise. With few seeds a percentile bootstrap is narrower
than it should be (3 seeds give 10 distinct resamples); the permutation p-value says how much
the seeds can show at all: with n paired seeds it cannot go below 1/2^n.
"""
from __future__ import annotations

import itertools
import math
import statistics
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

RESAMPLES = 10_000
LEVEL = 0.95
VERDICTS = ("holds", "refuted", "not separable")


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
    """A claim "a is better than b" checked on paired (or, failing that, unpaired) seeds."""
    verdict: str
    difference: Estimate          # of (a − b) signed so that positive favours the claim
    p_value: float | None         # exact sign-flip p (paired only)
    paired: bool


def check_claim(a: Mapping[int, float], b: Mapping[int, float], higher_is_better: bool,
                seed: int = 0) -> Verdict:
    """Whether method a beats method b on a metric, from {seed: value} of each.

    Seeds both sides ran are paired (differences per seed); with fewer than two shared seeds the
    difference of independent bootstrap means is used instead (its sd is then the bootstrap's
    standard error), and a side with one value is not separable from anything."""
    sign = 1.0 if higher_is_better else -1.0
    shared = sorted(set(a) & set(b))
    if len(shared) >= 2:
        diffs = [sign * (a[s] - b[s]) for s in shared]
        diff, p = estimate(diffs, seed), sign_flip_p(diffs)
        paired = True
    else:
        if not a or not b:
            raise ValueError("a claim needs values on both sides")
        rng = np.random.default_rng(seed)
        xa, xb = np.asarray(list(a.values())), np.asarray(list(b.values()))
        resampled = sign * (_resampled_means(xa, rng) - _resampled_means(xb, rng))
        lo, hi = _percentiles(resampled)
        mean = sign * (statistics.fmean(xa) - statistics.fmean(xb))
        # no per-seed differences to take an sd of: the bootstrap's standard error instead
        diff = Estimate(mean, float(resampled.std(ddof=1)), lo, hi, min(len(xa), len(xb)))
        p, paired = None, False
    if not paired and diff.n < 2:
        verdict = "not separable"         # one seed on a side: no spread, nothing to test
    elif diff.lo > 0:
        verdict = "holds"
    elif diff.hi < 0:
        verdict = "refuted"
    else:
        verdict = "not separable"
    return Verdict(verdict, diff, p, paired)


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
