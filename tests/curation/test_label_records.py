"""parse_label: a label record made elsewhere becomes a LabelRecord, or a LabelError naming the key at fault."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from curation.importing.labels import LabelError, LabelRecord, parse_label

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
GOOD = {"example": "e1", "annotator": "ana", "answers": {"quality": 4}}


def parse(**changes):
    return parse_label({**GOOD, **changes}, now=NOW)


def refusal(record) -> tuple[str | None, str]:
    with pytest.raises(LabelError) as raised:
        parse_label(record, now=NOW)
    return raised.value.field, raised.value.reason


def test_it_reads_a_record_with_only_the_required_keys():
    assert parse() == LabelRecord("e1", "ana", {"quality": 4}, None, None, None)


def test_it_reads_every_optional_key():
    record = parse(submitted_at="2025-05-01T16:30:00+02:00", duration_ms=5300, guideline_version=2)

    assert record.submitted_at == datetime(2025, 5, 1, 14, 30, tzinfo=UTC)
    assert (record.duration_ms, record.guideline_version) == (5300, 2)


def test_it_reads_a_time_in_utc_written_with_z():
    assert parse(submitted_at="2025-05-01T14:30:00Z").submitted_at == datetime(2025, 5, 1, 14, 30, tzinfo=UTC)


def test_it_takes_a_timezone_aware_datetime_as_parquet_gives_it():
    moment = datetime(2025, 5, 1, 9, 30, tzinfo=timezone(timedelta(hours=-5)))

    assert parse(submitted_at=moment).submitted_at == datetime(2025, 5, 1, 14, 30, tzinfo=UTC)


def test_it_reads_csv_cells_answers_as_json_and_numbers_as_digits():
    record = parse(answers='{"quality": 4, "topic": "code"}', duration_ms="1200", guideline_version="1")

    assert (record.answers, record.duration_ms, record.guideline_version) == ({"quality": 4, "topic": "code"}, 1200, 1)


def test_it_takes_an_empty_value_as_not_given():
    record = parse(submitted_at="", duration_ms="", guideline_version=None)

    assert (record.submitted_at, record.duration_ms, record.guideline_version) == (None, None, None)


def test_it_takes_a_whole_float_as_a_number_as_pandas_writes_a_column_with_gaps():
    assert parse(duration_ms=1200.0).duration_ms == 1200


def test_it_takes_a_numeric_example_id_as_text():
    assert parse(example=17).example == "17"


@pytest.mark.parametrize(
    ("record", "field", "reason"),
    [
        ([GOOD], None, "a label record must be a JSON object, not a list"),
        ({"annotator": "ana", "answers": {}}, "example", "is missing"),
        ({"example": "e1", "answers": {}}, "annotator", "is missing"),
        ({"example": "e1", "annotator": "ana"}, "answers", "is missing"),
        ({**GOOD, "example": ["e1"]}, "example", "must be the example's id (a string), not a list"),
        ({**GOOD, "annotator": "  "}, "annotator", "is blank; give the annotator's username"),
        ({**GOOD, "answers": [4]}, "answers", "must be an object keyed by question name"),
        ({**GOOD, "answers": "{quality: 4}"}, "answers", "holds text that is not JSON"),
        ({**GOOD, "worker_id": "w7"}, "worker_id", "is not a key of a label record"),
        ({**GOOD, "duration_ms": -5}, "duration_ms", "must be between 0 and one week in milliseconds"),
        ({**GOOD, "duration_ms": "fast"}, "duration_ms", "must be a whole number, not 'fast'"),
        ({**GOOD, "duration_ms": 1.5}, "duration_ms", "must be a whole number, not 1.5"),
        ({**GOOD, "duration_ms": True}, "duration_ms", "must be a whole number, not true/false"),
        ({**GOOD, "guideline_version": 0}, "guideline_version", "must be a guideline version of the project"),
        ({**GOOD, "answers": {"rewrite": "a\x00b"}}, None, "answers.rewrite holds a NUL character"),
    ],
)
def test_it_names_the_key_at_fault(record, field, reason):
    found_field, found_reason = refusal(record)

    assert found_field == field
    assert reason in found_reason


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("yesterday", "'yesterday' is not an ISO 8601 date and time; write e.g. 2024-05-01T14:30:00Z"),
        ("2025-05-01T14:30:00", "has no timezone"),
        ("2025-05-01", "has no timezone"),
        ("2025-13-01T14:30:00Z", "is not an ISO 8601 date and time"),
        (1714573800, "must be an ISO 8601 date and time (a string), not a number"),
        ("2025-06-02T12:00:00Z", "is in the future; check its timezone"),
        ("9999-12-31T23:00:00-05:00", "is out of the range of dates that can be stored"),
    ],
)
def test_it_refuses_a_time_it_cannot_place(value, reason):
    field, found = refusal({**GOOD, "submitted_at": value})

    assert field == "submitted_at"
    assert reason in found


def test_it_allows_a_clock_a_little_ahead():
    assert parse(submitted_at="2025-06-01T12:03:00Z").submitted_at == NOW + timedelta(minutes=3)
