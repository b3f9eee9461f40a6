"""The ``metadata`` filter rule: keep the records whose metadata value under a key passes one test (in a list, not
in a list, equal to a value, or a date within a range)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from curation.steps.base import Record, StepOptionError
from curation.steps.filter_spec import MISSING_OPTION, RECORD, RuleSpec, clip
from curation.steps.options import DATE, SCALAR, SCALARS, STRING, Option, parse_date, to_datetime

_TESTS = ("in", "not_in", "equals", "from", "to")
_MISSING = object()


def same(a: Any, b: Any) -> bool:
    """JSON equality: ``True`` is not ``1`` (Python says it is), but ``1`` is ``1.0``."""
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def metadata_value(metadata: dict[str, Any], key: str) -> Any:
    """The value under ``key``; a dotted key (``source.name``) reaches into nested objects when no key has the
    dots in its name."""
    if key in metadata:
        return metadata[key]
    value: Any = metadata
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _check_tests(options: dict[str, Any], prefix: str) -> dict[str, Any]:
    given = [test for test in _TESTS if options[test] is not None]
    kinds = {"range" if test in ("from", "to") else test for test in given}
    if len(kinds) != 1:
        raise StepOptionError(
            f"{prefix}{given[-1]}" if given else prefix.rstrip("."),
            "give exactly one test: in (a list), not_in (a list), equals (a value), or from and/or to (dates)",
        )
    both = options["from"] is not None and options["to"] is not None
    if both and parse_date(options["from"], f"{prefix}from") > parse_date(options["to"], f"{prefix}to"):
        raise StepOptionError(f"{prefix}to", "must not be before from")
    return options


def _prepare(options: dict[str, Any]) -> dict[str, Any]:
    """The date range as datetimes: ``start`` included, ``before`` excluded (a ``to`` date alone includes its
    whole day)."""
    start = parse_date(options["from"], "from") if options["from"] is not None else None
    before = None
    if options["to"] is not None:
        before = parse_date(options["to"], "to")
        before += dt.timedelta(days=1) if len(options["to"].strip()) == 10 else dt.timedelta(microseconds=1)
    return {**options, "start": start, "before": before}


def _in_range(value: Any, options: dict[str, Any]) -> bool | None:
    """Whether ``value`` (an ISO date or date-time string) is within the range; None if it is not a date."""
    moment = to_datetime(value) if isinstance(value, str) else None
    if moment is None:
        return None
    return (options["start"] is None or moment >= options["start"]) and (
        options["before"] is None or moment < options["before"]
    )


def _metadata(text: str, record: Record, options: dict[str, Any]) -> dict[str, Any] | None:
    value = metadata_value(record.get("metadata") or {}, options["key"])
    if value is _MISSING or value is None:
        return None if options["missing"] == "keep" else {"key": options["key"], "reason": "missing"}
    if options["in"] is not None:
        passed = any(same(value, allowed) for allowed in options["in"])
        test: dict[str, Any] = {"test": "in"}
    elif options["not_in"] is not None:
        passed = not any(same(value, refused) for refused in options["not_in"])
        test = {"test": "not_in"}
    elif options["equals"] is not None:
        passed = same(value, options["equals"])
        test = {"test": "equals", "equals": options["equals"]}
    else:
        in_range = _in_range(value, options)
        if in_range is None:
            return {"key": options["key"], "value": _shown(value), "reason": "not a date"}
        passed = in_range
        test = {"test": "range", "from": options["from"], "to": options["to"]}
    return None if passed else {"key": options["key"], "value": _shown(value), **test}


def _shown(value: Any) -> Any:
    """A metadata value as a detail shows it: scalars as they are (long strings cut), anything else named."""
    if isinstance(value, str):
        return clip(value, 80)
    if isinstance(value, bool | int | float):
        return value
    return f"<{type(value).__name__}>"


METADATA = RuleSpec(
    "metadata",
    RECORD,
    "Keeps a record only if its metadata value under a key passes a test: in a list, not in a list, equal to a "
    "value, or a date between from and to. A missing key or a null value fails the test unless missing is keep.",
    (
        Option("key", STRING, "the metadata key (a dotted key reaches into nested objects)", required=True),
        Option("in", SCALARS, "the values kept"),
        Option("not_in", SCALARS, "the values dropped"),
        Option("equals", SCALAR, "the one value kept"),
        Option("from", DATE, "the earliest date kept (ISO 8601), included"),
        Option("to", DATE, "the latest date kept (ISO 8601), included"),
        MISSING_OPTION,
    ),
    check=_metadata,
    check_options=_check_tests,
    prepare=_prepare,
    reads_text=False,
)
