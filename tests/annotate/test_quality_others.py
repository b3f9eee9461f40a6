"""The leave-one-out comparison of each label with the other labels of its item (annotate/quality/others.py),
against a plain loop written from the definitions."""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
import pytest

from annotate.quality.others import NO_MAJORITY, compare_with_others, others_mean


def loo_majority(example, code):
    """Per row, straight from the definition: the single most common answer of the item's other labels, -1 where
    they tie or there are none."""
    items = defaultdict(list)
    for row, item in enumerate(example):
        items[int(item)].append(row)
    majority = []
    for row, item in enumerate(example):
        others = Counter(int(code[other]) for other in items[int(item)] if other != row)
        top = max(others.values(), default=0)
        winners = [answer for answer, count in others.items() if count == top]
        majority.append(winners[0] if len(winners) == 1 else NO_MAJORITY)
    return np.array(majority)


def random_items(seed, items=3000):
    """Items of 1 to 7 labels from 4 answers, so that every way of tying occurs, rows of one item not together."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 8, items)
    example = np.repeat(rng.permutation(items * 5)[:items], sizes)
    code = rng.integers(0, 4, len(example))
    shuffle = rng.permutation(len(example))
    return example[shuffle], code[shuffle]


def test_the_majority_and_counts_follow_their_definitions():
    example, code = random_items(1)
    others = compare_with_others(example, code)
    np.testing.assert_array_equal(others.majority, loo_majority(example, code))
    for row in range(len(example)):
        rest = np.flatnonzero((example == example[row]) & (np.arange(len(example)) != row))
        assert others.count[row] == len(rest)
        assert others.agreeing[row] == (code[rest] == code[row]).sum()
    assert others.items == len(np.unique(example))


def test_the_majority_of_the_others_leaves_the_label_itself_out():
    # One item: 0, 0, 1. Each 0 sees the others 0 and 1 (a tie); the 1 sees 0 and 0.
    assert list(compare_with_others(np.array([5, 5, 5]), np.array([0, 0, 1])).majority) == [-1, -1, 0]
    # 0, 0, 1, 1: each label sees a single most common answer, the other one's.
    assert list(compare_with_others(np.array([5, 5, 5, 5]), np.array([0, 0, 1, 1])).majority) == [1, 1, 0, 0]
    # 0, 1, 2: every label's others tie.  A label alone has no others.
    assert list(compare_with_others(np.array([5, 5, 5, 6]), np.array([0, 1, 2, 0])).majority) == [-1, -1, -1, -1]


def test_the_mean_of_the_others_leaves_out_unknown_values():
    example = np.array([1, 1, 1, 2])
    value = np.array([1.0, 3.0, np.nan, 4.0])
    found = others_mean(compare_with_others(example, np.zeros(4, np.int64)), value)
    np.testing.assert_array_equal(found, [3.0, 1.0, 2.0, np.nan])


def test_no_labels_have_no_others():
    empty = np.array([], dtype=np.int64)
    others = compare_with_others(empty, empty)
    assert others.items == 0 and len(others.majority) == 0


def test_annotator_effects_recover_an_additive_model_on_an_incomplete_design():
    from annotate.quality.others import annotator_effects

    rng = np.random.default_rng(9)
    true_effect = np.array([0.0, 0.0, 0.5, -1.0, 0.0])  # median 0: the centring keeps them as they are
    item, annotator = [], []
    for example in range(300):
        for person in rng.choice(5, size=3, replace=False):
            item.append(example)
            annotator.append(person * 7 + 3)  # ids need not be 0..n-1
    item, annotator = np.array(item), np.array(annotator)
    item_effect = rng.normal(3, 1, size=300)
    values = item_effect[item] + true_effect[(annotator - 3) // 7]

    found = annotator_effects(item, annotator, values)

    assert found == pytest.approx(true_effect[(annotator - 3) // 7], abs=1e-9)
