"""The accumulators the inspection statistics are built from, each with a memory bound whatever the number of
records: a numeric series (fixed-bin histogram, exact quantiles while the values fit in ``EXACT_MAX``), a counter
of values that prunes its rarest values past a capacity, and a seeded reservoir sample. Each merges with another
of its kind (the slices left out of a sliced result are merged into one "other" slice). Pure, no Django."""

from __future__ import annotations

import random
from array import array
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]

# Bin edges for lengths (characters, words, tokens): 1-1.5-2-3-5-7 steps; the last bin is open.
LENGTH_EDGES: tuple[int, ...] = (
    0, 1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100, 150, 200, 300, 500, 700, 1_000, 1_500, 2_000, 3_000, 5_000,
    7_000, 10_000, 15_000, 20_000, 30_000, 50_000, 70_000, 100_000, 150_000, 200_000, 300_000, 500_000, 1_000_000,
)  # fmt: skip
# Bin edges for turns per chat and for duplicate cluster sizes.
COUNT_EDGES: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 15, 20, 30, 50, 100, 1_000)
# Past this many values a series keeps its histogram only, and its quantiles are read from the histogram.
EXACT_MAX = 2_000_000
QUANTILES = {"p50": 0.5, "p90": 0.9, "p99": 0.99}


def bin_label(low: int, high: int | None) -> str:
    if high is None:
        return f"{low:,}+"
    return f"{low:,}" if high - low == 1 else f"{low:,}–{high - 1:,}"


class Series:
    """Non-negative integers (lengths, turns): count, sum, min, max, a histogram over ``edges``, and the values
    themselves (int32) while there are at most ``EXACT_MAX`` of them."""

    def __init__(self, edges: Sequence[int] = LENGTH_EDGES):
        self.edges = np.asarray(edges, dtype=np.int64)
        self.bins = np.zeros(len(edges), dtype=np.int64)
        self.count = 0
        self.total = 0
        self.low: int | None = None
        self.high: int | None = None
        self.values: array[int] | None = array("i")

    def extend(self, values: Iterable[int]) -> None:
        batch = np.fromiter(values, dtype=np.int64)
        if not batch.size:
            return
        self.count += int(batch.size)
        self.total += int(batch.sum())
        low, high = int(batch.min()), int(batch.max())
        self.low = low if self.low is None else min(self.low, low)
        self.high = high if self.high is None else max(self.high, high)
        self.bins += np.bincount(np.searchsorted(self.edges, batch, side="right") - 1, minlength=len(self.edges))
        if self.values is not None:
            if len(self.values) + batch.size > EXACT_MAX:
                self.values = None
            else:
                self.values.frombytes(np.minimum(batch, np.iinfo(np.int32).max).astype(np.int32).tobytes())

    def merge(self, other: Series) -> None:
        self.bins += other.bins
        self.count += other.count
        self.total += other.total
        for value in (other.low, other.high):
            if value is not None:
                self.low = value if self.low is None else min(self.low, value)
                self.high = value if self.high is None else max(self.high, value)
        if self.values is not None and other.values is not None and len(self.values) + len(other.values) <= EXACT_MAX:
            self.values.extend(other.values)
        else:
            self.values = None

    def _histogram_quantile(self, q: float) -> int:
        """The lower edge of the bin holding the q-quantile (used once the values are no longer kept)."""
        rank = q * (self.count - 1)
        index = int(np.searchsorted(np.cumsum(self.bins), rank, side="right"))
        return int(self.edges[min(index, len(self.edges) - 1)])

    def summary(self) -> dict[str, Any] | None:
        """count, mean, min, p50, p90, p99, max, whether the quantiles are exact, and the histogram's non-empty
        span of bins as ``[label, low, count]`` rows; None for an empty series."""
        if not self.count:
            return None
        exact = self.values is not None
        if exact:
            values = np.frombuffer(self.values, dtype=np.int32) if self.values else np.zeros(0, dtype=np.int32)
            quantiles = {name: float(np.quantile(values, q)) for name, q in QUANTILES.items()}
        else:
            quantiles = {name: float(self._histogram_quantile(q)) for name, q in QUANTILES.items()}
        used = np.flatnonzero(self.bins)
        first, last = int(used[0]), int(used[-1])
        histogram = []
        for index in range(first, last + 1):
            low = int(self.edges[index])
            high = int(self.edges[index + 1]) if index + 1 < len(self.edges) else None
            histogram.append([bin_label(low, high), low, int(self.bins[index])])
        return {
            "count": self.count,
            "mean": round(self.total / self.count, 2),
            "min": self.low,
            **{name: round(value, 2) for name, value in quantiles.items()},
            "max": self.high,
            "exact": exact,
            "histogram": histogram,
        }


