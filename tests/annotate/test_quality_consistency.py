"""An annotator's consistency with themselves (annotate/quality/consistency.py), on small hand-made cases."""

from __future__ import annotations

import numpy as np

from annotate.quality.consistency import Cycle, Inconsistency, inconsistent_answers, preference_cycles

A, TIE, B = 0, 1, 2  # annotate.questions.PREFERENCE_SCALE


def answers(rows):
    """(example, annotator, prompt, code) rows as the keyword columns."""
    example, annotator, prompt, code = (np.array(column, dtype=np.int64) for column in zip(*rows, strict=True))
    return {"example": example, "annotator": annotator, "prompt": prompt, "code": code}


def test_it_reports_the_same_prompt_answered_differently_by_one_annotator():
    found = inconsistent_answers(
        **answers(
            [
                (12, 1, 500, 2),
                (10, 1, 500, 0),
                (11, 1, 500, 2),
                (10, 2, 500, 1),  # another annotator, one answer each: nothing to compare with
                (13, 2, 501, 3),
                (14, 2, 501, 3),  # the same answer twice: consistent
                (15, 3, -1, 0),
                (16, 3, -1, 1),  # no prompt key: not compared
            ]
        )
    )
    assert found == [Inconsistency(annotator=1, prompt=500, examples=[10, 11, 12], answers=[0, 2, 2])]


def test_it_finds_nothing_in_one_label_or_none():
    assert inconsistent_answers(**answers([(1, 1, 1, 1)])) == []
    empty = np.array([], dtype=np.int64)
    assert inconsistent_answers(example=empty, annotator=empty, prompt=empty, code=empty) == []
    assert (
        preference_cycles(
            example=empty, annotator=empty, prompt=empty, response_a=empty, response_b=empty, answer=empty
        )
        == []
    )


def preferences(rows):
    """(example, annotator, prompt, response a, response b, answer) rows as the keyword columns."""
    columns = (np.array(column, dtype=np.int64) for column in zip(*rows, strict=True))
    return dict(zip(["example", "annotator", "prompt", "response_a", "response_b", "answer"], columns, strict=True))


def test_it_finds_a_three_way_cycle_whichever_side_each_response_was_on():
    found = preference_cycles(
        **preferences(
            [
                (1, 7, 40, 100, 101, A),  # 100 > 101
                (2, 7, 40, 102, 101, B),  # 101 > 102
                (3, 7, 40, 100, 102, B),  # 102 > 100
            ]
        )
    )
    assert found == [Cycle(annotator=7, prompt=40, responses=[100, 101, 102], examples=[1, 2, 3])]


def test_a_transitive_order_ties_and_other_annotators_make_no_cycle():
    found = preference_cycles(
        **preferences(
            [
                (1, 7, 40, 100, 101, A),
                (2, 7, 40, 101, 102, A),
                (3, 7, 40, 100, 102, A),  # 100 > 101 > 102, and 100 > 102: transitive
                (4, 7, 41, 100, 101, A),
                (5, 7, 41, 101, 102, A),
                (6, 7, 41, 102, 100, TIE),  # a tie closes no cycle
                (7, 8, 42, 100, 101, A),
                (8, 8, 42, 101, 102, A),
                (9, 9, 42, 102, 100, A),  # the closing preference is another annotator's
            ]
        )
    )
    assert found == []


def test_it_finds_a_response_both_better_and_worse_than_another():
    found = preference_cycles(
        **preferences(
            [
                (5, 3, 40, 100, 101, A),
                (9, 3, 40, 101, 100, A),
                (6, 3, 40, 100, 101, A),  # a repeat of the first: reported with its first example, 5
            ]
        )
    )
    assert found == [Cycle(annotator=3, prompt=40, responses=[100, 101], examples=[5, 9])]


def test_it_reports_each_cycle_once_per_annotator_and_prompt():
    cycle = [(100, 101, A), (101, 102, A), (102, 100, A)]
    rows = [
        (example, annotator, prompt, a, b, answer)
        for example, (annotator, prompt, (a, b, answer)) in enumerate(
            ((annotator, prompt, step) for annotator in (2, 1) for prompt in (9, 8) for step in cycle), start=1
        )
    ]
    found = preference_cycles(**preferences(rows))
    assert [(c.annotator, c.prompt, c.responses) for c in found] == [
        (1, 8, [100, 101, 102]),
        (1, 9, [100, 101, 102]),
        (2, 8, [100, 101, 102]),
        (2, 9, [100, 101, 102]),
    ]
    assert found[0].examples == [10, 11, 12]


def test_responses_in_a_cycle_start_from_the_lowest_in_the_order_of_the_cycle():
    found = preference_cycles(
        **preferences([(1, 1, 1, 300, 200, A), (2, 1, 1, 200, 100, A), (3, 1, 1, 100, 300, A), (4, 1, 1, 400, 100, A)])
    )
    # 300 > 200 > 100 > 300; 400 > 100 takes no part.
    assert found == [Cycle(annotator=1, prompt=1, responses=[100, 300, 200], examples=[3, 1, 2])]
