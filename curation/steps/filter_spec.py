"""What a filter rule is: a name, a kind, a line of description, its options, and the function that judges a
record. The catalog (``filters.CATALOG``) is a list of these; each module of rules defines its own.

Kinds:

* ``record`` — judges each record alone, from the text of its ``field`` (default: all text of the example) or from
  its metadata; a record whose shape lacks the field passes (a text record has no response).
* ``labels`` — judges each record from its annotators' labels, which the runner passes in ``context["labels"]``.
* ``group`` — compares records with each other across the whole input (``filters.group_keys``/``group_merge``).

A check returns ``None`` when the record passes, or the detail of why it fails (JSON-ready, small).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from curation.steps.base import Record
from curation.steps.options import CHOICE, FIELD, Option

RECORD, GROUP, LABELS = "record", "group", "labels"

# (text of the field, the record, the rule's options as prepared) → detail of the failure, or None
RecordCheck = Callable[[str, Record, dict[str, Any]], dict[str, Any] | None]
# (the record's label of the rule's question, or None, the rule's options) → detail of the failure, or None
LabelCheck = Callable[[dict[str, Any] | None, dict[str, Any]], dict[str, Any] | None]
# (the rule's validated options, the prefix of their names in errors) → the options, checked as a whole
CheckOptions = Callable[[dict[str, Any], str], dict[str, Any]]
# the rule's validated options → the same with what the check needs precomputed (compiled patterns …)
Prepare = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class RuleSpec:
    name: str
    kind: str
    description: str
    options: tuple[Option, ...]
    check: RecordCheck | None = None
    check_label: LabelCheck | None = None
    check_options: CheckOptions | None = None
    prepare: Prepare | None = None
    reads_text: bool = True  # False for rules that read only metadata, or pick their own fields

    def describe(self) -> dict[str, Any]:
        """The rule as ``GET /api/v1/filters/`` lists it."""
        return {
            "name": self.name,
            "kind": self.kind,
            "description": self.description,
            "options": [option.describe() for option in self.options],
        }


FIELD_OPTION = Option(
    "field",
    FIELD,
    "the field whose text the rule reads (default: all text of the example); a record whose shape lacks the "
    "field passes",
)
MISSING_OPTION = Option(
    "missing",
    CHOICE,
    "what happens to a record the rule has nothing to judge by: dropped (drop) or kept (keep)",
    default="drop",
    choices=("drop", "keep"),
)


def ratio(value: float) -> float:
    """A measured fraction as details show it."""
    return round(float(value), 4)


def clip(text: str, limit: int = 120) -> str:
    """A piece of a record quoted in a detail, kept short."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
