from __future__ import annotations

import pytest

from annotate.answers import AnswerError, check_answers, check_display_order
from annotate.questions import parse_questions

SPECS = parse_questions(
    [
        {"name": "quality", "kind": "rating", "min": 1, "max": 5},
        {"name": "topic", "kind": "label", "labels": ["code", "math"]},
        {"name": "issues", "kind": "multi_label", "labels": ["wrong", "verbose", "unsafe"], "required": False},
        {"name": "better", "kind": "preference"},
        {"name": "order", "kind": "ranking", "required": False},
        {"name": "rewrite", "kind": "text", "required": False},
    ]
)
CANDIDATES = {"prompt": "p", "responses": ["r0", "r1", "r2"]}
INSTRUCTION = {"prompt": "p", "response": "r"}


def test_it_accepts_a_full_set_of_answers_for_candidates():
    answers = {"quality": 4, "topic": "code", "issues": ["unsafe", "wrong"], "better": "b", "order": [2, 0, 1]}
    checked = check_answers(SPECS, answers, CANDIDATES)
    assert checked["issues"] == ["wrong", "unsafe"]  # kept in the question's label order
    assert checked["order"] == [2, 0, 1]


def test_it_does_not_ask_preference_questions_of_examples_without_candidates():
    assert check_answers(SPECS, {"quality": 2, "topic": "math"}, INSTRUCTION) == {"quality": 2, "topic": "math"}
    with pytest.raises(AnswerError) as error:
        check_answers(SPECS, {"quality": 2, "topic": "math", "better": "a"}, INSTRUCTION)
    assert error.value.question == "better"


@pytest.mark.parametrize(
    ("answers", "question"),
    [
        ({"topic": "code", "better": "a"}, "quality"),
        ({"quality": 6, "topic": "code", "better": "a"}, "quality"),
        ({"quality": True, "topic": "code", "better": "a"}, "quality"),
        ({"quality": 3, "topic": "art", "better": "a"}, "topic"),
        ({"quality": 3, "topic": "code", "better": "c"}, "better"),
        ({"quality": 3, "topic": "code", "better": "a", "issues": ["bad"]}, "issues"),
        ({"quality": 3, "topic": "code", "better": "a", "issues": ["wrong", "wrong"]}, "issues"),
        ({"quality": 3, "topic": "code", "better": "a", "order": [0, 1]}, "order"),
        ({"quality": 3, "topic": "code", "better": "a", "rewrite": 5}, "rewrite"),
        ({"quality": 3, "topic": "code", "better": "a", "colour": "red"}, "colour"),
    ],
)
def test_it_names_the_question_of_a_bad_answer(answers, question):
    with pytest.raises(AnswerError) as error:
        check_answers(SPECS, answers, CANDIDATES)
    assert error.value.question == question


def test_it_wants_answers_as_an_object():
    with pytest.raises(AnswerError):
        check_answers(SPECS, ["quality", 3], CANDIDATES)


def test_it_checks_the_display_order_is_a_permutation():
    assert check_display_order([2, 0, 1], CANDIDATES) == [2, 0, 1]
    assert check_display_order(None, CANDIDATES) is None
    assert check_display_order([1, 0], INSTRUCTION) is None
    with pytest.raises(AnswerError):
        check_display_order([0, 0, 1], CANDIDATES)
