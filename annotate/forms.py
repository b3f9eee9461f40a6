"""The annotate form: reading what the page posts (with or without JavaScript) and describing the controls it shows.

The page posts one field per question: ``q-<name>`` (a label, a rating, a preference, text; several values for a
multi-label question) and, for a ranking, ``rank-<name>-<index>`` holding the rank of response ``index``. The same
reading serves the plain form POST and the page's fetch() submission, so both are checked by one set of rules;
the answers themselves are then checked by ``annotate.answers`` inside ``annotation_submit``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from annotate.answers import applies, duration_allowed, response_count
from annotate.questions import QuestionSpec
from annotate.services import ServiceError
from annotate.templatetags.winnow import letter

if TYPE_CHECKING:
    from django.http import QueryDict

# A rating scale with at most this many points shows one button per point; a longer one is a number field.
SCALE_BUTTONS_MAX = 11
KEYS = "1234567890"  # the number keys, in the order they pick options


def display_order_for(seed: str, content: dict[str, Any]) -> list[int] | None:
    """A random order to show candidate responses in, the same every time for the same seed."""
    count = response_count(content)
    if count < 2:
        return None
    order = list(range(count))
    random.Random(f"display-order:{seed}").shuffle(order)
    return order


def letters_by_index(order: list[int] | None) -> dict[int, str]:
    """Response index → the letter it is shown under (A for the first response on the page)."""
    return {index: letter(position + 1) for position, index in enumerate(order or [])}


def original_response(content: dict[str, Any]) -> str | None:
    """The text a corrected response starts from: the response, or the chat's last assistant message."""
    response = content.get("response")
    if isinstance(response, str):
        return response
    messages = content.get("messages")
    if isinstance(messages, list):
        for message in reversed(messages):
            if isinstance(message, dict) and message.get("role") == "assistant":
                text = message.get("content")
                return text if isinstance(text, str) else None
    return None


# Reading a submission -------------------------------------------------------------------------------------------


def form_values(specs: list[QuestionSpec], data: QueryDict, content: dict[str, Any]) -> dict[str, Any]:
    """What the form holds for each question that applies, as posted (never raises; see ``answers_from``)."""
    values: dict[str, Any] = {}
    for spec in specs:
        if not applies(spec, content):
            continue
        key = f"q-{spec.name}"
        if spec.kind == "multi_label":
            values[spec.name] = data.getlist(key)
        elif spec.kind == "ranking":
            values[spec.name] = {
                index: data.get(f"rank-{spec.name}-{index}", "") for index in range(response_count(content))
            }
        else:
            values[spec.name] = data.get(key, "")
    return values


def answers_from(specs: list[QuestionSpec], values: dict[str, Any]) -> dict[str, Any]:
    """Answers in their stored form, for ``annotation_submit`` to check; blank means unanswered (left out)."""
    answers: dict[str, Any] = {}
    for spec in specs:
        if spec.name not in values:
            continue
        value = values[spec.name]
        if spec.kind == "multi_label":
            answers[spec.name] = list(value)  # none ticked is an answer: "none of these"
        elif spec.kind == "ranking":
            ranking = _ranking(spec, value)
            if ranking is not None:
                answers[spec.name] = ranking
        elif isinstance(value, str) and value.strip():
            if spec.kind == "rating":
                answers[spec.name] = _whole_number(value)
            elif spec.kind == "text":
                # Browsers post a textarea's line breaks as CRLF; training data wants the newlines that were typed.
                answers[spec.name] = value.replace("\r\n", "\n")
            else:
                answers[spec.name] = value
    return answers


def _whole_number(value: str) -> int | str:
    """A rating as a number; anything else goes through as it is, for the answer rules to name the scale."""
    try:
        return int(value)
    except ValueError:
        return value


def _ranking(spec: QuestionSpec, ranks: dict[int, str]) -> list[int] | None:
    given = {index: rank for index, rank in ranks.items() if rank.strip()}
    if not given:
        return None
    if len(given) < len(ranks):
        raise ServiceError("give every response a rank", field=spec.name)
    try:
        numbers = {index: int(rank) for index, rank in given.items()}
    except ValueError:
        raise ServiceError("ranks must be whole numbers", field=spec.name) from None
    if sorted(numbers.values()) != list(range(1, len(ranks) + 1)):
        raise ServiceError(f"give each response a different rank from 1 to {len(ranks)}", field=spec.name)
    return sorted(numbers, key=numbers.__getitem__)


def values_from_answers(specs: list[QuestionSpec], answers: dict[str, Any]) -> dict[str, Any]:
    """The form values that show stored answers (to prefill the edit page)."""
    values: dict[str, Any] = {}
    for spec in specs:
        value = answers.get(spec.name)
        if value is None:
            continue
        if spec.kind == "ranking":
            values[spec.name] = {index: str(rank) for rank, index in enumerate(value, start=1)}
        elif spec.kind == "multi_label":
            values[spec.name] = list(value)
        else:
            values[spec.name] = str(value)
    return values


@dataclass
class Timing:
    started_at: datetime | None
    duration_ms: int | None


def timing_from(data: QueryDict, *, now: datetime | None = None) -> Timing:
    """When the page was shown and how long it was worked on; the page measures it, a plain POST falls back to
    the time since the page was rendered. Anything unreadable is dropped rather than refused: it is not the
    annotator's answer."""
    started_at = parse_datetime(data.get("started_at", ""))
    if started_at is not None and timezone.is_naive(started_at):
        started_at = None
    raw = data.get("duration_ms", "").strip()
    duration_ms = int(raw) if raw.isdigit() else None
    if duration_ms is None and started_at is not None:
        duration_ms = int(((now or timezone.now()) - started_at).total_seconds() * 1000)
    if duration_ms is not None and not duration_allowed(duration_ms):
        duration_ms = None
    return Timing(started_at=started_at, duration_ms=duration_ms)


