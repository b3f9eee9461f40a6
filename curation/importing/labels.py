"""Turn one imported label record into a LabelRecord: labels made elsewhere (a crowdsourcing export, another
tool), one annotator's answers to one example per record (API.md, Annotating: ``annotations/import``).

Keys: ``example`` (the example's id in the project, as it was imported), ``annotator`` (a username), ``answers``
(an object keyed by question name; in a CSV cell, that object written as JSON), and optionally ``submitted_at``
(ISO 8601 with a timezone), ``duration_ms`` (time on task) and ``guideline_version``. Columnar files (CSV,
Parquet) give every record every column, so an empty value means "not given", in every format.

Only what can be checked without the project is checked here: keys, types, the timestamp, the duration. Whether
the example, the annotator's name, the guideline version and the answers fit the project is for
curation/services/label_checks.py.

Pure Python: raises LabelError naming the key at fault, with a reason a user can act on.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from annotate.answers import DURATION_RULE, duration_allowed
from config.unstorable import find_json_problem
from curation.importing.records import type_name

KEYS = ("example", "annotator", "answers", "submitted_at", "duration_ms", "guideline_version")
REQUIRED = ("example", "annotator", "answers")
ACCEPTED = "example, annotator and answers, and optionally submitted_at, duration_ms and guideline_version"
TIME_EXAMPLE = "2024-05-01T14:30:00Z or 2024-05-01T16:30:00+02:00"
# A label cannot have been made after it was imported; a little slack for clocks that run ahead.
FUTURE_SLACK = timedelta(minutes=5)
INTEGER = re.compile(r"[+-]?[0-9]{1,20}")


class LabelError(ValueError):
    """A label record that cannot be imported; ``field`` names the key at fault (None: the record as a whole)."""

    def __init__(self, field: str | None, reason: str):
        super().__init__(f"{field}: {reason}" if field else reason)
        self.field, self.reason = field, reason


@dataclass(frozen=True, slots=True)
class LabelRecord:
    example: str
    annotator: str
    answers: dict[str, Any]
    submitted_at: datetime | None
    duration_ms: int | None
    guideline_version: int | None


def _given(value: Any) -> bool:
    return value is not None and value != ""


def _text(record: dict[str, Any], key: str, what: str) -> str:
    value = record[key]
    # A number is an id that a spreadsheet or a JSON writer did not quote.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise LabelError(key, f"must be {what} (a string), not {type_name(value)}")
    if not value.strip():
        raise LabelError(key, f"is blank; give {what}")
    return value


def _answers(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            raise LabelError("answers", "holds text that is not JSON; write the answers as a JSON object") from None
    if not isinstance(value, dict):
        raise LabelError(
            "answers",
            f"must be an object keyed by question name (in a CSV cell, that object as JSON), not {type_name(value)}",
        )
    return value


def _whole_number(key: str, value: Any) -> int:
    """An integer, also as digits in text (CSV cells) or as a whole float (a column with gaps, from pandas)."""
    if isinstance(value, bool):
        raise LabelError(key, "must be a whole number, not true/false")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    if isinstance(value, int):
        return value
    shown = repr(value) if isinstance(value, (str, float)) else type_name(value)
    raise LabelError(key, f"must be a whole number, not {shown[:60]}")


def _duration(value: Any) -> int:
    duration = _whole_number("duration_ms", value)
    if not duration_allowed(duration):
        raise LabelError("duration_ms", DURATION_RULE)
    return duration


def _guideline_version(value: Any) -> int:
    version = _whole_number("guideline_version", value)
    if version < 1:
        raise LabelError("guideline_version", "must be a guideline version of the project (1 or more)")
    return version


def _submitted_at(value: Any, now: datetime) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise LabelError(
                "submitted_at", f"{value[:60]!r} is not an ISO 8601 date and time; write e.g. {TIME_EXAMPLE}"
            ) from None
    if not isinstance(value, datetime):
        raise LabelError("submitted_at", f"must be an ISO 8601 date and time (a string), not {type_name(value)}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise LabelError(
            "submitted_at", f"has no timezone, so the moment it names is unknown; write e.g. {TIME_EXAMPLE}"
        )
    try:
        moment = value.astimezone(UTC)
    except OverflowError:
        raise LabelError("submitted_at", "is out of the range of dates that can be stored") from None
    if moment > now + FUTURE_SLACK:
        raise LabelError("submitted_at", "is in the future; check its timezone")
    return moment


def parse_label(raw: Any, *, now: datetime, max_depth: int = 64) -> LabelRecord:
    """Check one label record (``now``: when the import runs) and return it, or raise LabelError."""
    if not isinstance(raw, dict):
        raise LabelError(None, f"a label record must be a JSON object, not {type_name(raw)}")
    # Text the database cannot store (a NUL, a lone surrogate) can hide in any answer: refused here, named.
    if problem := find_json_problem(raw, max_depth=max_depth):
        raise LabelError(None, problem)
    record = {key: value for key, value in raw.items() if _given(value)}
    unknown = sorted(set(record) - set(KEYS), key=str)
    if unknown:
        raise LabelError(str(unknown[0]), f"is not a key of a label record; a label record has {ACCEPTED}")
    for key in REQUIRED:
        if key not in record:
            raise LabelError(key, "is missing")
    return LabelRecord(
        example=_text(record, "example", "the example's id"),
        annotator=_text(record, "annotator", "the annotator's username"),
        answers=_answers(record["answers"]),
        submitted_at=_submitted_at(record["submitted_at"], now) if "submitted_at" in record else None,
        duration_ms=_duration(record["duration_ms"]) if "duration_ms" in record else None,
        guideline_version=_guideline_version(record["guideline_version"]) if "guideline_version" in record else None,
    )
