"""Annotator statistics and bias flags (annotate/quality/bias.py and the modules it calls), on simulated projects.

A project is simulated from a seed: items with a true answer, each labelled by a few annotators drawn at random,
honest annotators erring at random, time on task and submission times in sessions. One bias at a time is injected
into annotator 0; it must be flagged, and none of the honest annotators may be. The figures are checked against
plain loops written from their definitions and against independent implementations (scipy, scikit-learn).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, replace

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon
from sklearn.metrics import cohen_kappa_score

from annotate.quality.bias import BiasInput, annotator_bias
from annotate.quality.flags import MIN_ITEMS
from annotate.quality.others import compare_with_others
from tests.annotate.test_quality_others import loo_majority

START = np.datetime64("2025-03-03T09:00:00", "us")
SECOND = np.timedelta64(1_000_000, "us")
A_BETTER, TIE, B_BETTER = 0, 1, 2  # preference codes, in annotate.questions.PREFERENCE_SCALE order
KINDS = ("rating", "label", "preference")


def simulate(seed, kind, *, annotators=12, items=900, per_item=3, noise=0.8, session=60):
    """Columns of a simulated question, as a dict so that a test can inject a bias before making the input.

    rating: a 1–5 scale (codes 0..4), each answer the item's true value plus normal noise of sd ``noise``,
    rounded and clipped. label: 4 nominal labels, an annotator gives the true one with probability 1 − noise/2,
    else a random one. preference: a better response per item; a tie 10% of the time, else the better one with
    probability 0.75; the page shows a or b on the left at random. Each annotator works through their labels in
    sessions of ``session`` labels, one to three minutes apart, two hours between sessions; time on task is
    log-normal around 30 s."""
    rng = np.random.default_rng(seed)
    example = np.repeat(np.arange(items), per_item)
    annotator = np.argsort(rng.random((items, annotators)), axis=1)[:, :per_item].ravel()
    n = len(example)
    columns = {"example": example, "annotator": annotator}
    if kind == "rating":
        truth = rng.integers(0, 5, items)[example]
        columns["code"] = np.clip(np.rint(truth + rng.normal(0, noise, n)), 0, 4).astype(np.int64)
    elif kind == "label":
        truth = rng.integers(0, 4, items)[example]
        columns["code"] = np.where(rng.random(n) < 1 - noise / 2, truth, rng.integers(0, 4, n))
    else:
        better = rng.choice([A_BETTER, B_BETTER], items)[example]
        columns["code"] = np.where(rng.random(n) < 0.1, TIE, np.where(rng.random(n) < 0.75, better, B_BETTER - better))
        columns["shown_left"] = rng.choice([A_BETTER, B_BETTER], n)
    columns["duration_ms"] = rng.lognormal(np.log(30_000), 0.4, n)
    submitted, position = np.empty(n, "datetime64[us]"), np.empty(n, np.int64)
    for who in range(annotators):
        rows = np.flatnonzero(annotator == who)
        gaps = rng.uniform(60, 180, len(rows))
        gaps[::session] += 7200
        submitted[rows] = START + (np.cumsum(gaps) * 1e6).astype("timedelta64[us]")
        position[rows] = np.arange(len(rows)) % session
    columns["submitted_at"], columns["position"], columns["session"] = submitted, position, session
    return columns, rng


def as_input(kind, columns, **extra):
    scale = {"n_categories": 5, "positions": np.arange(1.0, 6.0)} if kind == "rating" else {"n_categories": 3}
    if kind == "label":
        scale = {"n_categories": 4}
    if kind == "preference":
        scale |= {"shown_left": columns["shown_left"], "tie_code": TIE}
    return BiasInput(
        example=columns["example"],
        annotator=columns["annotator"],
        code=columns["code"].astype(np.int64),
        submitted_at=columns["submitted_at"],
        duration_ms=columns["duration_ms"],
        **scale,
        **extra,
    )


def flagged(report):
    return {(flag.annotator, flag.kind) for flag in report.flags}


# Injected biases: each changes annotator 0's labels in place ----------------------------------------------------


def lenient(columns, rows, rng):
    columns["code"][rows] = np.minimum(columns["code"][rows] + 1, 4)


def severe(columns, rows, rng):
    columns["code"][rows] = np.maximum(columns["code"][rows] - 1, 0)


def central(columns, rows, rng):
    columns["code"][rows] = 2  # always 3 on the 1–5 scale


def too_fast(columns, rows, rng):
    columns["duration_ms"][rows] = rng.lognormal(np.log(3_000), 0.4, len(rows))


def tired(columns, rows, rng):
    """Agreement falls with position in the session: by the end of one, most answers are random."""
    random = rng.random(len(rows)) < 0.9 * columns["position"][rows] / columns["session"]
    columns["code"][rows] = np.where(random, rng.integers(0, 4, len(rows)), columns["code"][rows])


def picks_left(columns, rows, rng):
    left = columns["shown_left"][rows]
    columns["code"][rows] = np.where(rng.random(len(rows)) < 0.8, left, B_BETTER - left)


def favours_one_label(columns, rows, rng):
    columns["code"][rows] = np.where(rng.random(len(rows)) < 0.5, 3, columns["code"][rows])


def random_labels(columns, rows, rng):
    columns["code"][rows] = rng.integers(0, 4, len(rows))


@pytest.mark.parametrize(
    "kind, inject, flag, project",
    [
        ("rating", lenient, "lenient", {}),
        ("rating", severe, "severe", {}),
        ("rating", central, "central_tendency", {}),
        ("rating", too_fast, "too_fast", {}),
        ("label", tired, "fatigue", {"items": 1500, "session": 100, "noise": 0.4}),
        ("preference", picks_left, "position_bias", {}),
        ("label", favours_one_label, "outlying_distribution", {}),
        ("label", random_labels, "low_agreement", {}),
    ],
    ids=lambda value: value if isinstance(value, str) and value not in KINDS else "",
)
def test_it_flags_an_injected_bias_and_no_honest_annotator(kind, inject, flag, project):
    columns, rng = simulate(7, kind, **project)
    inject(columns, np.flatnonzero(columns["annotator"] == 0), rng)
    report = annotator_bias(as_input(kind, columns))
    assert (0, flag) in flagged(report)
    assert {who for who, _ in flagged(report)} == {0}
    raised = next(f for f in report.flags if f.kind == flag)
    assert raised.detail["p"] < 0.05 and raised.detail["items"] >= MIN_ITEMS
    assert "Holm-corrected" in raised.detail["test"]


def test_a_lenient_flag_carries_the_offset_and_its_interval():
    columns, rng = simulate(7, "rating")
    lenient(columns, np.flatnonzero(columns["annotator"] == 0), rng)
    report = annotator_bias(as_input("rating", columns))
    detail = next(f.detail for f in report.flags if f.kind == "lenient")
    low, high = detail["ci"]
    assert 0.5 < low < detail["offset"] < high < 1.1
    row = next(r for r in report.annotators if r.annotator == 0)
    assert detail["offset"] == row.adjusted_offset and detail["p_uncorrected"] == row.adjusted_offset_p
    assert detail["raw_offset"] == row.offset


@pytest.mark.parametrize(
    "kind, tests_each",
    [
        ("rating", ["offset", "spread", "distribution", "fast", "agreement", "fatigue"]),
        ("label", ["distribution", "fast", "agreement", "fatigue"]),
        ("preference", ["distribution", "fast", "position", "agreement", "fatigue"]),
    ],
)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fifty_honest_annotators_on_a_noisy_question_raise_no_flag(kind, tests_each, seed):
    """Flags are corrected so that honest projects raise one at most ALPHA (1%) of the time: measured once over
    1,200 such projects (seeds 0–99 and 1000–1299 of each kind), 5 raised one."""
    columns, _ = simulate(seed, kind, annotators=50, items=3000, noise=1.2)
    report = annotator_bias(as_input(kind, columns))
    assert report.flags == []
    assert report.tests == 50 * len(tests_each), "every annotator was tested every way that applies"


def test_a_small_bias_measured_precisely_is_not_flagged():
    """Half the annotator's ratings a point higher: significant on this many items, but an offset under the
    minimum effect."""
    columns, rng = simulate(7, "rating", items=3000)
    rows = np.flatnonzero(columns["annotator"] == 0)
    lenient(columns, rows[rng.random(len(rows)) < 0.3], rng)
    report = annotator_bias(as_input("rating", columns))
    row = next(r for r in report.annotators if r.annotator == 0)
    assert row.offset_p < 1e-6 and 0 < row.offset < 0.4
    assert flagged(report) == set()


def test_it_flags_within_the_slice_where_the_bias_is():
    columns, rng = simulate(7, "rating", items=1800)
    topic = columns["example"] % 2
    lenient(columns, np.flatnonzero((columns["annotator"] == 0) & (topic == 1)), rng)
    report = annotator_bias(as_input("rating", columns, slice=topic))
    assert {(f.annotator, f.slice, f.kind) for f in report.flags if f.kind == "lenient"} == {(0, 1, "lenient")}
    assert {(r.annotator, r.slice) for r in report.annotators} == {(a, s) for a in range(12) for s in (0, 1)}


# Figures against their definitions ------------------------------------------------------------------------------


def small_project(seed, kind="rating", items=120, annotators=6):
    """Items with 1 to 5 labels each, so that some have no others, some have others who tie."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 6, items)
    example = np.repeat(np.arange(items) * 10 + 3, sizes)
    annotator = np.concatenate([rng.permutation(annotators)[:size] for size in sizes])
    categories = 5 if kind == "rating" else 4
    code = rng.integers(0, categories, len(example))
    times = START + np.sort(rng.integers(0, 10**6, len(example))) * SECOND
    duration = rng.lognormal(np.log(20_000), 0.8, len(example))
    duration[rng.random(len(example)) < 0.1] = np.nan
    scale = {"positions": np.arange(1.0, 6.0)} if kind == "rating" else {}
    return BiasInput(
        example=example,
        annotator=annotator,
        code=code,
        n_categories=categories,
        submitted_at=times,
        duration_ms=duration,
        text_length=rng.integers(1, 400, len(example)).astype(np.float64),
        **scale,
    )


