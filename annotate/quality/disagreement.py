"""How much the annotators of each example disagree on one question, and what most of them said. Pure numpy.

The input is columnar (see annotate/labels.py): one row per current label, the example it belongs to and its
answer as a code (an index into the question's categories). Every example is measured in the same vectorised
pass, whether there is one (a submit refreshing its example) or a million (a rebuild).

Nominal questions: 1 − the share of annotator pairs that gave the same answer. Ordered questions (ordinal,
interval, ratio): the spread of the answers (highest − lowest) as a share of the scale. Rankings: the mean
normalised Kendall distance between pairs of rankings. 0 is full agreement, 1 the most disagreement there can be.
The consensus is the most common answer; a tie goes to the answer given first (rows come in submission order).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Literal

import numpy as np
import numpy.typing as npt

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
# Stored scores are rounded so that equal disagreements compare equal (the review queue sorts and pages by them).
DECIMALS = 6


@dataclass(frozen=True)
class Scale:
    """How the answers of a question compare. ``ordered``: ``positions[code]`` on a scale ``span`` long.
    ``ranking``: ``rankings[code]`` lists response indices, best first. ``nominal``: equal or not."""

    kind: Literal["nominal", "ordered", "ranking"]
    positions: Floats | None = None
    span: float = 0.0
    rankings: Sequence[Sequence[int]] | None = None


@dataclass(frozen=True)
class PerExample:
    """One entry per example that has labels, ascending by example id."""

    example: Ints
    labels: Ints
    disagreement: Floats
    consensus: Ints  # the code of the most common answer
    consensus_share: Floats


def _groups(example: Ints) -> tuple[Ints, Ints]:
    """Start row and size of each run of equal example ids (rows sorted by example)."""
    starts = np.flatnonzero(np.r_[True, example[1:] != example[:-1]]).astype(np.int64)
    sizes = np.diff(np.r_[starts, len(example)]).astype(np.int64)
    return starts, sizes


def _pairs(sizes: Ints) -> Floats:
    return (sizes * (sizes - 1) / 2).astype(np.float64)


def _nominal(group: Ints, code: Ints, sizes: Ints) -> Floats:
    """1 − agreeing pairs / pairs, from the count of each answer within each example."""
    order = np.lexsort((code, group))
    g, c = group[order], code[order]
    run_starts = np.flatnonzero(np.r_[True, (g[1:] != g[:-1]) | (c[1:] != c[:-1])])
    run_sizes = np.diff(np.r_[run_starts, len(g)])
    agreeing = np.zeros(len(sizes))
    np.add.at(agreeing, g[run_starts], run_sizes * (run_sizes - 1) / 2)
    pairs = _pairs(sizes)
    return np.where(pairs > 0, 1.0 - agreeing / np.maximum(pairs, 1), 0.0)


def _spread(code: Ints, starts: Ints, sizes: Ints, scale: Scale) -> Floats:
    assert scale.positions is not None
    position = scale.positions[code]
    spread = np.maximum.reduceat(position, starts) - np.minimum.reduceat(position, starts)
    if scale.span <= 0:
        return np.zeros(len(sizes))
    return np.where(sizes > 1, spread / scale.span, 0.0)


def kendall_distance(first: Sequence[int], second: Sequence[int]) -> float:
    """The share of item pairs two rankings order differently (0: the same order, 1: reversed)."""
    position = {item: index for index, item in enumerate(second)}
    pairs = list(combinations(first, 2))
    if not pairs:
        return 0.0
    return sum(1 for x, y in pairs if position[x] > position[y]) / len(pairs)


def _rankings(group: Ints, code: Ints, sizes: Ints, scale: Scale) -> Floats:
    """The mean Kendall distance over every pair of rankings within each example. Each distinct pair of rankings
    is measured once: annotators of one example tend to give few distinct rankings."""
    assert scale.rankings is not None
    rankings = scale.rankings
    total = np.zeros(len(sizes))
    for offset in range(1, int(sizes.max(initial=1))):
        same = group[offset:] == group[:-offset]
        if not same.any():
            break
        left, right = code[:-offset][same], code[offset:][same]
        keys = left * len(rankings) + right
        unique, inverse = np.unique(keys, return_inverse=True)
        distances = np.array(
            [kendall_distance(rankings[k // len(rankings)], rankings[k % len(rankings)]) for k in unique]
        )
        np.add.at(total, group[:-offset][same], distances[inverse])
    pairs = _pairs(sizes)
    return np.where(pairs > 0, total / np.maximum(pairs, 1), 0.0)


def _consensus(group: Ints, code: Ints, sizes: Ints) -> tuple[Ints, Floats]:
    """The most common code per example and its share; ties go to the code whose first label came first."""
    row = np.arange(len(code))
    order = np.lexsort((row, code, group))
    g, c, r = group[order], code[order], row[order]
    run_starts = np.flatnonzero(np.r_[True, (g[1:] != g[:-1]) | (c[1:] != c[:-1])])
    run_sizes = np.diff(np.r_[run_starts, len(g)])
    run_group, run_code, run_first = g[run_starts], c[run_starts], r[run_starts]
    # Per example: the largest run, then the earliest first label.
    best = np.lexsort((run_first, -run_sizes, run_group))
    first_of_group = np.r_[True, run_group[best][1:] != run_group[best][:-1]]
    chosen = best[first_of_group]
    return run_code[chosen].astype(np.int64), run_sizes[chosen] / sizes


def per_example(example: npt.ArrayLike, code: npt.ArrayLike, scale: Scale) -> PerExample:
    """Disagreement and consensus of every example among the rows; rows of one example in submission order."""
    example_ids = np.asarray(example, dtype=np.int64)
    codes = np.asarray(code, dtype=np.int64)
    if len(example_ids) == 0:
        empty = np.zeros(0)
        return PerExample(example_ids, example_ids.copy(), empty, example_ids.copy(), empty.copy())
    by_example = np.argsort(example_ids, kind="stable")  # keeps submission order within each example
    example_ids, codes = example_ids[by_example], codes[by_example]
    starts, sizes = _groups(example_ids)
    group = np.repeat(np.arange(len(starts), dtype=np.int64), sizes)
    if scale.kind == "ranking":
        disagreement = _rankings(group, codes, sizes, scale)
    elif scale.kind == "ordered":
        disagreement = _spread(codes, starts, sizes, scale)
    else:
        disagreement = _nominal(group, codes, sizes)
    consensus, share = _consensus(group, codes, sizes)
    # Clipped apart from the rounding: numpy's stubs type the nested call as float16.
    clipped = np.clip(disagreement, 0.0, 1.0)
    return PerExample(
        example=example_ids[starts],
        labels=sizes,
        disagreement=np.round(clipped, DECIMALS),
        consensus=consensus,
        consensus_share=np.round(share, DECIMALS),
    )
