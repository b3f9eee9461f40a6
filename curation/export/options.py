"""An export request's options, checked: each bad option is an ``OptionError`` naming it (the API's 400).

Options come from a query string (every value a string) or a JSON body (typed values); both are accepted for
every option, so a script can move from the download to the job without rewriting its options.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from curation.export.labels import MODES
from curation.formats import FORMATS

ALL_FORMATS = (*FORMATS, "annotations")
FILES = ("jsonl", "parquet")
MAX_SYSTEM_PROMPT = 20_000
MAX_FRACTIONS = 10
TRUE, FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off", "")
# Options a download takes; a job takes these and the split's.
DOWNLOAD_OPTIONS = (
    "format", "file", "template", "question", "labels", "min_annotations", "min_agreement", "zscore",
    "conversational", "system", "with_id",
)  # fmt: skip
JOB_OPTIONS = (*DOWNLOAD_OPTIONS, "eval_fraction", "fractions", "seed")


class OptionError(ValueError):
    def __init__(self, option: str, message: str):
        super().__init__(f"{option}: {message}")
        self.option, self.message = option, message


@dataclass(frozen=True)
class ExportOptions:
    format: str
    file: str = "jsonl"
    template: str | None = None
    question: str | None = None
    labels: str = "auto"
    min_annotations: int = 1
    min_agreement: float = 0.0
    zscore: bool = False
    conversational: bool = False
    system: str | None = None
    with_id: bool = False
    eval_fraction: float = 0.0
    fractions: tuple[float, ...] = field(default_factory=tuple)
    seed: int = 0

    def as_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["fractions"] = list(self.fractions)
        return values


def parse(raw: Mapping[str, Any], *, job: bool) -> ExportOptions:
    """Check the options of a download (``job=False``) or an export job."""
    allowed = JOB_OPTIONS if job else DOWNLOAD_OPTIONS
    for name in raw:
        if name not in allowed:
            hint = " (a train/eval split is made by an export job: POST …/exports/)" if name in JOB_OPTIONS else ""
            raise OptionError(name, f"is not an option here{hint}; the options are {', '.join(allowed)}")
    fmt = _choice(raw, "format", ALL_FORMATS, default=None)
    if fmt is None:
        raise OptionError("format", f"is required: one of {', '.join(ALL_FORMATS)}")
    options = ExportOptions(
        format=fmt,
        file=_choice(raw, "file", FILES, default="jsonl") or "jsonl",
        template=_text(raw, "template", 100),
        question=_text(raw, "question", 100),
        labels=_choice(raw, "labels", MODES, default="auto") or "auto",
        min_annotations=_integer(raw, "min_annotations", 1, 1, 1000),
        min_agreement=_number(raw, "min_agreement", 0.0, 0.0, 1.0),
        zscore=_boolean(raw, "zscore"),
        conversational=_boolean(raw, "conversational"),
        system=_text(raw, "system", MAX_SYSTEM_PROMPT, strip=False),
        with_id=_boolean(raw, "with_id"),
        eval_fraction=_number(raw, "eval_fraction", 0.0, 0.0, 0.9),
        fractions=_fractions(raw),
        seed=_integer(raw, "seed", 0, 0, 2**63 - 1),
    )
    _consistent(options)
    return options


def _consistent(options: ExportOptions) -> None:
    if options.format == "annotations":
        for name in ("template", "conversational", "system", "zscore"):
            if getattr(options, name):
                raise OptionError(name, "does not apply to format=annotations (every label is written as given)")
        if options.eval_fraction or options.fractions:
            raise OptionError("eval_fraction", "format=annotations has no train/eval split")
    if options.template and options.conversational:
        raise OptionError("conversational", "a template renders rows to text; give one or the other")
    if options.template and options.format == "text" and options.system:
        pass  # a system prompt is rendered by the template like any other turn
    if options.zscore and options.format != "reward":
        raise OptionError("zscore", "applies to format=reward (scores of a rating question)")


def _value(raw: Mapping[str, Any], name: str) -> Any:
    value = raw.get(name)
    return value[-1] if isinstance(value, list) and name != "fractions" else value


def _choice(raw: Mapping[str, Any], name: str, choices: tuple[str, ...], *, default: str | None) -> str | None:
    value = _value(raw, name)
    if value is None or value == "":
        return default
    if not isinstance(value, str) or value not in choices:
        raise OptionError(name, f"must be one of {', '.join(choices)}")
    return value


def _text(raw: Mapping[str, Any], name: str, limit: int, *, strip: bool = True) -> str | None:
    value = _value(raw, name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise OptionError(name, "must be a string")
    if strip:
        value = value.strip()
    if len(value) > limit:
        raise OptionError(name, f"is longer than {limit:,} characters")
    return value or None


def _boolean(raw: Mapping[str, Any], name: str) -> bool:
    value = _value(raw, name)
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.lower() in TRUE + FALSE:
        return value.lower() in TRUE
    raise OptionError(name, "must be true or false")


def _integer(raw: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = _value(raw, name)
    if value is None or value == "":
        return default
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise OptionError(name, "must be a whole number") from None
    if isinstance(value, bool) or not isinstance(value, int):
        raise OptionError(name, "must be a whole number")
    if not low <= value <= high:
        raise OptionError(name, f"must be from {low:,} to {high:,}")
    return int(value)


def _number(raw: Mapping[str, Any], name: str, default: float, low: float, high: float) -> float:
    value = _value(raw, name)
    if value is None or value == "":
        return default
    try:
        number = float(value) if isinstance(value, str | int | float) and not isinstance(value, bool) else None
    except ValueError:
        number = None
    if number is None or not math.isfinite(number):
        raise OptionError(name, "must be a number")
    if not low <= number <= high:
        raise OptionError(name, f"must be from {low:g} to {high:g}")
    return number


def _fractions(raw: Mapping[str, Any]) -> tuple[float, ...]:
    value = raw.get("fractions")
    if value is None or value == "" or value == []:
        return ()
    if isinstance(value, str):
        parts: list[Any] = [part for part in value.split(",") if part.strip()]
    elif isinstance(value, list):
        parts = value
    else:
        raise OptionError("fractions", "must be a list of numbers between 0 and 1, e.g. [0.25, 0.5]")
    if len(parts) > MAX_FRACTIONS:
        raise OptionError("fractions", f"at most {MAX_FRACTIONS} fractions")
    numbers = set()
    for part in parts:
        number = _number({"fractions": part if not isinstance(part, list) else None}, "fractions", -1.0, 0.0, 1.0)
        if not 0 < number < 1:
            raise OptionError("fractions", "each fraction must be between 0 and 1 (the whole set is always written)")
        numbers.add(round(number, 6))
    return tuple(sorted(numbers))
