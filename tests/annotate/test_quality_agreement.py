"""The agreement kernels against the reference implementations (krippendorff, statsmodels, scikit-learn, scipy),
against published worked examples, and against their defining properties. No database."""

from __future__ import annotations

from itertools import combinations

import krippendorff
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.stats import friedmanchisquare
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters
from statsmodels.stats.inter_rater import fleiss_kappa as statsmodels_fleiss

from annotate.quality import concordance, kappa
from annotate.quality.agreement import report
from annotate.quality.alpha import LEVELS, alpha_interval, krippendorff_alpha, pairable, per_item_disagreement
from annotate.questions import QuestionSpec

nan = np.nan

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 observers × 12 units, values 1–5.
KRIPPENDORFF_2011 = np.array(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
        [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
    ]
)
KRIPPENDORFF_2011_PUBLISHED = {"nominal": 0.743, "ordinal": 0.815, "interval": 0.849, "ratio": 0.797}

# Hayes & Krippendorff (2007), Table 1: 5 observers × 40 news articles, the challenger's chances 0–3.
HAYES_2007_UNITS = [
    "1,1,2,.,2", "1,1,0,1,.", "2,3,3,3,.", ".,0,0,.,0", "0,0,0,.,0", "0,0,0,.,0", "1,0,2,.,1", "1,.,2,0,.",
    "2,2,2,.,2", "2,1,1,1,.", ".,1,0,0,.", "0,0,0,0,.", "1,2,2,2,.", "3,3,2,2,3", "1,1,1,.,1", "1,1,1,.,1",
    "2,1,2,.,2", "1,2,3,3,.", "1,1,0,1,.", "0,0,0,.,0", "0,0,1,1,.", "0,0,.,0,0", "2,3,3,3,.", "0,0,0,0,.",
    "1,2,.,2,2", "0,1,1,1,.", "0,0,0,1,0", "1,2,1,2,.", "1,1,2,2,.", "1,1,2,.,2", "1,1,0,.,0", "2,1,2,1,.",
    "2,2,.,2,2", "3,2,2,2,.", "2,2,2,.,2", "2,2,3,.,2", "2,2,2,.,2", "2,2,.,1,2", "2,2,2,2,.", "1,1,1,.,1",
]  # fmt: skip
HAYES_2007 = np.array([[nan if v == "." else float(v) for v in unit.split(",")] for unit in HAYES_2007_UNITS]).T

# Fleiss (1971): 30 patients, 6 psychiatrists each, 5 diagnoses (as in R's irr::diagnoses).
FLEISS_1971 = np.array(
    [
        [4, 4, 4, 4, 4, 4], [2, 2, 2, 5, 5, 5], [2, 3, 3, 3, 3, 5], [5, 5, 5, 5, 5, 5], [2, 2, 2, 4, 4, 4],
        [1, 1, 3, 3, 3, 3], [3, 3, 3, 3, 5, 5], [1, 1, 3, 3, 3, 4], [1, 1, 4, 4, 4, 4], [5, 5, 5, 5, 5, 5],
        [1, 4, 4, 4, 4, 4], [1, 2, 4, 4, 4, 4], [2, 2, 2, 3, 3, 3], [1, 4, 4, 4, 4, 4], [2, 2, 4, 4, 4, 5],
        [3, 3, 3, 3, 3, 5], [1, 1, 1, 4, 5, 5], [1, 1, 1, 1, 1, 2], [2, 2, 4, 4, 4, 4], [1, 3, 3, 5, 5, 5],
        [5, 5, 5, 5, 5, 5], [2, 4, 4, 4, 4, 4], [2, 2, 4, 5, 5, 5], [1, 1, 4, 4, 4, 4], [1, 4, 4, 4, 4, 5],
        [2, 2, 2, 2, 2, 4], [1, 1, 1, 1, 5, 5], [2, 2, 4, 4, 4, 4], [1, 3, 3, 3, 3, 3], [5, 5, 5, 5, 5, 5],
    ]
)  # fmt: skip


