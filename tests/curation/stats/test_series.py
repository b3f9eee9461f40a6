"""The bounded accumulators: series with exact quantiles (checked against numpy) and histograms, capped counters,
seeded reservoir samples."""

from __future__ import annotations

import numpy as np
import pytest

from curation.stats import series
from curation.stats.series import LENGTH_EDGES, CappedCounter, Reservoir, Series


@pytest.fixture
def values():
    return np.random.default_rng(3).integers(0, 5_000, size=10_001)


def test_its_quantiles_are_numpys(values):
    s = Series()
    for chunk in np.array_split(values, 7):
        s.extend(chunk.tolist())

    summary = s.summary()

    assert summary["exact"] is True
    assert summary["count"] == values.size
    assert summary["min"] == values.min() and summary["max"] == values.max()
    assert summary["mean"] == round(values.mean(), 2)
    for name, q in {"p50": 0.5, "p90": 0.9, "p99": 0.99}.items():
        assert summary[name] == round(float(np.quantile(values, q)), 2)


def test_its_histogram_counts_every_value_in_its_bin(values):
    s = Series()
    s.extend(values.tolist())
    histogram = s.summary()["histogram"]

    assert sum(count for _, _, count in histogram) == values.size
    edges = list(LENGTH_EDGES)
    for label, low, count in histogram:
        high = edges[edges.index(low) + 1]
        assert count == int(((values >= low) & (values < high)).sum()), label


def test_it_labels_bins_by_their_values():
    s = Series()
    s.extend([0, 1, 12, 14])
    assert [row[0] for row in s.summary()["histogram"]] == ["0", "1", "2", "3–4", "5–6", "7–9", "10–14"]
    assert [row[2] for row in s.summary()["histogram"]] == [1, 1, 0, 0, 0, 0, 2]


def test_merging_two_series_is_measuring_both(values):
    left, right, both = Series(), Series(), Series()
    left.extend(values[:4000].tolist())
    right.extend(values[4000:].tolist())
    both.extend(values.tolist())
    left.merge(right)
    assert left.summary() == both.summary()


def test_past_the_exact_limit_it_reads_quantiles_from_the_histogram(monkeypatch, values):
    monkeypatch.setattr(series, "EXACT_MAX", 1_000)
    s = Series()
    s.extend(values.tolist())
    summary = s.summary()

    assert summary["exact"] is False and s.values is None
    edges = np.asarray(LENGTH_EDGES)
    for name, q in {"p50": 0.5, "p90": 0.9, "p99": 0.99}.items():
        true = np.quantile(values, q)
        # the lower edge of the bin that holds the true quantile
        assert summary[name] == edges[np.searchsorted(edges, true, side="right") - 1]


def test_an_empty_series_has_no_summary():
    assert Series().summary() is None


def test_a_capped_counter_is_exact_until_full():
    counter = CappedCounter(capacity=10)
    for value in "aaabbc":
        counter.add(value)
    assert counter.top(2) == {"values": [["a", 3], ["b", 2]], "other": 1, "distinct": 3, "approximate": False}


def test_a_capped_counter_keeps_the_frequent_values_and_counts_the_rest_as_other():
    counter = CappedCounter(capacity=4)
    for value, count in [("common", 50), ("usual", 20)]:
        counter.add(value, count)
    for rare in "vwxyz":
        counter.add(rare)

    top = counter.top(10)

    assert len(counter.counts) <= 4 and top["approximate"] is True
    assert top["values"][:2] == [["common", 50], ["usual", 20]]
    assert counter.total() == 75
    assert sum(count for _, count in top["values"]) + top["other"] == 75


def test_a_reservoir_is_a_seeded_sample_of_the_stream():
    def sample(seed):
        reservoir = Reservoir(5, seed)
        for item in range(100):
            reservoir.add(item)
        return reservoir.sample()

    assert sample(1) == sample(1)
    assert sample(1) != sample(2)
    assert len(sample(1)) == 5 and set(sample(1)) <= set(range(100))


def test_a_short_stream_is_its_own_sample():
    reservoir = Reservoir(5, 0)
    for item in (7, 3):
        reservoir.add(item)
    assert reservoir.sample() == [3, 7]


def test_merged_reservoirs_sample_the_union_uniformly():
    """A stream of 90 and one of 10: a tenth of a merged sample should come from the second."""
    from_second = 0
    runs = 2_000
    for seed in range(runs):
        big, small = Reservoir(10, seed), Reservoir(10, seed + 10_000)
        for item in range(90):
            big.add(item)
        for item in range(1_000, 1_010):
            small.add(item)
        big.merge(small)
        assert len(big.sample()) == 10 and big.seen == 100
        from_second += sum(1 for item in big.sample() if item >= 1_000)
    assert 0.08 < from_second / (runs * 10) < 0.12