def by_item(data):
    items = defaultdict(list)
    for row in range(len(data.example)):
        items[int(data.example[row])].append(row)
    return items


def row_of(report, annotator):
    return next(r for r in report.annotators if r.annotator == annotator)


def test_it_leaves_out_items_whose_others_tie_or_are_missing():
    # Item 1: each label's one other decides. Item 2: alone. Item 3: the others of a 0 tie (0 and 1), the others
    # of the 1 agree. Item 4: a clear majority for every label.
    data = BiasInput(
        example=np.array([1, 1, 2, 3, 3, 3, 4, 4, 4, 4]),
        annotator=np.array([0, 1, 0, 0, 1, 2, 0, 1, 2, 3]),
        code=np.array([0, 1, 2, 0, 0, 1, 0, 0, 0, 1]),
        n_categories=3,
        submitted_at=np.full(10, START),
        duration_ms=np.full(10, np.nan),
    )
    majority = compare_with_others(data.example, data.code).majority
    np.testing.assert_array_equal(majority, [1, 0, -1, -1, -1, 0, 0, 0, 0, 0])
    report = annotator_bias(data)
    assert [r.majority_items for r in report.annotators] == [2, 2, 2, 1]


@pytest.mark.parametrize("kind", ["rating", "label"])
def test_kappa_against_the_majority_matches_scikit_learn(kind):
    data = small_project(2, kind, items=600)
    majority = loo_majority(data.example, data.code)
    report = annotator_bias(data)
    for row in report.annotators:
        mine = (data.annotator == row.annotator) & (majority >= 0)
        expected = cohen_kappa_score(data.code[mine], majority[mine])
        assert row.kappa_vs_majority == pytest.approx(expected)
        assert row.majority_agreement == pytest.approx(np.mean(data.code[mine] == majority[mine]))


