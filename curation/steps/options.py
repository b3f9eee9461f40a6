"""The options a step (or a filter rule) takes, described once: their type, default, bounds and help. The same
description validates what a user submitted and is published as the filter catalog, so the two cannot drift.

``validate_options(specs, given, prefix)`` checks a dict against its specs and returns it normalised, defaults
filled in; every error is a ``StepOptionError`` naming the option as the user wrote it (``rules[1].value``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from curation.steps.base import StepOptionError
from curation.steps.records import FIELDS

# Option types. Each is checked by the function of the same name below.
INT = "int"
NUMBER = "number"
BOOL = "bool"
STRING = "string"
CHOICE = "choice"  # one of ``choices``
CHOICES = "choices"  # a non-empty list of ``choices``
FIELD = "field"  # one of records.FIELDS, or null for all text of the example
FIELD_LIST = "fields"  # a non-empty list of records.FIELDS, or null for all text of the example
STRINGS = "strings"  # a non-empty list of non-empty strings
NUMBERS = "numbers"  # a list of numbers
SCALAR = "scalar"  # a JSON string, number or boolean
SCALARS = "scalars"  # a non-empty list of JSON strings, numbers or booleans
DATE = "date"  # an ISO 8601 date or date-time, kept as the string given
ANY = "any"  # checked by the rule itself

MAX_LIST_ITEMS = 10_000


@dataclass(frozen=True)
class Option:
    """One option: its name, type (see above), default, and one line of help. ``minimum``/``maximum`` bound
    numbers (and every item of a list of numbers); ``length`` fixes the length of a list of numbers."""

    name: str
    type: str
    help: str
    default: Any = None
    required: bool = False
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    length: int | None = None

    def describe(self) -> dict[str, Any]:
        """The option as the catalog publishes it (JSON-ready)."""
        default = list(self.default) if isinstance(self.default, tuple) else self.default
        out: dict[str, Any] = {"name": self.name, "type": self.type, "default": default, "help": self.help}
        if self.required:
            out["required"] = True
        if self.choices or self.type in (FIELD, FIELD_LIST):
            out["choices"] = list(self.choices or FIELDS)
        if self.minimum is not None:
            out["min"] = self.minimum
        if self.maximum is not None:
            out["max"] = self.maximum
        if self.length is not None:
            out["length"] = self.length
        return out


def validate_options(
    specs: Sequence[Option], given: dict[str, Any], prefix: str = "", *, owner: str = ""
) -> dict[str, Any]:
    """``given`` checked against ``specs``: unknown keys and missing required options are errors, defaults are
    filled in. ``prefix`` is put before option names in errors (``"rules[0]."``); ``owner`` names what the options
    belong to in messages (``"rule min_words"``)."""
    if not isinstance(given, dict):
        raise StepOptionError(prefix.rstrip(".") or "options", "must be an object")
    known = {spec.name for spec in specs}
    for key in given:
        if key not in known:
            allowed = ", ".join(sorted(known)) or "none"
            where = f" of {owner}" if owner else ""
            raise StepOptionError(f"{prefix}{key}", f"unknown option{where}; the options are: {allowed}")
    out: dict[str, Any] = {}
    for spec in specs:
        name = f"{prefix}{spec.name}"
        if spec.name not in given or (given[spec.name] is None and not spec.required):
            if spec.required:
                raise StepOptionError(name, f"is required: {spec.help}")
            out[spec.name] = list(spec.default) if isinstance(spec.default, tuple) else spec.default
            continue
        out[spec.name] = check_value(spec, given[spec.name], name)
    return out


def check_value(spec: Option, value: Any, name: str) -> Any:
    """One option's value, checked against its spec and normalised (a float that is a whole number becomes an
    int for an int option, a list of choices loses its repeats)."""
    if spec.type == INT:
        return _bounded(spec, _integer(value, name), name)
    if spec.type == NUMBER:
        return _bounded(spec, _number(value, name), name)
    if spec.type == BOOL:
        if not isinstance(value, bool):
            raise StepOptionError(name, "must be true or false")
        return value
    if spec.type == STRING:
        if not isinstance(value, str) or not value.strip():
            raise StepOptionError(name, "must be a non-empty string")
        return value
    if spec.type in (CHOICE, FIELD):
        return _choice(value, spec.choices or FIELDS, name)
    if spec.type in (CHOICES, FIELD_LIST):
        items = _list(value, name)
        picked = [_choice(item, spec.choices or FIELDS, f"{name}[{i}]") for i, item in enumerate(items)]
        return list(dict.fromkeys(picked))
    if spec.type == STRINGS:
        items = _list(value, name)
        for i, item in enumerate(items):
            if not isinstance(item, str) or not item:
                raise StepOptionError(f"{name}[{i}]", "must be a non-empty string")
        return items
    if spec.type == NUMBERS:
        items = _list(value, name)
        if spec.length is not None and len(items) != spec.length:
            raise StepOptionError(name, f"must be a list of {spec.length} numbers")
        return [_bounded(spec, _number(item, f"{name}[{i}]"), f"{name}[{i}]") for i, item in enumerate(items)]
    if spec.type == SCALAR:
        return _scalar(value, name)
    if spec.type == SCALARS:
        return [_scalar(item, f"{name}[{i}]") for i, item in enumerate(_list(value, name))]
    if spec.type == DATE:
        parse_date(value, name)
        return value
    return value  # ANY: the rule checks it


def parse_date(value: Any, name: str) -> dt.datetime:
    """An ISO 8601 date or date-time as a naive UTC datetime (a date is its midnight)."""
    if isinstance(value, str):
        parsed = to_datetime(value)
        if parsed is not None:
            return parsed
    raise StepOptionError(name, "must be an ISO 8601 date (2024-01-31) or date-time (2024-01-31T12:00:00Z)")


def to_datetime(value: str) -> dt.datetime | None:
    """An ISO 8601 string as a naive UTC datetime, or None if it is not one. Aware times are converted to UTC so
    that values with and without a zone compare."""
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed


def one_of(names: Iterable[str]) -> str:
    return ", ".join(names)


def _list(value: Any, name: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise StepOptionError(name, "must be a non-empty list")
    if len(value) > MAX_LIST_ITEMS:
        raise StepOptionError(name, f"must have at most {MAX_LIST_ITEMS} items")
    return value


def _integer(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StepOptionError(name, "must be a whole number")
    if isinstance(value, float):
        if not value.is_integer():
            raise StepOptionError(name, "must be a whole number")
        return int(value)
    return int(value)


def _number(value: Any, name: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:  # NaN
        raise StepOptionError(name, "must be a number")
    return float(value) if isinstance(value, float) else int(value)


def _bounded(spec: Option, value: float | int, name: str) -> Any:
    if spec.minimum is not None and value < spec.minimum:
        raise StepOptionError(name, f"must be at least {spec.minimum:g}")
    if spec.maximum is not None and value > spec.maximum:
        raise StepOptionError(name, f"must be at most {spec.maximum:g}")
    return value


def _choice(value: Any, choices: Sequence[str], name: str) -> str:
    if value not in choices:
        raise StepOptionError(name, f"must be one of: {one_of(choices)}")
    return str(value)


def _scalar(value: Any, name: str) -> Any:
    if isinstance(value, float) and value != value:
        raise StepOptionError(name, "must be a string, a number or a boolean")
    if not isinstance(value, str | int | float | bool):
        raise StepOptionError(name, "must be a string, a number or a boolean")
    return value
