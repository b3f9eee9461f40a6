"""How much the annotators of each example disagree on one question, and what most of them said. Pure numpy.

The input is columnar (see annotate/labels.py): one row per current label, the example it belongs to and its
answer as a code (an index into the question's categories). Every example is measured in the same vectorised
pass, whether there is one (a submit refreshing its example) or a million (a rebuild).

The score is the item's observed disagreement in Krippendorff's sense (annotate/quality/alpha.py,
``per_item_disagreement``), so the review queue sorts by the very quantity alpha sums: nominal questions,
1 − the share of annotator pairs that gave the same answer; ordered questions (ordinal, interval), the mean over
pairs of the squared distance between the answers' places on the scale, over the squared span; ratio questions,
the mean ratio distance. Rankings: the mean normalised Kendall distance between pairs of rankings. 0 is full
agreement, 1 the most disagreement there can be.
The consensus is the most common answer; a tie goes to the answer given first (rows come in submission order).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Literal

import numpy as np
import numpy.typing as npt

from annotate.quality.alpha import Level, pairable, per_item_disagreement

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
# Stored scores are rounded so that equal disagreements compare equal (the review queue sorts and pages by them).
DECIMALS = 6


@dataclass(frozen=True)
class Scale:
    """How the answers of a question compare. ``ordered``: ``positions[code]`` on a scale ``span`` long, measured
    at ``level`` (for the ratio level the positions are the values themselves, from their true zero).
    ``ranking``: ``rankings[code]`` lists response indices, best first. ``nominal``: equal or not."""

    kind: Literal["nominal", "ordered", "ranking"]
    positions: Floats | None = None
    span: float = 0.0
    rankings: Sequence[Sequence[int]] | None = None
    level: Level = "interval"


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


def _measured(example: Ints, code: Ints, sizes: Ints, scale: Scale) -> Floats:
    """Each example's observed disagreement (examples with one label: 0)."""
    n_codes = int(code.max(initial=-1)) + 1
    counts = pairable(example, code, n_codes)
    if scale.kind == "ordered":
        assert scale.positions is not None
        level, values = scale.level, scale.positions
    else:
        level, values = "nominal", np.arange(n_codes, dtype=np.float64)
    score = np.zeros(len(sizes))
    score[sizes >= 2] = per_item_disagreement(counts, level, values, scale.span)
    return score


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
    else:
        disagreement = _measured(example_ids, codes, sizes, scale)
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
