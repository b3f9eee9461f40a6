"""Disagreement and consensus kernels (annotate/quality/disagreement.py), over the columns the labels layer makes.

Small cases are checked by hand; many random examples at once are checked against a plain, pair-by-pair
reference written from the definitions, so the vectorised kernel is right for every kind of question.
"""

from __future__ import annotations

import random
from collections import Counter
from itertools import combinations, permutations

import numpy as np
import orjson
import pytest

from annotate.labels import _code, _texts, scale_of
from annotate.quality.alpha import krippendorff_alpha, pairable
from annotate.quality.disagreement import kendall_distance, per_example
from annotate.questions import parse_question

RATING = parse_question({"name": "q", "kind": "rating", "min": 1, "max": 5})
INTERVAL_RATING = parse_question({"name": "q", "kind": "rating", "min": 0, "max": 100, "level": "interval"})
INTERVAL_1_TO_5 = parse_question({"name": "q", "kind": "rating", "min": 1, "max": 5, "level": "interval"})
RATIO_RATING = parse_question({"name": "q", "kind": "rating", "min": 0, "max": 100, "level": "ratio"})
LABEL = parse_question({"name": "q", "kind": "label", "labels": ["a", "b", "c"]})
ORDINAL_LABEL = parse_question({"name": "q", "kind": "label", "labels": ["low", "mid", "high"], "level": "ordinal"})
MULTI = parse_question({"name": "q", "kind": "multi_label", "labels": ["x", "y", "z"]})
PREFERENCE = parse_question({"name": "q", "kind": "preference"})
ORDINAL_PREFERENCE = parse_question({"name": "q", "kind": "preference", "level": "ordinal"})
RANKING = parse_question({"name": "q", "kind": "ranking"})


def as_text(spec, value) -> str:
    """The answer as PostgreSQL's ->> gives it to the labels layer."""
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def measure(spec, examples: dict[int, list]):
    rows = [(example, value) for example, values in examples.items() for value in values]
    codes, categories = _code(spec, _texts([as_text(spec, value) for _, value in rows]))
    result = per_example([example for example, _ in rows], codes, scale_of(spec, categories))
    return {
        int(example): (float(score), categories[int(code)], float(share))
        for example, score, code, share in zip(
            result.example, result.disagreement, result.consensus, result.consensus_share, strict=True
        )
    }


def disagreement(spec, values):
    return measure(spec, {1: values})[1][0]


def test_it_measures_nominal_disagreement_as_the_share_of_disagreeing_pairs():
    assert disagreement(LABEL, ["a", "a", "a"]) == 0
    assert disagreement(LABEL, ["a", "a", "b"]) == pytest.approx(2 / 3)  # 1 of 3 pairs agrees
    assert disagreement(LABEL, ["a", "b", "c"]) == 1
    assert disagreement(PREFERENCE, ["a", "tie"]) == 1


def test_it_measures_ordered_disagreement_as_mean_squared_distance_over_the_scale():
    assert disagreement(RATING, [3, 3]) == 0
    assert disagreement(RATING, [2, 3, 4]) == pytest.approx((1 + 4 + 1) / 3 / 16)
    assert disagreement(RATING, [1, 5]) == 1
    assert disagreement(ORDINAL_LABEL, ["low", "mid"]) == pytest.approx(0.25)
    assert disagreement(ORDINAL_PREFERENCE, ["a", "tie"]) == pytest.approx(0.25)
    assert disagreement(INTERVAL_RATING, [10, 35]) == pytest.approx(0.0625)
    assert disagreement(RATIO_RATING, [10, 30]) == pytest.approx(0.25)  # ((30 − 10) / (30 + 10))²


def test_the_stored_score_is_the_items_share_of_krippendorffs_observed_disagreement():
    # Summed over items with weights (m − 1)·m / (m − 1) = m and divided by n, the stored scores times span² are
    # alpha's D_o: the queue sorts by the very quantity alpha measures.
    examples = {1: [1, 5, 5], 2: [2, 2], 3: [3, 4, 1, 2]}
    found = measure(INTERVAL_1_TO_5, examples)
    observed = sum(found[e][0] * 16 * len(v) for e, v in examples.items()) / sum(len(v) for v in examples.values())
    items = np.repeat(list(examples), [len(v) for v in examples.values()])
    codes = np.concatenate([np.array(v) - 1 for v in examples.values()])
    alpha = krippendorff_alpha(pairable(items, codes, 5), "interval", np.arange(1.0, 6.0))
    assert observed == pytest.approx(alpha.observed / sum(len(v) for v in examples.values()))


