from __future__ import annotations

import pytest

from annotate.disagreement import consensus, disagreement
from annotate.questions import parse_question

RATING = parse_question({"name": "q", "kind": "rating", "min": 1, "max": 5})
LABEL = parse_question({"name": "q", "kind": "label", "labels": ["a", "b", "c"]})
ORDINAL_LABEL = parse_question({"name": "q", "kind": "label", "labels": ["low", "mid", "high"], "level": "ordinal"})
MULTI = parse_question({"name": "q", "kind": "multi_label", "labels": ["x", "y"]})
RANKING = parse_question({"name": "q", "kind": "ranking"})


def test_it_measures_nominal_disagreement_as_the_share_of_disagreeing_pairs():
    assert disagreement(LABEL, ["a", "a", "a"]) == 0
    assert disagreement(LABEL, ["a", "a", "b"]) == pytest.approx(2 / 3)  # 1 of 3 pairs agrees
    assert disagreement(LABEL, ["a", "b", "c"]) == 1


def test_it_measures_ordinal_disagreement_as_spread_over_the_scale():
    assert disagreement(RATING, [3, 3]) == 0
    assert disagreement(RATING, [2, 3, 4]) == pytest.approx(0.5)
    assert disagreement(RATING, [1, 5]) == 1
    assert disagreement(ORDINAL_LABEL, ["low", "mid"]) == pytest.approx(0.5)


def test_it_compares_label_sets_whole():
    assert disagreement(MULTI, [["x", "y"], ["x", "y"]]) == 0
    assert disagreement(MULTI, [["x"], ["x", "y"]]) == 1


def test_it_measures_rankings_by_kendall_distance():
    assert disagreement(RANKING, [[0, 1, 2], [0, 1, 2]]) == 0
    assert disagreement(RANKING, [[0, 1, 2], [2, 1, 0]]) == 1
    assert disagreement(RANKING, [[0, 1, 2], [1, 0, 2]]) == pytest.approx(1 / 3)


def test_it_needs_two_answers_to_disagree():
    assert disagreement(LABEL, ["a"]) == 0
    assert disagreement(LABEL, ["a", None]) == 0


def test_it_finds_the_most_common_answer_and_its_share():
    assert consensus(["a", "b", "a"]) == ("a", pytest.approx(2 / 3))
    assert consensus([["x"], ["x"]]) == (["x"], 1.0)
    assert consensus(["b", "a"]) == ("b", 0.5)  # a tie goes to the answer given first
    assert consensus([]) == (None, 0.0)
