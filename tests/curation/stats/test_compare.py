"""Comparing two finished statistics, and coverage of target shares."""

from __future__ import annotations

import pytest

from curation.stats import StatsAccumulator, compare, coverage


def record(i, text, **metadata):
    return {"id": i, "content": {"text": text}, "metadata": metadata}


def stats_of(records):
    accumulator = StatsAccumulator()
    accumulator.add(records)
    return accumulator.finish()


@pytest.fixture
def before():
    return stats_of(
        [
            record(1, "one two three", domain="code"),
            record(2, "one two three", domain="code"),
            record(3, "a b c d e f g h", domain="math"),
            record(4, "<b>x</b>", domain="chat"),
        ]
    )


@pytest.fixture
def after():
    return stats_of([record(1, "one two three", domain="code"), record(3, "a b c d e f g h", domain="math")])


def test_it_compares_counts_and_shares(after, before):
    changes = compare(after, before)

    assert changes["examples"] == {"this": 2, "other": 4, "change": -2}
    domains = {row["value"]: row for row in changes["metadata"]["domain"]}
    assert domains["code"] == {
        "value": "code",
        "this": 1,
        "other": 2,
        "this_share": 0.5,
        "other_share": 0.5,
        "change": -1,
        "share_change": 0.0,
    }
    assert domains["chat"]["this"] == 0 and domains["chat"]["share_change"] == -0.25
    assert domains["math"]["share_change"] == 0.25
    assert changes["duplicates"] == {"this": 0, "other": 1, "change": -1}
    assert changes["artefacts"]["html_tags"]["this"] == 0 and changes["artefacts"]["html_tags"]["other"] == 1


def test_it_compares_length_quantiles(after, before):
    words = compare(after, before)["fields"]["text"]["words"]
    assert words["this"]["p50"] == 5.5  # 3 and 8 words
    assert words["other"]["p50"] == 3.0  # 1, 3, 3 and 8 words
    assert words["change"]["p50"] == 2.5
    assert words["change"]["count"] == -2


def test_a_version_compared_with_itself_changed_nothing(after):
    changes = compare(after, after)
    assert all(row["share_change"] == 0 and row["change"] == 0 for row in changes["shapes"])
    assert all(value in (0, None) for value in changes["fields"]["text"]["chars"]["change"].values())


def test_coverage_gives_each_targets_share_and_gap(before):
    table = coverage(before, "domain", {"code": 0.3, "math": 0.5, "legal": 0.1})

    assert table["key"] == "domain" and table["examples"] == 4
    assert table["rows"] == [
        {"value": "code", "target": 0.3, "count": 2, "share": 0.5, "gap": 0.2},
        {"value": "math", "target": 0.5, "count": 1, "share": 0.25, "gap": -0.25},
        {"value": "legal", "target": 0.1, "count": 0, "share": 0.0, "gap": -0.1},
    ]
    assert table["rest"] == {"target": 0.1, "count": 1, "share": 0.25, "gap": 0.15}


def test_coverage_of_a_key_no_example_has_is_all_gap(before):
    table = coverage(before, "license", {"cc-by": 0.4})
    assert table["rows"] == [{"value": "cc-by", "target": 0.4, "count": 0, "share": 0.0, "gap": -0.4}]
    assert table["rest"]["share"] == 1.0


def test_coverage_of_a_value_the_counts_left_out_is_unknown(before):
    cut = {**before, "metadata": {"domain": {"values": [["code", 2]], "other": 2, "approximate": False}}}
    table = coverage(cut, "domain", {"code": 0.5, "math": 0.5})
    assert table["rows"][0]["count"] == 2 and table["rows"][1] == {
        "value": "math",
        "target": 0.5,
        "count": None,
        "share": None,
        "gap": None,
    }
    assert table["rest"]["count"] is None
