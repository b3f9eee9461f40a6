"""Checking an annotator's answers against the project's questions. Pure Python.

Preference and ranking questions compare candidate responses, so they apply only to examples that have them
(``content["responses"]``); on other examples they are not asked, and an answer to them is an error.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from annotate.questions import QuestionSpec

MAX_TEXT_ANSWER = 100_000
PREFERENCES = ("a", "b", "tie")
# Time on task longer than a week is a clock error, not work.
MAX_DURATION_MS = 7 * 24 * 3600 * 1000
DURATION_RULE = "must be between 0 and one week in milliseconds"


class AnswerError(ValueError):
    """An answer that cannot be accepted; ``question`` names the question it belongs to (None: the whole set)."""

    def __init__(self, question: str | None, message: str):
        super().__init__(f"{question}: {message}" if question else message)
        self.question, self.message = question, message


def response_count(content: dict[str, Any]) -> int:
    responses = content.get("responses")
    return len(responses) if isinstance(responses, list) else 0


def applies(spec: QuestionSpec, content: dict[str, Any]) -> bool:
    if spec.kind in ("preference", "ranking"):
        return response_count(content) >= 2
    return True


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_value(spec: QuestionSpec, value: Any, content: dict[str, Any]) -> Any:
    """Return the value if it is a valid answer to the question for this example, else raise AnswerError."""
    name, kind, options = spec.name, spec.kind, spec.options
    if kind == "label":
        if value not in options["labels"]:
            raise AnswerError(name, f"must be one of {', '.join(options['labels'])}")
    elif kind == "multi_label":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise AnswerError(name, "must be a list of labels")
        unknown = [v for v in value if v not in options["labels"]]
        if unknown:
            raise AnswerError(name, f"unknown label {unknown[0]!r}; use labels from {', '.join(options['labels'])}")
        if len(set(value)) != len(value):
            raise AnswerError(name, "lists a label twice")
        if spec.required and not value:
            raise AnswerError(name, "pick at least one label")
        # Stored in the question's label order, so equal sets compare equal.
        value = [label for label in options["labels"] if label in value]
    elif kind == "rating":
        if not _is_int(value) or not options["min"] <= value <= options["max"]:
            raise AnswerError(name, f"must be a whole number from {options['min']} to {options['max']}")
    elif kind == "text":
        if not isinstance(value, str):
            raise AnswerError(name, "must be text")
        if len(value) > MAX_TEXT_ANSWER:
            raise AnswerError(name, f"is longer than {MAX_TEXT_ANSWER:,} characters")
        if spec.required and not value.strip():
            raise AnswerError(name, "is required; write an answer")
    elif kind == "preference":
        if value not in PREFERENCES:
            raise AnswerError(name, "must be 'a', 'b' or 'tie'")
    elif kind == "ranking":
        count = response_count(content)
        if not isinstance(value, list) or not all(_is_int(v) for v in value) or sorted(value) != list(range(count)):
            raise AnswerError(name, f"must list every response index 0..{count - 1} once, best first")
    return value


def check_answers(specs: Iterable[QuestionSpec], answers: Any, content: dict[str, Any]) -> dict[str, Any]:
    """Check a whole submission: every required question that applies answered, nothing unknown or invalid."""
    if not isinstance(answers, dict):
        raise AnswerError(None, "answers must be an object keyed by question name")
    specs = list(specs)
    known = {spec.name for spec in specs}
    unknown = sorted(set(answers) - known)
    if unknown:
        raise AnswerError(unknown[0], "is not a question of this project")
    checked: dict[str, Any] = {}
    for spec in specs:
        present = spec.name in answers and answers[spec.name] is not None
        if not applies(spec, content):
            if present:
                raise AnswerError(spec.name, "does not apply to this example (it has no candidate responses)")
            continue
        if not present:
            if spec.required:
                raise AnswerError(spec.name, "is required; answer it")
            continue
        checked[spec.name] = check_value(spec, answers[spec.name], content)
    return checked


def duration_allowed(duration_ms: int) -> bool:
    """Whether a time on task (milliseconds) may be stored with an annotation, however it arrived."""
    return 0 <= duration_ms <= MAX_DURATION_MS


def check_display_order(order: Any, content: dict[str, Any]) -> list[int] | None:
    """The order the page showed candidate responses in: a permutation of their indices, or None."""
    count = response_count(content)
    if order is None or count < 2:
        return None
    if not isinstance(order, list) or not all(_is_int(v) for v in order) or sorted(order) != list(range(count)):
        raise AnswerError(None, f"display_order must list every response index 0..{count - 1} once")
    return order