def test_agreement_with_others_is_the_share_of_agreeing_pairs():
    data = small_project(3, "label")
    items = by_item(data)
    report = annotator_bias(data)
    for row in report.annotators:
        pairs = [
            data.code[own] == data.code[other]
            for own in np.flatnonzero(data.annotator == row.annotator)
            for other in items[int(data.example[own])]
            if other != own
        ]
        assert row.pairs == len(pairs)
        assert row.agreement_with_others == pytest.approx(np.mean(pairs))


def test_offset_spread_and_length_follow_their_definitions():
    data = small_project(4)
    items = by_item(data)
    value = data.positions[data.code]
    centre = value.mean()
    report = annotator_bias(data)
    for row in report.annotators:
        offsets, own_squares, others_squares, own_lengths, others_lengths = [], [], [], [], []
        for own in np.flatnonzero(data.annotator == row.annotator):
            rest = [r for r in items[int(data.example[own])] if r != own]
            if not rest:
                continue
            offsets.append(value[own] - sum(value[r] for r in rest) / len(rest))
            own_squares.append((value[own] - centre) ** 2)
            others_squares.append(sum((value[r] - centre) ** 2 for r in rest) / len(rest))
            own_lengths.append(data.text_length[own])
            others_lengths.append(sum(data.text_length[r] for r in rest) / len(rest))
        test = stats.ttest_1samp(offsets, 0.0)
        assert row.offset_items == len(offsets)
        assert row.offset == pytest.approx(sum(offsets) / len(offsets))
        assert row.offset_p == pytest.approx(test.pvalue)
        assert row.offset_ci == pytest.approx(list(test.confidence_interval(0.95)))
        assert row.spread_ratio == pytest.approx(np.sqrt(sum(own_squares) / sum(others_squares)))
        differences = np.subtract(own_squares, others_squares)
        assert row.spread_p == pytest.approx(stats.ttest_1samp(differences, 0.0).pvalue)
        assert row.length_ratio == pytest.approx(sum(own_lengths) / sum(others_lengths))
        assert row.mean == pytest.approx(value[data.annotator == row.annotator].mean())


