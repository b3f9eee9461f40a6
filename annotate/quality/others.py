"""How each label compares with the other annotators' labels of the same item. Pure numpy.

Annotator statistics compare every label with the labels *others* gave the same item, never with a consensus the
label itself helped make: an annotator would otherwise agree with themselves. Each example has at most one label
per annotator (current labels: one annotation per example and annotator), so "the others" are the item's other
rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
NO_MAJORITY = -1


@dataclass(frozen=True)
class Others:
    """Per row (in input order): ``item`` indexes the distinct examples (ascending by id); ``count`` is how many
    other labels the item has and ``agreeing`` how many of them give the row's answer; ``majority`` is the code
    most of the others gave, NO_MAJORITY when there are no others or their most common answers tie."""

    item: Ints
    items: int
    count: Ints
    agreeing: Ints
    majority: Ints


def compare_with_others(example: Ints, code: Ints) -> Others:
    """The leave-one-out comparison of every row with the other rows of its example."""
    if len(code) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Others(item=empty, items=0, count=empty, agreeing=empty, majority=empty)
    _, item = np.unique(example, return_inverse=True)
    item = item.astype(np.int64)
    items = int(item.max(initial=-1)) + 1
    size = np.bincount(item, minlength=items)
    # Runs of one answer within one item: the count of each (item, answer).
    order = np.lexsort((code, item))
    sorted_item, sorted_code = item[order], code[order]
    starts_run = np.r_[True, (sorted_item[1:] != sorted_item[:-1]) | (sorted_code[1:] != sorted_code[:-1])]
    run_start = np.flatnonzero(starts_run)
    run_size = np.diff(np.r_[run_start, len(code)]).astype(np.int64)
    run_item, run_code = sorted_item[run_start], sorted_code[run_start]
    own_count = np.empty(len(code), dtype=np.int64)
    own_count[order] = run_size[np.cumsum(starts_run) - 1]
    top, top_code, second, second_code, third = _three_largest(run_item, run_code, run_size, items)
    majority = _leave_one_out_majority(
        code, own_count, top[item], top_code[item], second[item], second_code[item], third[item]
    )
    return Others(item=item, items=items, count=size[item] - 1, agreeing=own_count - 1, majority=majority)


def _three_largest(run_item: Ints, run_code: Ints, run_size: Ints, items: int) -> tuple[Ints, Ints, Ints, Ints, Ints]:
    """Per item, the counts of its three most common answers (0 where it has fewer) and the codes of the first
    two (NO_MAJORITY where absent)."""
    by_size = np.lexsort((-run_size, run_item))
    ranked_item, ranked_code, ranked_size = run_item[by_size], run_code[by_size], run_size[by_size]
    first_of_item = np.flatnonzero(np.r_[True, ranked_item[1:] != ranked_item[:-1]])
    rank = np.arange(len(ranked_item)) - np.repeat(first_of_item, np.diff(np.r_[first_of_item, len(ranked_item)]))
    counts = np.zeros((3, items), dtype=np.int64)
    codes = np.full((2, items), NO_MAJORITY, dtype=np.int64)
    for place in range(3):
        at = rank == place
        counts[place, ranked_item[at]] = ranked_size[at]
        if place < 2:
            codes[place, ranked_item[at]] = ranked_code[at]
    return counts[0], codes[0], counts[1], codes[1], counts[2]


def _leave_one_out_majority(
    code: Ints, own: Ints, top: Ints, top_code: Ints, second: Ints, second_code: Ints, third: Ints
) -> Ints:
    """The others' majority for each row, from the item's largest answer counts. Taking the row's own label out
    lowers its answer's count by one and leaves the rest alone, so:
    - the row gave the single most common answer: it stays the others' majority only if it still beats the runner-up
      (top − 1 > second); at top − 1 == second the others tie (or, with second == 0, there are no others);
    - the row gave one of exactly two answers tied for most common: the other of the two is the majority;
    - three or more answers tied for most common, or the row's answer below a tie at the top: the others tie;
    - otherwise (the row's answer below a single most common one) that one is the majority."""
    tied_at_top = second == top
    three_tied = tied_at_top & (third == top)
    own_is_top = own == top
    other_of_two = np.where(code == top_code, second_code, top_code)
    majority = np.where(
        own_is_top,
        np.where(
            tied_at_top, np.where(three_tied, NO_MAJORITY, other_of_two), np.where(top - 1 > second, code, NO_MAJORITY)
        ),
        np.where(tied_at_top, NO_MAJORITY, top_code),
    )
    return majority.astype(np.int64)


def others_mean(others: Others, values: Floats) -> Floats:
    """Per row, the mean of the other rows' values on the same item (NaN values left out); NaN where there are
    none. ``values`` are per row, in input order."""
    known = np.isfinite(values)
    clean = np.where(known, values, 0.0)
    total = np.bincount(others.item, weights=clean, minlength=others.items)
    count = np.bincount(others.item, weights=known.astype(np.float64), minlength=others.items)
    other_total = total[others.item] - clean
    other_count = count[others.item] - known
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(other_count > 0, other_total / other_count, np.nan)


def annotator_effects(item: Ints, annotator: Ints, values: Floats) -> Floats:
    """Per row, its annotator's leniency (+) or severity (−) on the scale: the annotator effect of the additive
    model value = item effect + annotator effect, fitted by least squares on all the labels and centred on the
    median annotator. Unlike the raw offset from the others' mean, it is not pulled by a biased co-annotator: one
    lenient annotator among honest ones gets the whole effect, the honest ones about none.

    The item effects are eliminated exactly (each is its labels' mean less their annotators' effects), which
    leaves a system of one equation per annotator: (diag(labels per annotator) − Bᵀ diag(1/m) B) b = r, with B
    the items × annotators incidence and m the labels per item. It is small (annotators × annotators) and is
    solved directly (least squares: the effects are defined up to a constant, fixed by the centring)."""
    if len(values) == 0:
        return np.zeros(0)
    _, who = np.unique(annotator, return_inverse=True)
    who = who.ravel()
    items, people = int(item.max()) + 1, int(who.max()) + 1
    per_item = np.bincount(item, minlength=items).astype(np.float64)
    incidence = sparse.csr_array((np.ones(len(item)), (item, who)), shape=(items, people))
    weighted = sparse.diags_array(1.0 / np.maximum(per_item, 1.0)) @ incidence
    system = np.diag(np.bincount(who, minlength=people).astype(np.float64)) - (incidence.T @ weighted).toarray()
    item_totals = np.bincount(item, weights=values, minlength=items)
    right = np.bincount(who, weights=values, minlength=people) - incidence.T @ (item_totals / np.maximum(per_item, 1))
    effect = np.linalg.lstsq(system, right, rcond=None)[0]
    effect -= np.median(effect)
    return np.asarray(effect[who], dtype=np.float64)