def test_it_compares_label_sets_whole():
    assert disagreement(MULTI, [["x", "y"], ["x", "y"]]) == 0
    assert disagreement(MULTI, [["x"], ["x", "y"]]) == 1


def test_it_measures_rankings_by_kendall_distance():
    assert disagreement(RANKING, [[0, 1, 2], [0, 1, 2]]) == 0
    assert disagreement(RANKING, [[0, 1, 2], [2, 1, 0]]) == 1
    assert disagreement(RANKING, [[0, 1, 2], [1, 0, 2]]) == pytest.approx(1 / 3)


def test_it_needs_two_answers_to_disagree():
    assert measure(LABEL, {7: ["a"]}) == {7: (0.0, "a", 1.0)}


def test_it_finds_the_most_common_answer_and_its_share():
    found = measure(LABEL, {1: ["a", "b", "a"], 2: ["b", "a"], 3: ["c", "c"]})
    assert found[1][1:] == ("a", pytest.approx(2 / 3))
    assert found[2][1:] == ("b", 0.5), "a tie goes to the answer given first"
    assert found[3][1:] == ("c", 1.0)
    assert measure(MULTI, {1: [["x"], ["x"]]})[1][1:] == (["x"], 1.0)


def test_it_measures_no_labels_as_no_examples():
    result = per_example([], [], scale_of(LABEL, ["a"]))
    assert len(result.example) == 0


# Against a pair-by-pair reference ----------------------------------------------------------------------------


def reference(spec, values):
    """Disagreement and consensus straight from the definitions, one example at a time."""
    pairs = list(combinations(values, 2))
    if spec.kind == "ranking":
        score = sum(kendall_distance(a, b) for a, b in pairs) / len(pairs) if pairs else 0.0
    elif spec.level in (None, "nominal") or spec.kind == "multi_label":
        score = 1 - sum(a == b for a, b in pairs) / len(pairs) if pairs else 0.0
    else:
        if spec.kind == "rating":
            position, span = (lambda v: v - spec.options["min"]), spec.options["max"] - spec.options["min"]
        elif spec.kind == "preference":
            position, span = {"a": 0, "tie": 1, "b": 2}.__getitem__, 2
        else:
            position, span = spec.options["labels"].index, len(spec.options["labels"]) - 1
        if spec.level == "ratio":
            distance = [((a - b) / (a + b)) ** 2 if a + b else 0.0 for a, b in pairs]
        else:
            distance = [((position(a) - position(b)) / span) ** 2 for a, b in pairs]
        score = sum(distance) / len(pairs) if pairs else 0.0
    keys = [orjson.dumps(v) for v in values]
    counts = Counter(keys)
    best = max(counts.values())
    first = next(v for v, k in zip(values, keys, strict=True) if counts[k] == best)
    return round(score, 6), first, round(best / len(values), 6)


def random_answer(spec, rng):
    if spec.kind == "rating":
        return rng.randint(spec.options["min"], spec.options["max"])
    if spec.kind == "label":
        return rng.choice(spec.options["labels"])
    if spec.kind == "preference":
        return rng.choice(["a", "b", "tie"])
    if spec.kind == "multi_label":
        return [label for label in spec.options["labels"] if rng.random() < 0.5]
    return list(rng.choice(list(permutations(range(4)))))


@pytest.mark.parametrize(
    "spec",
    [RATING, INTERVAL_RATING, RATIO_RATING, LABEL, ORDINAL_LABEL, MULTI, PREFERENCE, ORDINAL_PREFERENCE, RANKING],
)
def test_it_agrees_with_the_reference_on_many_random_examples(spec):
    rng = random.Random(spec.kind + str(spec.level))
    examples = {rng.randrange(10**9): [random_answer(spec, rng) for _ in range(rng.randint(1, 7))] for _ in range(500)}
    found = measure(spec, examples)
    assert found.keys() == examples.keys()
    for example, values in examples.items():
        score, consensus, share = reference(spec, values)
        assert found[example][0] == pytest.approx(score, abs=1e-6), (values, found[example])
        assert found[example][1] == consensus, values
        assert found[example][2] == pytest.approx(share, abs=1e-6)
