"""Krippendorff's alpha over columns of ratings, with a bootstrap interval. Pure numpy and scipy; no Django.

A rating is one row: the item it rates and its value as a code (an index into the question's values). Only items
with two or more ratings are *used* (Krippendorff's pairable values): an item rated once says nothing about
agreement.

Alpha comes from the coincidence matrix, built from counts: each item's count of each value (a dense items × values
table where that is small, else sorted entries), combined with one matrix product or one bincount over the pairs of
distinct values within items. The work grows with the ratings and the distinct values *within* an item, never with
the scale's size squared per item, so a 0–100 slider costs about what five labels do. The metrics (squared
distances) are Krippendorff's (2011): nominal, ordinal (by the marginal counts between two values), interval, ratio.

Everything returns ``None`` where a figure is undefined (no variation at all, no item rated twice), never 1.0 and
never an exception: a reviewer must not read "perfect agreement" into a question on which everyone gave the same
answer to everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Literal, cast

import numpy as np
import numpy.typing as npt
from scipy import sparse

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Level = Literal["nominal", "ordinal", "interval", "ratio"]
LEVELS: tuple[Level, ...] = ("nominal", "ordinal", "interval", "ratio")
RESAMPLES = 500
# Items drawn one by one (a wide scale: nearly every item its own pattern) cost a draw per item per resample; past
# this many patterns fewer resamples are drawn (the interval is narrow there anyway).
MANY_PATTERNS = 50_000
FEWER_RESAMPLES = 200
CONFIDENCE = 0.95
# Up to this many (item, value) cells, counts are kept in a dense table (linear time, matrix products) rather than
# as sorted entries.
DENSE_LIMIT = 4_000_000
BOOTSTRAP_CELLS = 20_000_000  # resamples × items (or item patterns) drawn at a time


def weighted_counts(keys: Ints, weights: Floats, length: int) -> Floats:
    """np.bincount with weights (always float64; numpy's stubs type every bincount as integer)."""
    return cast(Floats, np.bincount(keys, weights=weights, minlength=length))


@dataclass(frozen=True)
class Pairable:
    """The items' ratings as counts: where that is small enough a dense table of every rated item's count of each
    value (``full``, items × codes, integers), else entries for the used items only: one per (item, value) with
    how many raters gave it, sorted by unit then code.

    Used items (two or more ratings) are numbered 0..units−1 as *units*, in ascending item order: ``raters`` is
    each unit's number of ratings (``m``), ``items`` its item id and ``table`` its row of counts (as floats)."""

    every_count: Ints  # every rated item's number of ratings, in ascending item order
    every_item: Ints
    n_codes: int
    full: Ints | None = None
    entries: tuple[Ints, Ints, Floats] | None = None

    @cached_property
    def used(self) -> npt.NDArray[np.bool_]:
        return np.asarray(self.every_count >= 2, dtype=bool)

    @cached_property
    def raters(self) -> Floats:
        return self.every_count[self.used].astype(np.float64)

    @cached_property
    def items(self) -> Ints:
        return self.every_item[self.used]

    @cached_property
    def table(self) -> Floats | None:
        if self.full is None:
            return None
        rows = self.full if self.used.all() else np.compress(self.used, self.full, axis=0)
        return rows.astype(np.float64)

    @property
    def units(self) -> int:
        return len(self.raters)

    @property
    def ratings(self) -> int:
        return int(self.raters.sum())

    @cached_property
    def unit_code_count(self) -> tuple[Ints, Ints, Floats]:
        """The entries (unit, code, count), from the table when there is one."""
        if self.entries is not None:
            return self.entries
        assert self.table is not None
        unit, code = np.nonzero(self.table)
        return unit.astype(np.int64), code.astype(np.int64), self.table[unit, code]

    @property
    def value_totals(self) -> Floats:
        """How often each value occurs among the used items' ratings."""
        if self.full is not None:
            return self.used.astype(np.float64) @ self.full
        _, code, count = self.unit_code_count
        return weighted_counts(code, count, self.n_codes)


def pairable(item: npt.ArrayLike, code: npt.ArrayLike, n_codes: int | None = None) -> Pairable:
    """Count each item's values. ``n_codes``: how many values the scale has (default: the largest code + 1).
    Rows sorted by item (as the labels layer gives them) are counted in linear time; others are sorted first."""
    items = np.asarray(item, dtype=np.int64)
    codes = np.asarray(code, dtype=np.int64)
    size = int(n_codes if n_codes is not None else (codes.max(initial=-1) + 1))
    if len(items) == 0:
        nothing = np.zeros(0, dtype=np.int64)
        return Pairable(nothing, nothing.copy(), size, full=np.zeros((0, size), dtype=np.int64))
    starts = np.flatnonzero(np.r_[True, items[1:] != items[:-1]])
    ids = items[starts]
    if np.any(ids[1:] <= ids[:-1]):  # the runs' items ascend strictly exactly when the rows are sorted by item
        order = np.argsort(items, kind="stable")
        items, codes = items[order], codes[order]
        starts = np.flatnonzero(np.r_[True, items[1:] != items[:-1]])
        ids = items[starts]
    raters = np.diff(np.r_[starts, len(items)])
    runs = len(starts)
    if runs * size <= DENSE_LIMIT:
        cells = np.repeat(np.arange(runs, dtype=np.int64) * size, raters)
        cells += codes  # in place: at a million ratings every temporary array costs time
        full = np.bincount(cells, minlength=runs * size).reshape(runs, size)
        return Pairable(raters, ids, size, full=full)
    run = np.repeat(np.arange(runs, dtype=np.int64), raters)  # which item (in order) each rating belongs to
    used = raters >= 2
    in_used = used[run]
    unit = (np.cumsum(used) - 1)[run[in_used]]
    keys, counts = np.unique(unit * size + codes[in_used], return_counts=True)
    entries = (keys // size, keys % size, counts.astype(np.float64))
    return Pairable(raters, ids, size, entries=entries)


def _pairs_within_units(counts: Pairable) -> tuple[Ints, Ints, Ints, Floats]:
    """Every pair of distinct values within an item, once: (unit, code, other code, n_c · n_k). Entries of one unit
    are adjacent, so pairing each entry with the one ``offset`` places on covers every pair; the loop runs as many
    times as the most distinct values any one item holds (at most its raters), not once per item."""
    units, codes, weights, others = [], [], [], []
    entry_unit, entry_code, entry_count = counts.unit_code_count
    sizes = np.bincount(entry_unit, minlength=counts.units)
    for offset in range(1, int(sizes.max(initial=1))):
        same = entry_unit[offset:] == entry_unit[:-offset]
        if not same.any():
            break
        units.append(entry_unit[:-offset][same])
        codes.append(entry_code[:-offset][same])
        others.append(entry_code[offset:][same])
        weights.append(entry_count[:-offset][same] * entry_count[offset:][same])
    if not units:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), empty.copy(), np.zeros(0)
    return np.concatenate(units), np.concatenate(codes), np.concatenate(others), np.concatenate(weights)


def coincidences(counts: Pairable) -> Floats:
    """Krippendorff's coincidence matrix o[c, k]: Σ over items of the ordered pairs of ratings (c, k) from
    different raters, each item weighted 1 / (m − 1), i.e. Σ_u (n_u n_uᵀ − diag n_u) / (m_u − 1). Its row sums
    are the pairable values' marginals n_c."""
    size = counts.n_codes
    if counts.table is not None:
        weighted = counts.table / (counts.raters - 1)[:, None]
        matrix = counts.table.T @ weighted
        matrix[np.diag_indices(size)] -= np.ones(counts.units) @ weighted  # column sums, through BLAS
        return matrix
    unit, code, other, weight = _pairs_within_units(counts)
    off_diagonal = weight / (counts.raters[unit] - 1)
    entry_unit, entry_code, entry_count = counts.unit_code_count
    same_value = entry_count * (entry_count - 1) / (counts.raters[entry_unit] - 1)
    matrix = weighted_counts(code * size + other, off_diagonal, size * size).reshape(size, size)
    matrix = matrix + matrix.T
    matrix[np.diag_indices(size)] += weighted_counts(entry_code, same_value, size)
    return matrix


def _pair_disagreement(counts: Pairable, delta: Floats) -> Floats:
    """Per used item: Σ over its ordered pairs of ratings (from different raters) of δ², i.e. n_uᵀ Δ n_u (δ² is 0
    between equal values)."""
    if counts.table is not None:
        return np.asarray(np.einsum("uc,uc->u", counts.table @ delta, counts.table), dtype=np.float64)
    unit, code, other, weight = _pairs_within_units(counts)
    return weighted_counts(unit, 2 * weight * delta[code, other], counts.units)


def distances(level: Level, values: npt.ArrayLike, marginals: npt.ArrayLike) -> Floats:
    """The squared distance δ²(c, k) between every two values of the scale. ``values[code]`` is the value a code
    stands for (ordinal: its place on the scale); ``marginals[code]`` the pairable values' counts, which the
    ordinal metric is built from."""
    value = np.asarray(values, dtype=np.float64)
    if level == "nominal":
        return 1.0 - np.eye(len(value))
    if level == "interval":
        return np.subtract.outer(value, value) ** 2
    if level == "ratio":
        total = np.add.outer(value, value)
        difference = np.subtract.outer(value, value)
        ratio = np.divide(difference, total, out=np.zeros_like(difference), where=total != 0)
        return np.asarray(ratio**2, dtype=np.float64)
    # Ordinal: between c and k lie the counts of every value from c to k, less half of each end's own count.
    order = np.argsort(value, kind="stable")
    n = np.asarray(marginals, dtype=np.float64)[order]
    below = np.r_[0.0, np.cumsum(n)]  # below[i] = counts of the values ranked before i
    low = np.minimum.outer(np.arange(len(n)), np.arange(len(n)))
    high = np.maximum.outer(np.arange(len(n)), np.arange(len(n)))
    ranked = (below[high + 1] - below[low] - (n[low] + n[high]) / 2) ** 2
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    return np.asarray(ranked[np.ix_(inverse, inverse)], dtype=np.float64)


@dataclass(frozen=True)
class Alpha:
    value: float | None
    observed: float  # Σ o·δ² (not yet divided by n)
    expected: float  # Σ n_c·n_k·δ² / (n − 1)
    delta: Floats


def krippendorff_alpha(counts: Pairable, level: Level, values: npt.ArrayLike | None = None) -> Alpha:
    """Krippendorff's alpha = 1 − D_o / D_e; ``values`` default to the codes themselves."""
    value = np.arange(counts.n_codes, dtype=np.float64) if values is None else np.asarray(values, dtype=np.float64)
    if level == "nominal" and counts.full is not None:
        # Nominal distances are 1 off the diagonal, so only the diagonal of the coincidence matrix (Σ n_uc(n_uc − 1)
        # / (m_u − 1)) and the marginals are needed: no matrix product.
        counted = counts.full.astype(np.float64)
        marginals = counts.used.astype(np.float64) @ counted
        n = marginals.sum()
        delta = distances(level, value, marginals)
        weight = np.divide(1.0, counts.every_count - 1.0, out=np.zeros(len(counted)), where=counts.used)
        observed = float(n - ((counted * (counted - 1.0)) @ np.ones(counts.n_codes)) @ weight)
    else:
        matrix = coincidences(counts)
        marginals = matrix.sum(axis=1)
        n = marginals.sum()
        delta = distances(level, value, marginals)
        observed = float((matrix * delta).sum())
    expected = float(marginals @ delta @ marginals / (n - 1)) if n > 1 else 0.0
    result = 1.0 - observed / expected if expected > 0 else None
    return Alpha(result, observed, expected, delta)


@dataclass(frozen=True)
class Interval:
    low: float
    high: float
    resamples: int


def alpha_interval(
    counts: Pairable,
    alpha: Alpha,
    *,
    resamples: int | None = None,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> Interval | None:
    """A percentile bootstrap interval for alpha, resampling items with replacement (seeded, so the same data gives
    the same interval). Each resample recomputes both disagreements from its items' counts; the distance metric
    stays the full data's (for the ordinal level it is built from the marginals, which a resample would otherwise
    redraw too; Hayes & Krippendorff (2007) hold the metric fixed the same way).

    Items with the same counts are interchangeable, so they are drawn as patterns: five labels and five raters make
    a few hundred patterns whatever the number of items, and a resample is one multinomial draw over them."""
    if alpha.value is None or counts.units < 2:
        return None
    table, observed_per_item, weight, pattern_of = _patterns(counts, alpha.delta)
    patterns = len(weight)
    if resamples is None:
        resamples = RESAMPLES if patterns <= MANY_PATTERNS else FEWER_RESAMPLES
    rng = np.random.default_rng(seed)
    estimates = np.empty(resamples)
    by_pattern = patterns * 4 <= counts.units
    batch = max(1, min(resamples, BOOTSTRAP_CELLS // max(patterns, 1)))
    for start in range(0, resamples, batch):
        size = min(batch, resamples - start)
        if by_pattern:
            taken = rng.multinomial(counts.units, weight / counts.units, size=size).astype(np.float64)
        else:
            taken = np.empty((size, patterns))
            for row in range(size):
                drawn = pattern_of[rng.integers(0, counts.units, size=counts.units)]
                taken[row] = np.bincount(drawn, minlength=patterns)
        observed = taken @ observed_per_item
        marginals = np.asarray(table.T @ taken.T).T  # each resample's value counts n_c
        n = marginals.sum(axis=1)
        expected = np.einsum("bi,ij,bj->b", marginals, alpha.delta, marginals) / np.maximum(n - 1, 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            estimates[start : start + size] = 1.0 - observed / expected
    estimates = estimates[np.isfinite(estimates)]
    if len(estimates) == 0:
        return None
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(estimates, [tail, 100 - tail])
    return Interval(float(low), float(high), resamples)


def _patterns(counts: Pairable, delta: Floats) -> tuple[Floats | sparse.csr_array, Floats, Floats, Ints]:
    """The distinct items by their counts: each pattern's counts (a row of a table), its observed disagreement
    n_uᵀ Δ n_u / (m_u − 1), how many items have it, and each item's pattern. Without a dense table every item is
    its own pattern."""
    observed = _pair_disagreement(counts, delta) / (counts.raters - 1)
    if counts.table is None:
        unit, code, count = counts.unit_code_count
        table = sparse.csr_array((count, (unit, code)), shape=(counts.units, counts.n_codes))
        return table, observed, np.ones(counts.units), np.arange(counts.units, dtype=np.int64)
    base = int(counts.raters.max()) + 1
    if counts.n_codes * np.log2(base) < 62:  # a row's counts fit one integer, written in base m + 1
        key = counts.table.astype(np.int64) @ (base ** np.arange(counts.n_codes, dtype=np.int64))
        _, first, inverse, weight = np.unique(key, return_index=True, return_inverse=True, return_counts=True)
    else:
        _, first, inverse, weight = np.unique(
            counts.table, axis=0, return_index=True, return_inverse=True, return_counts=True
        )
    return counts.table[first], observed[first], weight.astype(np.float64), inverse.ravel().astype(np.int64)


def per_item_disagreement(counts: Pairable, level: Level, values: npt.ArrayLike, span: float) -> Floats:
    """Each used item's observed disagreement on the 0..1 scale the review queue sorts by: the mean over its pairs
    of ratings of δ², divided by the largest δ² the scale allows. Nominal: the share of disagreeing pairs. Ordinal
    and interval: squared differences of scale positions over the squared span (ordinal uses positions, not the
    data-dependent ordinal metric, so an item's score does not move when other items are labelled). Ratio: the
    ratio metric, already at most 1 for values ≥ 0."""
    value = np.asarray(values, dtype=np.float64)
    delta = distances("interval" if level == "ordinal" else level, value, np.zeros(len(value)))
    if level in ("ordinal", "interval"):
        delta = delta / span**2 if span > 0 else np.zeros_like(delta)
    unit, code, other, weight = _pairs_within_units(counts)
    disagreeing = np.bincount(unit, weights=2 * weight * delta[code, other], minlength=counts.units)
    return np.clip(disagreeing / (counts.raters * (counts.raters - 1)), 0.0, 1.0)