class CappedCounter:
    """Counts of values, at most ``capacity`` of them: past it, the rarest values are dropped (their counts go to
    ``pruned``, shown as "other") and the counts become approximate (a value dropped and seen again starts from
    zero). Values are strings cut to ``MAX_VALUE`` characters."""

    MAX_VALUE = 200

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.counts: dict[str, int] = {}
        self.pruned = 0
        self.approximate = False

    def add(self, value: str, count: int = 1) -> None:
        value = value[: self.MAX_VALUE]
        self.counts[value] = self.counts.get(value, 0) + count
        if len(self.counts) > self.capacity:
            self._prune()

    def merge(self, other: CappedCounter) -> None:
        for value, count in other.counts.items():
            self.counts[value] = self.counts.get(value, 0) + count
        self.pruned += other.pruned
        self.approximate = self.approximate or other.approximate
        if len(self.counts) > self.capacity:
            self._prune()

    def _prune(self) -> None:
        ranked = sorted(self.counts.items(), key=lambda item: (-item[1], item[0]))
        keep = self.capacity // 2
        self.pruned += sum(count for _, count in ranked[keep:])
        self.counts = dict(ranked[:keep])
        self.approximate = True

    def total(self) -> int:
        return sum(self.counts.values()) + self.pruned

    def top(self, limit: int) -> dict[str, Any]:
        """The ``limit`` most frequent values as ``[value, count]`` (ties by value), the count of all others,
        how many distinct values were seen (a lower bound once approximate), and whether counts are approximate."""
        ranked = sorted(self.counts.items(), key=lambda item: (-item[1], item[0]))
        shown = ranked[:limit]
        return {
            "values": [[value, count] for value, count in shown],
            "other": sum(count for _, count in ranked[limit:]) + self.pruned,
            "distinct": len(self.counts),
            "approximate": self.approximate,
        }


class Reservoir:
    """A uniform random sample of at most ``size`` ids from a stream (Algorithm R), seeded: the same stream gives
    the same sample."""

    def __init__(self, size: int, seed: int):
        self.size = size
        self.rng = random.Random(seed)
        self.items: list[int] = []
        self.seen = 0

    def add(self, item: int) -> None:
        self.seen += 1
        if len(self.items) < self.size:
            self.items.append(item)
            return
        slot = self.rng.randrange(self.seen)
        if slot < self.size:
            self.items[slot] = item

    def merge(self, other: Reservoir) -> None:
        """A uniform sample of both streams: each slot drawn from one reservoir or the other in proportion to how
        many items each stream had left, as a draw without replacement from their union would."""
        mine, theirs = self.items[:], other.items[:]
        self.rng.shuffle(mine)
        self.rng.shuffle(theirs)
        left = [self.seen, other.seen]
        merged: list[int] = []
        while len(merged) < self.size and (mine or theirs):
            pick_mine = bool(mine) and (not theirs or self.rng.randrange(left[0] + left[1]) < left[0])
            merged.append(mine.pop() if pick_mine else theirs.pop())
            left[0 if pick_mine else 1] -= 1
        self.items = merged
        self.seen += other.seen

    def sample(self) -> list[int]:
        return sorted(self.items)


def as_ids(values: Iterable[int]) -> I64:
    return np.fromiter(values, dtype=np.int64)