def columns(data: np.ndarray, lowest: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(item, rater, code) of a raters × items matrix with NaN for missing, rows sorted by item as the labels
    layer gives them; code = value − lowest."""
    item, rater = np.nonzero(~np.isnan(data.T))
    return item, rater, data.T[item, rater].astype(np.int64) - lowest


def our_alpha(data: np.ndarray, level: str, lowest: int = 0, highest: int | None = None) -> float | None:
    item, _, code = columns(data, lowest)
    top = int(np.nanmax(data)) if highest is None else highest
    values = np.arange(lowest, top + 1, dtype=np.float64)
    return krippendorff_alpha(pairable(item, code, len(values)), level, values).value  # type: ignore[arg-type]


@pytest.mark.parametrize("level", LEVELS)
def test_it_gives_krippendorffs_published_values_for_his_2011_example(level):
    ours = our_alpha(KRIPPENDORFF_2011, level, lowest=1)

    assert round(ours, 3) == KRIPPENDORFF_2011_PUBLISHED[level]
    assert ours == pytest.approx(krippendorff.alpha(KRIPPENDORFF_2011, level_of_measurement=level), abs=1e-12)


def test_it_gives_hayes_and_krippendorffs_published_ordinal_alpha():
    ours = our_alpha(HAYES_2007, "ordinal")

    assert round(ours, 4) == 0.7598
    assert ours == pytest.approx(krippendorff.alpha(HAYES_2007, level_of_measurement="ordinal"), abs=1e-12)


def test_it_gives_fleiss_published_kappa_and_statsmodels_figure():
    item = np.repeat(np.arange(30), 6)
    code = FLEISS_1971.ravel() - 1

    ours = kappa.fleiss_kappa(pairable(item, code, 5))

    assert round(ours, 3) == 0.430
    assert ours == pytest.approx(statsmodels_fleiss(aggregate_raters(FLEISS_1971)[0]), abs=1e-12)


def test_fleiss_kappa_is_null_when_items_have_different_numbers_of_ratings():
    item, _, code = columns(KRIPPENDORFF_2011, lowest=1)

    assert kappa.fleiss_kappa(pairable(item, code, 5)) is None


def random_ratings(rng, raters=5, items=60, values=5, missing=0.3):
    data = rng.integers(0, values, size=(raters, items)).astype(float)
    # Raters mostly agree on a per-item truth, so alpha is well away from 0 (a stronger check than noise).
    truth = rng.integers(0, values, size=items)
    agree = rng.random((raters, items)) < 0.6
    data[agree] = np.broadcast_to(truth, data.shape)[agree]
    data[rng.random(data.shape) < missing] = nan
    return data


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("seed", range(5))
def test_alpha_equals_the_krippendorff_package_on_random_data_with_missing_ratings(level, seed):
    data = random_ratings(np.random.default_rng(seed)) + 1  # ratio needs values above 0 to be interesting

    expected = krippendorff.alpha(data, level_of_measurement=level, value_domain=np.arange(1, 6))

    assert our_alpha(data, level, lowest=1, highest=5) == pytest.approx(expected, abs=1e-9)


def test_a_101_point_slider_equals_the_package_and_unused_scale_points_change_nothing():
    rng = np.random.default_rng(3)
    data = np.clip(rng.normal(50, 15, size=(4, 300)).round(), 0, 100)
    data[rng.random(data.shape) < 0.2] = nan

    ours = our_alpha(data, "interval", lowest=0, highest=100)

    assert ours == pytest.approx(krippendorff.alpha(data, level_of_measurement="interval"), abs=1e-9)


def test_alpha_is_null_without_variation_and_without_items_rated_twice():
    everyone_says_two = np.full((3, 10), 2.0)
    rated_once = np.array([[1.0, nan, 3.0], [nan, 2.0, nan]])

    assert our_alpha(everyone_says_two, "nominal", highest=4) is None
    assert our_alpha(rated_once, "interval", highest=4) is None
    assert krippendorff_alpha(pairable([], [], 5), "nominal").value is None


def test_percent_agreement_and_unanimous_share_follow_their_definitions():
    data = random_ratings(np.random.default_rng(11), raters=4, items=30, values=3)
    item, _, code = columns(data)
    counts = pairable(item, code, 3)

    shares, unanimous = [], []
    for unit in range(data.shape[1]):
        ratings = data[:, unit][~np.isnan(data[:, unit])]
        if len(ratings) < 2:
            continue
        pairs = list(combinations(ratings, 2))
        shares.append(sum(a == b for a, b in pairs) / len(pairs))
        unanimous.append(len(set(ratings)) == 1)

    assert kappa.percent_agreement(counts) == pytest.approx(np.mean(shares), abs=1e-12)
    assert kappa.unanimous_share(counts) == pytest.approx(np.mean(unanimous), abs=1e-12)


def gwet_ac1_by_definition(data: np.ndarray, categories: int) -> float:
    """Gwet (2008), multiple raters: p_a over items with two or more ratings; π_k the mean share of each item's
    ratings in k; p_e = Σ π_k(1 − π_k) / (q − 1)."""
    used = [data[:, u][~np.isnan(data[:, u])] for u in range(data.shape[1])]
    used = [ratings for ratings in used if len(ratings) >= 2]
    p_a = np.mean([sum(np.sum(r == k) * (np.sum(r == k) - 1) for k in range(categories)) / (len(r) * (len(r) - 1))
                   for r in used])  # fmt: skip
    pi = [np.mean([np.sum(r == k) / len(r) for r in used]) for k in range(categories)]
    p_e = sum(p * (1 - p) for p in pi) / (categories - 1)
    return (p_a - p_e) / (1 - p_e)


def test_gwets_ac1_follows_its_definition_and_resists_the_kappa_paradox():
    data = random_ratings(np.random.default_rng(5), raters=4, items=80, values=4)
    item, _, code = columns(data)
    assert kappa.gwet_ac1(pairable(item, code, 4), 4) == pytest.approx(gwet_ac1_by_definition(data, 4), abs=1e-12)

    # Two raters say "yes" to almost everything and never agree on a "no": 94% raw agreement, kappa below zero.
    first = np.array([1] * 118 + [1] * 5 + [0] * 2)
    second = np.array([1] * 118 + [0] * 5 + [1] * 2)
    paradox = np.vstack([first, second]).astype(float)
    item, rater, code = columns(paradox)
    counts = pairable(item, code, 2)
    cohen = kappa.cohen_kappas(item, rater, code)[0].kappa

    assert kappa.percent_agreement(counts) == pytest.approx(118 / 125)
    assert cohen == pytest.approx(cohen_kappa_score(first, second), abs=1e-12)
    assert cohen < 0
    assert kappa.gwet_ac1(counts, 2) > 0.9


def test_cohens_kappa_per_pair_equals_scikit_learn_unweighted():
    data = random_ratings(np.random.default_rng(8), raters=4, items=50, values=4)
    item, rater, code = columns(data)

    pairs = kappa.cohen_kappas(item, rater, code)

    assert [(p.first, p.second) for p in pairs] == list(combinations(range(4), 2))
    for pair in pairs:
        both = ~np.isnan(data[pair.first]) & ~np.isnan(data[pair.second])
        expected = cohen_kappa_score(data[pair.first][both], data[pair.second][both], labels=[0, 1, 2, 3])
        assert pair.items == both.sum()
        assert pair.kappa == pytest.approx(expected, abs=1e-12)


def test_weighted_kappa_weighs_by_value_over_the_full_declared_scale():
    # A 1–10 scale on which only 1, 2 and 10 were used: 2 vs 10 is far apart, which weights by position among
    # the values used (1, 2, 3) would hide.
    first = np.array([1, 2, 10, 2, 1, 10, 2, 1])
    second = np.array([2, 2, 10, 10, 1, 2, 1, 1])
    item = np.r_[np.arange(8), np.arange(8)]
    rater = np.r_[np.zeros(8, int), np.ones(8, int)]
    scale = np.arange(1, 11)
    code = np.r_[first, second] - 1

    ours = kappa.cohen_kappas(item, rater, code, scale.astype(float))[0].kappa

    full_scale = cohen_kappa_score(first, second, labels=list(scale), weights="quadratic")
    by_position = cohen_kappa_score(first, second, weights="quadratic")
    assert ours == pytest.approx(full_scale, abs=1e-12)
    assert abs(full_scale - by_position) > 0.05


def test_pair_kappa_is_null_when_both_raters_gave_one_and_the_same_value():
    item, rater, code = np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]), np.array([2, 2, 2, 2])

    assert kappa.cohen_kappas(item, rater, code)[0].kappa is None
    assert kappa.cohen_kappas(item, rater, code, np.arange(5.0))[0].kappa is None


def test_the_bootstrap_interval_is_seeded_contains_alpha_and_narrows_with_more_items():
    def interval(items: int, seed: int = 0):
        data = random_ratings(np.random.default_rng(21), raters=3, items=items, missing=0.1)
        item, _, code = columns(data)
        counts = pairable(item, code, 5)
        alpha = krippendorff_alpha(counts, "nominal")
        found = alpha_interval(counts, alpha, seed=seed)
        return alpha.value, (found.low, found.high)

    alpha, (low, high) = interval(40)
    assert low < alpha < high
    assert interval(40) == (alpha, (low, high))
    assert interval(40, seed=1) != (alpha, (low, high))
    _, (wide_low, wide_high) = interval(40)
    _, (narrow_low, narrow_high) = interval(4000)
    assert narrow_high - narrow_low < (wide_high - wide_low) / 4


@pytest.mark.parametrize(("values", "items", "level"), [(3, 3000, "nominal"), (101, 600, "interval")])
def test_the_bootstrap_matches_a_plain_resampling_of_items(values, items, level):
    # Three values make a few count patterns (drawn as a multinomial over patterns); a 0–100 slider makes nearly as
    # many patterns as items (drawn item by item). Either way the interval must match resampling the items plainly.
    rng = np.random.default_rng(2)
    data = random_ratings(rng, raters=3, items=items, values=values, missing=0.0)
    item, _, code = columns(data)
    scale = np.arange(values, dtype=np.float64)
    counts = pairable(item, code, values)
    alpha = krippendorff_alpha(counts, level, scale)
    found = alpha_interval(counts, alpha, resamples=400)

    estimates = []
    for _ in range(400):
        chosen = data[:, rng.integers(0, items, items)]
        resampled_item, _, resampled_code = columns(chosen)
        estimates.append(krippendorff_alpha(pairable(resampled_item, resampled_code, values), level, scale).value)
    reference_low, reference_high = np.percentile(estimates, [2.5, 97.5])
    width = reference_high - reference_low
    assert found.low == pytest.approx(reference_low, abs=width / 5)
    assert found.high == pytest.approx(reference_high, abs=width / 5)
    assert found.resamples == 400


def test_per_item_disagreement_is_on_a_0_to_1_scale():
    item = np.array([0, 0, 1, 1, 1, 2, 2])
    code = np.array([0, 4, 2, 2, 3, 1, 1])
    counts = pairable(item, code, 5)

    nominal = per_item_disagreement(counts, "nominal", np.arange(5.0), 4.0)
    interval = per_item_disagreement(counts, "interval", np.arange(5.0), 4.0)

    assert nominal.tolist() == pytest.approx([1.0, 2 / 3, 0.0])
    assert interval.tolist() == pytest.approx([1.0, (2 * (1 / 4) ** 2 * 2) / 6, 0.0])


def test_kendalls_w_equals_friedmans_statistic_rescaled():
    rng = np.random.default_rng(4)
    rankings = [list(rng.permutation(4)) for _ in range(5)]
    raters = 5
    w, used = concordance.kendall_w(np.zeros(raters, dtype=np.int64), np.arange(raters), rankings)

    ranks = np.array([[ranking.index(response) + 1 for response in range(4)] for ranking in rankings])
    chi_square = friedmanchisquare(*ranks.T).statistic
    assert used == 1
    assert w == pytest.approx(chi_square / (raters * (4 - 1)), abs=1e-12)


def test_kendalls_w_is_1_for_identical_rankings_and_skips_items_ranked_once():
    rankings = [[2, 0, 1]]
    w, used = concordance.kendall_w(np.array([0, 0, 0, 1]), np.array([0, 0, 0, 0]), rankings)

    assert (w, used) == (pytest.approx(1.0), 1)


def test_text_agreement_counts_normalised_exact_matches_and_token_f1():
    texts = ["The cat sat.", "the  cat sat", "A dog ran", ""]
    item = np.array([0, 0, 1, 1, 2])
    code = np.array([0, 1, 0, 2, 3])

    exact, similarity, used = concordance.text_agreement(item, code, texts)

    assert concordance.token_f1("The cat sat.", "the cat sat") == 1.0
    assert concordance.token_f1("The cat sat.", "A dog ran") == 0.0
    assert concordance.token_f1("a b c d", "a b") == pytest.approx(2 * 2 / 6)
    assert used == 2
    assert exact == pytest.approx(0.0)  # punctuation differs; exact matching only folds case and spaces
    assert similarity == pytest.approx((1.0 + 0.0) / 2)


def ratings_matrix(draw_shape=(4, 12), values=5):
    return arrays(
        np.float64,
        draw_shape,
        elements=st.one_of(st.just(nan), st.integers(0, values - 1).map(float)),
    )


@settings(max_examples=60, deadline=None)
@given(data=ratings_matrix(), permutation=st.permutations(range(5)))
def test_nominal_alpha_does_not_depend_on_the_labels_names(data, permutation):
    relabelled = np.where(np.isnan(data), nan, np.take(np.array(permutation, float), np.nan_to_num(data).astype(int)))
    before, after = our_alpha(data, "nominal", highest=4), our_alpha(relabelled, "nominal", highest=4)

    assert (before is None and after is None) or after == pytest.approx(before, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(data=ratings_matrix(), shift=st.integers(1, 20))
def test_interval_alpha_does_not_change_when_every_value_shifts(data, shift):
    before = our_alpha(data, "interval", highest=4)
    after = our_alpha(data + shift, "interval", lowest=0, highest=4 + shift)

    assert (before is None and after is None) or after == pytest.approx(before, abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(truth=arrays(np.float64, 8, elements=st.integers(0, 4).map(float)), raters=st.integers(2, 5))
def test_perfect_agreement_with_variation_is_1(truth, raters):
    data = np.tile(truth, (raters, 1))
    for level in LEVELS:
        alpha = our_alpha(data + 1, level, lowest=1, highest=5)
        if len(set(truth)) > 1:
            assert alpha == pytest.approx(1.0)
        else:
            assert alpha is None


@settings(max_examples=60, deadline=None)
@given(data=ratings_matrix(draw_shape=(5, 15)), level=st.sampled_from(LEVELS))
def test_alpha_equals_the_package_on_any_data_with_missing_values(data, level):
    ours = our_alpha(data + 1, level, lowest=1, highest=5)
    try:
        expected = krippendorff.alpha(data + 1, level_of_measurement=level, value_domain=np.arange(1, 6))
    except ValueError:  # the package refuses data with one value or no pairable ratings
        expected = nan
    if ours is None:
        assert not np.isfinite(expected) or expected == pytest.approx(1.0) or np.isnan(expected)
    else:
        assert ours == pytest.approx(expected, abs=1e-9)


def spec(kind, **options):
    return QuestionSpec(name="q", kind=kind, level=options.pop("level", None), options=options)


class Columns:
    def __init__(self, example, annotator, code, categories):
        self.example = np.asarray(example, dtype=np.int64)
        self.annotator = np.asarray(annotator, dtype=np.int64)
        self.code = np.asarray(code, dtype=np.int64)
        self.categories = categories


def test_the_report_of_a_multi_label_question_measures_each_label_as_yes_or_no():
    answers = [["unsafe"], ["unsafe", "wrong"], []]
    labels = Columns([1, 1, 2, 2, 3, 3], [7, 8, 7, 8, 7, 8], [0, 0, 1, 0, 2, 2], answers)

    figures = report(spec("multi_label", labels=["unsafe", "wrong"], level="nominal"), labels)

    assert figures["labels"]["unsafe"]["percent_agreement"] == pytest.approx(1.0)
    assert figures["labels"]["wrong"]["percent_agreement"] == pytest.approx(2 / 3)
    assert figures["percent_agreement"] == pytest.approx(5 / 6)
    assert figures["labels"]["unsafe"]["krippendorff_alpha"] == pytest.approx(1.0)
    assert figures["items_used"] == 3


def test_the_report_of_an_ordinal_label_uses_the_declared_order_and_drops_answers_off_the_scale():
    labels = Columns([1, 1, 2, 2, 3, 3], [7, 8, 7, 8, 7, 8], [0, 1, 2, 2, 0, 3], ["bad", "ok", "good", "retired"])
    question = spec("label", labels=["bad", "ok", "good"], level="ordinal")

    figures = report(question, labels)

    assert figures["ratings_off_scale"] == 1
    assert figures["items_used"] == 2
    assert figures["cohen_kappa"][0]["annotators"] == [7, 8]
    assert set(figures) >= {"krippendorff_alpha", "alpha_interval", "fleiss_kappa", "gwet_ac1", "unanimous_share"}
