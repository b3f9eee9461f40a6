"""The question editor on the new-project and project-settings pages: its rows as posted, and as shown.

The editor is one server-rendered form that works without JavaScript. Each question is a row of fields named
``questions-<i>-<field>`` (``questions-TOTAL`` says how many); the buttons to add, move and remove a row submit
the form with ``editor=add``, ``editor=up-<i>``, ``editor=down-<i>``, ``editor=remove-<i>`` or
``editor=restore-<i>``, and the page comes back with the rows rearranged and nothing saved. static/questions.js
does the same in the page. A row that edits an existing question carries its id (``original``); removing it only
marks it ``removed`` until the form is saved, so it can be restored.

Rows are checked by ``annotate.questions.parse_question``, the API's rules, and each message is shown beside its
field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from annotate.questions import KINDS, LEVELS, QuestionSpec, QuestionSpecError, parse_question
from annotate.services.questions import AnswerCount, QuestionEdit

if TYPE_CHECKING:
    from django.http import QueryDict

    from annotate.models import Question

PREFIX = "questions"
MAX_ROWS = 100  # more than any project asks; the number of posted fields stays bounded
LABEL_KINDS = ("label", "multi_label")
KIND_NAMES = {
    "label": "Label (pick one)",
    "multi_label": "Labels (tick any)",
    "rating": "Rating (a number on a scale)",
    "text": "Text (free answer)",
    "preference": "Preference (A, B or tie)",
    "ranking": "Ranking (order the responses)",
}


@dataclass
class Row:
    """One question as the editor shows and posts it (all values as text, as in the form)."""

    original: int | None = None  # the id of the question this row edits; None: a new question
    name: str = ""
    kind: str = "label"
    labels: str = ""  # one per line
    min: str = "1"
    max: str = "5"
    required: bool = True
    level: str = ""  # "": the kind's default
    help: str = ""
    removed: bool = False
    errors: dict[str, str] = field(default_factory=dict)
    answers: AnswerCount | None = None  # what an existing question has (shown beside it)

    @property
    def answered(self) -> bool:
        return self.answers is not None and self.answers.any

    @property
    def kind_name(self) -> str:
        return KIND_NAMES.get(self.kind, self.kind)

    def raw(self) -> dict[str, Any]:
        """The question definition this row makes, in the API's form (for ``parse_question``)."""
        raw: dict[str, Any] = {"name": self.name.strip(), "kind": self.kind, "required": self.required}
        if self.level:
            raw["level"] = self.level
        if self.help.strip():
            raw["help"] = self.help
        if self.kind in LABEL_KINDS:
            raw["labels"] = [line.strip() for line in self.labels.splitlines() if line.strip()]
        elif self.kind == "rating":
            raw["min"], raw["max"] = _whole(self.min), _whole(self.max)
        return raw


def _whole(text: str) -> int | str:
    try:
        return int(text.strip())
    except ValueError:
        return text  # parse_question names the field


def row_of(question: Question, answers: AnswerCount | None = None) -> Row:
    options = question.options or {}
    return Row(
        original=question.pk,
        name=question.name,
        kind=question.kind,
        labels="\n".join(options.get("labels", [])),
        min=str(options.get("min", 1)),
        max=str(options.get("max", 5)),
        required=question.required,
        level=question.level or "",
        help=question.help,
        answers=answers,
    )


def rows_from(data: QueryDict) -> list[Row]:
    """The rows as posted, in their order."""
    try:
        total = min(int(data.get(f"{PREFIX}-TOTAL", "0")), MAX_ROWS)
    except ValueError:
        total = 0
    rows = []
    for index in range(max(total, 0)):
        key = f"{PREFIX}-{index}-"
        if f"{key}kind" not in data:
            continue
        original = data.get(f"{key}original", "")
        kind = data.get(f"{key}kind", "")
        rows.append(
            Row(
                original=int(original) if original.isdigit() else None,
                name=data.get(f"{key}name", ""),
                kind=kind,
                labels=data.get(f"{key}labels", ""),
                min=data.get(f"{key}min", ""),
                max=data.get(f"{key}max", ""),
                required=data.get(f"{key}required") in ("on", "true", "1"),
                level=data.get(f"{key}level", "") if data.get(f"{key}level", "") in LEVELS else "",
                help=data.get(f"{key}help", ""),
                removed=data.get(f"{key}removed") == "1",
            )
        )
    return rows


def rearrange(rows: list[Row], action: str) -> list[Row]:
    """The rows after one editor button (``add``, ``up-<i>``, ``down-<i>``, ``remove-<i>``, ``restore-<i>``)."""
    rows = list(rows)
    if action == "add":
        return [*rows, Row()]
    verb, _, number = action.partition("-")
    if not number.isdigit() or not 0 <= int(number) < len(rows):
        return rows
    index = int(number)
    if verb == "up" and index > 0:
        rows[index - 1], rows[index] = rows[index], rows[index - 1]
    elif verb == "down" and index < len(rows) - 1:
        rows[index], rows[index + 1] = rows[index + 1], rows[index]
    elif verb == "remove":
        if rows[index].original is None:
            del rows[index]  # a new question: nothing to keep
        else:
            rows[index].removed = True
    elif verb == "restore":
        rows[index].removed = False
    return rows


def checked(rows: list[Row]) -> list[QuestionSpec] | None:
    """Each kept row as a question, or None with each row's ``errors`` set."""
    specs: list[QuestionSpec] = []
    seen: set[str] = set()
    for row in rows:
        if row.removed:
            continue
        row.errors = {}
        name = row.name.strip()
        if row.kind not in KINDS:
            row.errors["kind"] = f"must be one of {', '.join(KINDS)}"
        else:
            try:
                specs.append(parse_question(row.raw()))
            except QuestionSpecError as exc:
                row.errors.update(exc.errors)
        if name in seen and "name" not in row.errors:
            row.errors["name"] = f"another question is named {name!r}"
        seen.add(name)
    return None if any(row.errors for row in rows) else specs


def edits_from(rows: list[Row], specs: list[QuestionSpec]) -> list[QuestionEdit]:
    """What ``questions_set`` takes: the kept rows (``specs``, as ``checked`` made them), in order."""
    kept = [row for row in rows if not row.removed]
    return [QuestionEdit(spec=spec, original=row.original) for row, spec in zip(kept, specs, strict=True)]


def place_errors(rows: list[Row], errors: dict[str, str]) -> None:
    """Show the service's refusals (``questions[i].field`` for the i-th kept row, ``removed[<id>]`` for a removed
    question) beside the fields they are about."""
    kept = [row for row in rows if not row.removed]
    by_id = {row.original: row for row in rows if row.original is not None}
    for key, message in errors.items():
        if key.startswith("removed["):
            row = by_id.get(int(key[len("removed[") : -1]))
            if row is not None:
                row.errors["removed"] = message
            continue
        place, _, name = key.removeprefix("questions[").partition("]")
        if place.isdigit() and int(place) < len(kept):
            kept[int(place)].errors[name.lstrip(".") or "question"] = message