def test_the_label_distribution_and_its_jensen_shannon_divergence():
    data = small_project(5, "label", items=400)
    report = annotator_bias(data)
    for row in report.annotators:
        mine = data.annotator == row.annotator
        own = np.bincount(data.code[mine], minlength=4)
        rest = np.bincount(data.code[~mine], minlength=4)
        assert row.label_distribution == pytest.approx(list(own / own.sum()))
        assert row.others_distribution == pytest.approx(list(rest / rest.sum()))
        # SciPy gives the Jensen–Shannon *distance*, the square root of the divergence.
        assert row.jsd == pytest.approx(jensenshannon(own, rest, base=2) ** 2)
        assert row.distribution_p == pytest.approx(stats.chi2_contingency([own, rest], correction=False).pvalue)


def test_time_on_task_and_very_fast_answers_are_relative_to_the_project():
    data = small_project(6, items=400)
    report = annotator_bias(data)
    project_median = np.nanmedian(data.duration_ms)
    assert report.median_duration_ms == pytest.approx(project_median)
    assert report.fast_below_ms == pytest.approx(0.25 * project_median)
    for row in report.annotators:
        mine = data.duration_ms[data.annotator == row.annotator]
        rest = data.duration_ms[data.annotator != row.annotator]
        mine, rest = mine[np.isfinite(mine)], rest[np.isfinite(rest)]
        fast, rest_fast = (mine < report.fast_below_ms).sum(), (rest < report.fast_below_ms).sum()
        assert row.timed == len(mine)
        assert row.median_duration_ms == pytest.approx(np.median(mine))
        assert row.fast_share == pytest.approx(fast / len(mine))
        table = [[fast, len(mine) - fast], [rest_fast, len(rest) - rest_fast]]
        assert row.fast_p == pytest.approx(stats.fisher_exact(table, alternative="greater").pvalue)


