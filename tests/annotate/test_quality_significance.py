"""The vectorised tests of significance (annotate/quality/significance.py), each against its one-group reference in
scipy or statsmodels, over many random groups at once."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from annotate.quality.significance import (
    binomial_half,
    chi_squared_homogeneity,
    fisher_greater,
    fisher_less,
    holm,
    t_test,
)


def test_holm_matches_statsmodels_and_leaves_missing_tests_out():
    rng = np.random.default_rng(1)
    p = rng.random(40) ** 3
    p[[3, 17]] = np.nan
    adjusted = holm(p)
    tested = np.isfinite(p)
    expected = multipletests(p[tested], method="holm")[1]
    np.testing.assert_allclose(adjusted[tested], expected)
    assert np.isnan(adjusted[~tested]).all()
    assert len(holm(np.array([]))) == 0


def test_the_t_test_matches_scipy_with_its_interval():
    rng = np.random.default_rng(2)
    samples = [rng.normal(rng.normal(0, 0.3), 1, rng.integers(2, 60)) for _ in range(30)]
    n = np.array([len(s) for s in samples], dtype=np.float64)
    total = np.array([s.sum() for s in samples])
    squares = np.array([((s - s.mean()) ** 2).sum() for s in samples])
    found = t_test(n, total, squares)
    for index, sample in enumerate(samples):
        expected = stats.ttest_1samp(sample, 0.0)
        assert found.p[index] == pytest.approx(expected.pvalue)
        interval = expected.confidence_interval(0.95)
        assert (found.low[index], found.high[index]) == pytest.approx((interval.low, interval.high))


def test_the_t_test_without_spread_is_certain_and_without_two_items_is_not_run():
    found = t_test(np.array([3.0, 3.0, 1.0]), np.array([0.0, 6.0, 5.0]), np.zeros(3))
    assert found.p[0] == 1.0 and found.p[1] == 0.0 and np.isnan(found.p[2])


def test_the_binomial_test_matches_scipy_binomtest():
    for n in (1, 2, 7, 30, 165):
        for k in range(n + 1):
            assert binomial_half(np.array([k]), np.array([n]))[0] == pytest.approx(stats.binomtest(k, n, 0.5).pvalue)


def test_the_one_sided_fisher_tests_match_scipy():
    rng = np.random.default_rng(3)
    for _ in range(200):
        own_n, rest_n = rng.integers(1, 80, 2)
        own, rest = rng.integers(0, own_n + 1), rng.integers(0, rest_n + 1)
        table = [[own, own_n - own], [rest, rest_n - rest]]
        args = [np.array([float(value)]) for value in (own, own_n, rest, rest_n)]
        assert fisher_greater(*args)[0] == pytest.approx(stats.fisher_exact(table, alternative="greater").pvalue)
        assert fisher_less(*args)[0] == pytest.approx(stats.fisher_exact(table, alternative="less").pvalue)


def test_chi_squared_matches_scipy_when_no_answer_is_rare():
    rng = np.random.default_rng(4)
    own = rng.integers(10, 60, (20, 5)).astype(np.float64)
    rest = rng.integers(40, 200, (20, 5)).astype(np.float64)
    found = chi_squared_homogeneity(own, rest)
    for index in range(20):
        expected = stats.chi2_contingency([own[index], rest[index]], correction=False).pvalue
        assert found[index] == pytest.approx(expected)


def test_chi_squared_pools_rare_answers_into_one():
    own = np.array([[30.0, 30.0, 1.0, 0.0, 1.0]])
    rest = np.array([[300.0, 300.0, 2.0, 3.0, 0.0]])
    pooled_own, pooled_rest = [30, 30, 2], [300, 300, 5]
    expected = stats.chi2_contingency([pooled_own, pooled_rest], correction=False).pvalue
    assert chi_squared_homogeneity(own, rest)[0] == pytest.approx(expected)
    # One answer left after pooling: nothing to compare.
    assert np.isnan(chi_squared_homogeneity(np.array([[1.0, 2.0]]), np.array([[3.0, 1.0]])))[0]
