"""Question definitions: what a project asks its annotators, checked before it is stored.

Pure Python (no Django) so the same rules serve the API, the pages and the tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, TypeGuard

KINDS = ("label", "multi_label", "rating", "text", "preference", "ranking")
LEVELS = ("nominal", "ordinal", "interval", "ratio")
DEFAULT_LEVEL = {
    "label": "nominal",
    "multi_label": "nominal",
    "preference": "nominal",
    "rating": "ordinal",
    "ranking": "ordinal",
    "text": None,
}
# Which measurement levels make sense for each kind (text answers have none).
ALLOWED_LEVELS = {
    "label": LEVELS,
    "multi_label": ("nominal",),
    "preference": ("nominal", "ordinal"),
    "rating": LEVELS,
    "ranking": ("ordinal",),
    "text": (None,),
}
# A preference question's answers as a scale, for when it is measured at the ordinal level: A better, a tie, B better.
PREFERENCE_SCALE = {"a": 0, "tie": 1, "b": 2}
NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,99}$")
MAX_LABELS = 200
MAX_SCALE_POINTS = 1001
MAX_HELP = 1000
COMMON_KEYS = {"name", "kind", "required", "level", "help"}
KIND_KEYS = {
    "label": {"labels"},
    "multi_label": {"labels"},
    "rating": {"min", "max"},
    "text": set(),
    "preference": set(),
    "ranking": set(),
}


class QuestionSpecError(ValueError):
    """A question definition that cannot be stored; ``errors`` maps a field to what is wrong with it."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class QuestionSpec:
    name: str
    kind: str
    required: bool = True
    level: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    help: str = ""  # shown to annotators under the question

    def as_dict(self) -> dict[str, Any]:
        """The public form used by the API: options flattened beside name and kind."""
        return {
            "name": self.name,
            "kind": self.kind,
            **self.options,
            "required": self.required,
            "level": self.level,
            "help": self.help,
        }


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_question(raw: Any) -> QuestionSpec:
    """Check one question definition and return it normalised, or raise QuestionSpecError."""
    if not isinstance(raw, dict):
        raise QuestionSpecError({"question": "must be an object with at least 'name' and 'kind'"})
    errors: dict[str, str] = {}
    name = raw.get("name")
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        errors["name"] = "must start with a letter and use only letters, digits, '_' or '-' (at most 100 characters)"
    kind = raw.get("kind")
    if kind not in KINDS:
        errors["kind"] = f"must be one of {', '.join(KINDS)}"
        raise QuestionSpecError(errors)
    unknown = set(raw) - COMMON_KEYS - KIND_KEYS[kind]
    if unknown:
        errors["question"] = f"unknown keys for a {kind} question: {', '.join(sorted(unknown))}"
    required = raw.get("required", True)
    if not isinstance(required, bool):
        errors["required"] = "must be true or false"
    level = raw.get("level", DEFAULT_LEVEL[kind])
    if level not in ALLOWED_LEVELS[kind]:
        allowed = [lvl for lvl in ALLOWED_LEVELS[kind] if lvl]
        errors["level"] = (
            f"a {kind} question takes one of {', '.join(allowed)}" if allowed else "text questions have no level"
        )
    help_text = raw.get("help", "")
    if not isinstance(help_text, str) or len(help_text) > MAX_HELP:
        errors["help"] = f"must be text of at most {MAX_HELP} characters"
    options: dict[str, Any] = {}
    if kind in ("label", "multi_label"):
        labels = raw.get("labels")
        minimum = 2 if kind == "label" else 1
        if (
            not isinstance(labels, list)
            or not all(isinstance(item, str) and item.strip() for item in labels)
            or not minimum <= len(labels) <= MAX_LABELS
        ):
            errors["labels"] = f"must be a list of {minimum} to {MAX_LABELS} non-empty strings"
        elif len(set(labels)) != len(labels):
            errors["labels"] = "must not repeat a label"
        else:
            options["labels"] = labels
    elif kind == "rating":
        low, high = raw.get("min"), raw.get("max")
        if not (_is_int(low) and _is_int(high)):
            errors["min"] = "a rating question needs whole numbers 'min' and 'max'"
        elif not low < high:
            errors["max"] = "must be greater than min"
        elif high - low + 1 > MAX_SCALE_POINTS:
            errors["max"] = f"a scale may have at most {MAX_SCALE_POINTS} points"
        elif level == "ratio" and low < 0:
            # The ratio metric measures distances relative to a true zero; below it the figures mean nothing.
            errors["level"] = "a ratio scale starts at a true zero: min must be 0 or more (or use interval)"
        else:
            options.update({"min": low, "max": high})
    if errors or not isinstance(name, str) or not isinstance(help_text, str):  # such values are among the errors
        raise QuestionSpecError(errors)
    return QuestionSpec(name=name, kind=kind, required=required, level=level, options=options, help=help_text.strip())


def parse_questions(raw: Any) -> list[QuestionSpec]:
    """Check a list of question definitions; errors are keyed ``questions[i].field``."""
    if not isinstance(raw, list):
        raise QuestionSpecError({"questions": "must be a list of question objects"})
    specs: list[QuestionSpec] = []
    errors: dict[str, str] = {}
    seen: set[str] = set()
    for index, item in enumerate(raw):
        try:
            spec = parse_question(item)
        except QuestionSpecError as exc:
            errors.update({f"questions[{index}].{key}": message for key, message in exc.errors.items()})
            continue
        if spec.name in seen:
            errors[f"questions[{index}].name"] = f"the name {spec.name!r} is used twice"
        seen.add(spec.name)
        specs.append(spec)
    if errors:
        raise QuestionSpecError(errors)
    return specs


def change_problems(old: QuestionSpec, new: QuestionSpec) -> dict[str, str]:
    """What is wrong with changing a question that already has answers from ``old`` to ``new``, by field (empty:
    the change is safe).

    Stored answers must keep their meaning and stay valid: they are keyed by the question's name (which scripts and
    exports name too) and shaped by its kind, so both stay; a label in the list may be an answer, so every label
    stays (new ones may be added, and the list reordered); a rating scale may widen but not narrow. Whether an
    answer is required, the measurement level and the help text may change: they apply from now on, and the
    agreement figures are recomputed at the new level.
    """
    problems: dict[str, str] = {}
    if new.name != old.name:
        problems["name"] = f"answers are stored under the name {old.name!r}, so it stays; add a new question instead"
    if new.kind != old.kind:
        problems["kind"] = f"the answers are {old.kind} answers, so the kind stays; add a new question instead"
        return problems
    if old.kind in ("label", "multi_label"):
        gone = [label for label in old.options.get("labels", []) if label not in new.options.get("labels", [])]
        if gone:
            problems["labels"] = (
                f"answers may use {', '.join(repr(label) for label in gone)}: existing labels stay (you may add "
                "labels and change their order)"
            )
    if old.kind == "rating":
        low, high = old.options["min"], old.options["max"]
        if new.options["min"] > low or new.options["max"] < high:
            problems["min" if new.options["min"] > low else "max"] = (
                f"answers may be anywhere from {low} to {high}: the scale may widen but not narrow"
            )
    return problems