def test_the_left_share_leaves_out_ties_and_unknown_sides_and_uses_an_exact_binomial_test():
    columns, rng = simulate(8, "preference", annotators=4, items=200)
    picks_left(columns, np.flatnonzero(columns["annotator"] == 0), rng)
    columns["shown_left"][::7] = -1
    data = as_input("preference", columns)
    report = annotator_bias(data)
    for row in report.annotators:
        mine = (data.annotator == row.annotator) & (data.shown_left >= 0) & (data.code != TIE)
        left = int((data.code[mine] == data.shown_left[mine]).sum())
        assert row.sided == mine.sum()
        assert row.left_share == pytest.approx(left / mine.sum())
        assert row.left_p == pytest.approx(stats.binomtest(left, int(mine.sum()), 0.5).pvalue)
    assert row_of(report, 0).left_share > 0.7


def test_it_refuses_two_labels_of_one_example_by_one_annotator():
    with pytest.raises(ValueError, match="annotator 4 has two labels of example 9"):
        BiasInput(
            example=np.array([9, 9]),
            annotator=np.array([4, 4]),
            code=np.array([0, 1]),
            n_categories=2,
            submitted_at=np.full(2, START),
            duration_ms=np.full(2, np.nan),
        )


def test_figures_that_do_not_apply_are_none():
    data = small_project(9, "label")
    row = annotator_bias(replace(data, text_length=None)).annotators[0]
    assert row.offset is None and row.offset_ci is None and row.spread_ratio is None and row.mean is None
    assert row.left_share is None and row.sided == 0 and row.length_ratio is None


# Sessions, fatigue and drift ------------------------------------------------------------------------------------


def test_fatigue_reports_sessions_and_the_pace_within_them():
    columns, rng = simulate(7, "label", items=1500, session=100, noise=0.4)
    tired(columns, np.flatnonzero(columns["annotator"] == 0), rng)
    report = annotator_bias(as_input("label", columns))
    tired_one = report.fatigue[0]
    labels = int((columns["annotator"] == 0).sum())
    assert tired_one.annotator == 0 and tired_one.sessions == -(-labels // 100) and tired_one.longest_session == 100
    assert tired_one.agreement.decline > 0.2 and tired_one.agreement.p < 1e-5
    assert tired_one.duration_rho is not None and abs(tired_one.duration_rho) < 0.3
    assert all(row.agreement.p > 0.001 for row in report.fatigue[1:])


def test_the_report_is_plain_data_for_json():
    columns, rng = simulate(7, "preference")
    picks_left(columns, np.flatnonzero(columns["annotator"] == 0), rng)
    report = annotator_bias(as_input("preference", columns, slice=columns["example"] % 2))
    assert report.flags
    text = json.dumps(asdict(report), allow_nan=False)
    assert json.loads(text)["flags"][0]["kind"] == "position_bias"


def test_no_labels_make_an_empty_report():
    empty = np.array([], dtype=np.int64)
    data = BiasInput(
        example=empty,
        annotator=empty,
        code=empty,
        n_categories=5,
        submitted_at=np.array([], "datetime64[us]"),
        duration_ms=np.array([]),
        positions=np.arange(1.0, 6.0),
    )
    report = annotator_bias(data)
    assert (report.annotators, report.fatigue, report.flags, report.tests) == ([], [], [], 0)