def display_order_from(data: QueryDict) -> Any:
    """The order the page showed the responses in ("2,0,1"); checked by the service against the example."""
    raw = data.get("display_order", "").strip()
    if not raw:
        return None
    parts = raw.split(",")
    return [int(part) for part in parts] if all(part.strip().isdigit() for part in parts) else raw


# Describing the controls ----------------------------------------------------------------------------------------


@dataclass
class Choice:
    value: str
    label: str
    key: str = ""
    checked: bool = False


@dataclass
class RankRow:
    index: int
    letter: str
    key: str
    rank: str


@dataclass
class Field:
    """One question as the form shows it."""

    spec: QuestionSpec
    control: str  # radio, checkbox, scale, number, text, preference, ranking
    choices: list[Choice] = field(default_factory=list)
    ranks: list[RankRow] = field(default_factory=list)
    value: str = ""
    note: str = ""
    error: str = ""
    original: str | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def keys_are_values(self) -> bool:
        """A scale whose number keys are its own points needs no separate key hints."""
        return all(choice.key == choice.value for choice in self.choices)

    @property
    def rank_numbers(self) -> list[str]:
        return [str(n) for n in range(1, len(self.ranks) + 1)]

    @property
    def answered(self) -> bool:
        return bool(self.value.strip() or any(c.checked for c in self.choices) or any(r.rank for r in self.ranks))


def build_fields(
    specs: list[QuestionSpec],
    content: dict[str, Any],
    order: list[int] | None,
    values: dict[str, Any],
    error: ServiceError | None = None,
) -> list[Field]:
    fields = []
    letters = letters_by_index(order)
    for spec in specs:
        if not applies(spec, content):
            continue
        value = values.get(spec.name)
        item = _field(spec, content, order or [], letters, value)
        if error is not None and error.field == spec.name:
            item.error = error.message
        fields.append(item)
    return fields


def _field(spec: QuestionSpec, content: dict[str, Any], order: list[int], letters: dict[int, str], value: Any) -> Field:
    kind, options = spec.kind, spec.options
    if kind in ("label", "multi_label"):
        picked = set(value or []) if kind == "multi_label" else {value}
        choices = [
            Choice(label, label, KEYS[n] if n < len(KEYS) else "", label in picked)
            for n, label in enumerate(options["labels"])
        ]
        return Field(spec, "radio" if kind == "label" else "checkbox", choices=choices)
    if kind == "rating":
        low, high = options["min"], options["max"]
        if high - low + 1 > SCALE_BUTTONS_MAX:
            return Field(spec, "number", value=value or "", note=f"A whole number from {low} to {high}.")
        # Keys are the values themselves when the scale lies within 0..9, so "3" always means 3.
        by_value = low >= 0 and high <= 9
        choices = [
            Choice(
                str(point),
                str(point),
                str(point) if by_value else (KEYS[n] if n < len(KEYS) else ""),
                str(point) == value,
            )
            for n, point in enumerate(range(low, high + 1))
        ]
        return Field(spec, "scale", choices=choices, note=f"{low} lowest, {high} highest.")
    if kind == "text":
        return Field(spec, "text", value=value or "", original=original_response(content))
    if kind == "preference":
        # "a" and "b" always mean responses[0] and responses[1], whatever order the page shows them in: each
        # button names the letter the response is shown under and sends the value for its index.
        compared = sorted((0, 1), key=order.index) if order else [0, 1]
        choices = [
            Choice("ab"[index], f"{letters.get(index, 'AB'[index])} is better", key, value == "ab"[index])
            for index, key in zip(compared, "ab", strict=True)
        ]
        choices.append(Choice("tie", "Tie", "t", value == "tie"))
        note = (
            "" if response_count(content) == 2 else f"Compares responses {' and '.join(letters[i] for i in compared)}."
        )
        return Field(spec, "preference", choices=choices, note=note)
    # ranking: one rank per response, listed in the order the page shows them.
    ranks = value or {}
    rows = [
        RankRow(index, letters[index], KEYS[position] if position < len(KEYS) else "", str(ranks.get(index, "")))
        for position, index in enumerate(order)
    ]
    return Field(spec, "ranking", ranks=rows, note="1 is best.")


# Showing stored answers -----------------------------------------------------------------------------------------


def describe_answer(spec: QuestionSpec, value: Any, order: list[int] | None) -> str:
    """An answer as the annotator saw it: responses named by the letters they were shown under."""
    if value is None:
        return "—"
    letters = letters_by_index(order)
    if spec.kind == "multi_label":
        return ", ".join(value) if value else "none"
    if spec.kind == "preference":
        if value == "tie":
            return "Tie"
        index = "ab".index(value)
        return f"{letters.get(index, 'AB'[index])} is better"
    if spec.kind == "ranking":
        return " > ".join(letters.get(index, str(index + 1)) for index in value)
    return str(value)


def described_answers(specs: list[QuestionSpec], answers: dict[str, Any], order: list[int] | None) -> list[tuple]:
    """(question name, answer shown as text, kind) for every question the annotation answered."""
    return [
        (spec.name, describe_answer(spec, answers[spec.name], order), spec.kind)
        for spec in specs
        if spec.name in answers
    ]
