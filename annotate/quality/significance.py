"""Tests of significance over many groups at once (annotators, or annotators within a slice), and the correction
for having run many of them. Pure numpy and scipy.

Each test takes arrays with one entry per group and returns one p-value per group, NaN where the test cannot be
run (too few observations, no variation). They are the textbook tests, written over arrays so that fifty or five
thousand groups cost one call; the tests of this module check each against scipy's one-group version.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

Floats = npt.NDArray[np.float64]
# Columns of a contingency table whose expected count is below this are pooled into one column before a
# chi-squared test: the chi-squared approximation is poor for small expected counts, and a rare answer given once
# by an honest annotator would otherwise look like a significant difference.
MIN_EXPECTED = 5.0


def holm(p: Floats) -> Floats:
    """Holm–Bonferroni adjusted p-values (NaN entries are not tests and stay NaN). Rejecting where the adjusted p
    is below alpha keeps the chance of any false rejection among all of them below alpha."""
    adjusted = np.full(len(p), np.nan)
    tested = np.flatnonzero(np.isfinite(p))
    if len(tested) == 0:
        return adjusted
    order = tested[np.argsort(p[tested], kind="stable")]
    m = len(order)
    scaled = p[order] * (m - np.arange(m))
    adjusted[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
    return adjusted


@dataclass(frozen=True)
class MeanTest:
    """A one-sample t-test of a mean against 0, per group: the mean, its 95% t interval, the two-sided p."""

    n: Floats
    mean: Floats
    low: Floats
    high: Floats
    p: Floats


def t_test(n: Floats, total: Floats, squares: Floats) -> MeanTest:
    """From each group's count, sum and sum of squared deviations from its mean. NaN where n < 2; with no spread
    at all, p is 1 for a mean of exactly 0 and 0 otherwise (every observation says the same)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(n > 0, total / np.maximum(n, 1), np.nan)
        sd = np.sqrt(squares / (n - 1))
        se = sd / np.sqrt(n)
        t = mean / se
    df = np.maximum(n - 1, 1)
    p = np.where(n >= 2, 2 * stats.t.sf(np.abs(t), df), np.nan)
    no_spread = (n >= 2) & (se == 0)
    p = np.where(no_spread, np.where(mean == 0, 1.0, 0.0), p)
    half = np.where(n >= 2, stats.t.ppf(0.975, df) * se, np.nan)
    return MeanTest(n=n, mean=mean, low=mean - half, high=mean + half, p=p)


def binomial_half(successes: Floats, n: Floats) -> Floats:
    """The exact two-sided binomial test of a share against 1/2 (scipy.stats.binomtest's p for p=0.5: the
    distribution is symmetric, so it is twice the smaller tail, at most 1)."""
    low = stats.binom.cdf(successes, n, 0.5)
    high = stats.binom.sf(successes - 1, n, 0.5)
    return np.where(n > 0, np.minimum(1.0, 2 * np.minimum(low, high)), np.nan)


def fisher_greater(own: Floats, own_n: Floats, rest: Floats, rest_n: Floats) -> Floats:
    """One-sided Fisher's exact test that the group's share (own of own_n) is above everyone else's (rest of
    rest_n): the hypergeometric chance of own or more of the successes landing in the group."""
    total = own_n + rest_n
    successes = own + rest
    return np.where((own_n > 0) & (rest_n > 0), stats.hypergeom.sf(own - 1, total, successes, own_n), np.nan)


def fisher_less(own: Floats, own_n: Floats, rest: Floats, rest_n: Floats) -> Floats:
    """One-sided Fisher's exact test that the group's share is below everyone else's."""
    total = own_n + rest_n
    successes = own + rest
    return np.where((own_n > 0) & (rest_n > 0), stats.hypergeom.cdf(own, total, successes, own_n), np.nan)


def chi_squared_homogeneity(own: Floats, rest: Floats) -> Floats:
    """The chi-squared test that two rows of counts (a group's, and everyone else's; one row per group, one
    column per answer) come from the same distribution. Columns whose expected count in either row is below
    MIN_EXPECTED are pooled into one column first; NaN where fewer than two columns are left."""
    own_n = own.sum(axis=1, keepdims=True)
    rest_n = rest.sum(axis=1, keepdims=True)
    total = own_n + rest_n
    column = own + rest
    with np.errstate(divide="ignore", invalid="ignore"):
        expected_own = column * own_n / total
        expected_rest = column * rest_n / total
    rare = (expected_own < MIN_EXPECTED) | (expected_rest < MIN_EXPECTED)
    kept = (~rare) & (column > 0)
    pooled_own = np.where(rare, own, 0).sum(axis=1)
    pooled_rest = np.where(rare, rest, 0).sum(axis=1)
    observed_own = np.column_stack([np.where(kept, own, 0), pooled_own])
    observed_rest = np.column_stack([np.where(kept, rest, 0), pooled_rest])
    observed_column = observed_own + observed_rest
    with np.errstate(divide="ignore", invalid="ignore"):
        e_own = observed_column * own_n / total
        e_rest = observed_column * rest_n / total
        terms = (observed_own - e_own) ** 2 / e_own + (observed_rest - e_rest) ** 2 / e_rest
    statistic = np.where(observed_column > 0, terms, 0.0).sum(axis=1)
    columns = (observed_column > 0).sum(axis=1)
    df = columns - 1
    usable = (df >= 1) & (own_n[:, 0] > 0) & (rest_n[:, 0] > 0)
    return np.where(usable, stats.chi2.sf(statistic, np.maximum(df, 1)), np.nan)
