"""Checking imported labels against the project as they stream by, a batch of records at a time: the example
is one of the project's, the annotator's name can be a username, the guideline version is one of the project's,
the answers are what a submit would take (``annotate.answers.check_answers``, the function a submit uses), no
example and annotator come twice, and none already has an annotation. The labels that pass wait in a temporary
file (``LabelSpool``) until every record has been checked.

Each record gets one reason, the first of those it fails, in that order.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import orjson

from annotate.answers import AnswerError, check_answers
from annotate.models import Annotation, Example, Project
from annotate.services.projects import username_problem
from curation.importing.labels import LabelRecord
from curation.services.import_checks import Problems, record_at

# Records checked per round of queries (the examples they name, the annotations they would clash with).
BATCH = 5_000


@dataclass(frozen=True, slots=True)
class CheckedLabel:
    """A label that passed every check, as it will be written."""

    number: int
    line: int | None
    example: str  # as the record named it
    example_id: int
    annotator: str
    answers: dict[str, Any]
    submitted_at: datetime | None  # None: the time of the import
    duration_ms: int | None
    guideline_version: int

    def row(self) -> bytes:
        when = self.submitted_at.isoformat() if self.submitted_at is not None else None
        fields = (self.number, self.line, self.example, self.example_id, self.annotator, self.answers, when)
        return orjson.dumps([*fields, self.duration_ms, self.guideline_version]) + b"\n"

    @classmethod
    def from_row(cls, row: bytes) -> CheckedLabel:
        number, line, example, example_id, annotator, answers, when, duration_ms, version = orjson.loads(row)
        submitted_at = datetime.fromisoformat(when) if when is not None else None
        return cls(number, line, example, example_id, annotator, answers, submitted_at, duration_ms, version)


class LabelSpool:
    """Checked labels in a temporary file (never all in memory), read back in chunks to be written."""

    def __init__(self, directory: Path):
        directory.mkdir(parents=True, exist_ok=True)
        # Named like the example import's temporary files, so the reaper's sweep removes one a dead worker left.
        self._file: IO[bytes] = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in close()
            dir=directory, prefix="import-labels-", suffix=".spool"
        )
        self.count = 0

    def add(self, label: CheckedLabel) -> None:
        self._file.write(label.row())
        self.count += 1

    def chunks(self, size: int) -> Iterator[list[CheckedLabel]]:
        self._file.flush()
        self._file.seek(0)
        chunk: list[CheckedLabel] = []
        for row in self._file:
            chunk.append(CheckedLabel.from_row(row))
            if len(chunk) == size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def close(self) -> None:
        self._file.close()


@dataclass(frozen=True, slots=True)
class _Pending:
    number: int
    line: int | None
    record: LabelRecord | None  # None: refused already, for ``problem``
    first: int = 0  # the number of the first record with the same example and annotator (this one's, if none)
    first_line: int | None = None  # and its line
    problem: tuple[str | None, str] | None = None  # (the field at fault, why)


@dataclass
class _Example:
    pk: int
    content: dict[str, Any]
    queued: bool  # whether it has a place in the annotation queue (a work item): every imported example has


def annotated_already(project: Project, labels: Iterable[tuple[int, str]]) -> set[tuple[int, str]]:
    """Which of these (example id, username) pairs already have an annotation in the project, in one query."""
    labels = set(labels)
    if not labels:
        return set()
    annotations = Annotation.objects.for_project(project).filter(
        example_id__in={example_id for example_id, _ in labels},
        annotator__username__in={username for _, username in labels},
    )
    return set(annotations.values_list("example_id", "annotator__username")) & labels


def already_annotated_reason(annotator: str, example: str) -> str:
    return (
        f"{annotator!r} already has an annotation of example {example!r} (made in Winnow or imported before); "
        "an import adds labels, it never replaces them: leave this record out"
    )


@dataclass
class LabelChecks:
    """Checks label records against the project, a batch at a time; good ones go to ``spool`` (while every
    record so far has been good: once one is bad, nothing will be written). ``examples`` and ``annotators``:
    those the good labels name."""

    project: Project
    problems: Problems
    spool: LabelSpool
    examples: set[int] = field(default_factory=set)
    annotators: set[str] = field(default_factory=set)
    _pending: list[_Pending] = field(default_factory=list)
    _first: dict[tuple[str, str], tuple[int, int | None]] = field(default_factory=dict)
    _names: dict[str, str | None] = field(default_factory=dict)  # username → why it cannot be one (None: fine)

    def __post_init__(self) -> None:
        self.questions = [question.as_spec() for question in self.project.questions.all()]
        self.versions = set(self.project.guidelines.values_list("version", flat=True))
        # What a submit records when the project has no guideline at all.
        self.current_version = max(self.versions, default=0)

    def add(self, number: int, line: int | None, record: LabelRecord) -> None:
        # Every record that could be read counts for repeats, good or not: fixing the first of two records that
        # label the same example by the same annotator still leaves two.
        first, first_line = self._first.setdefault((record.example, record.annotator), (number, line))
        self._pending.append(_Pending(number, line, record, first, first_line))
        if len(self._pending) >= BATCH:
            self.flush()

    def refuse(self, number: int, line: int | None, reason: str, *, field: str | None = None) -> None:
        """A record that could not be read or parsed: its problem is listed in turn with the others, so that the
        problems listed are the first ones in the file."""
        self._pending.append(_Pending(number, line, None, problem=(field, reason)))

    def flush(self) -> None:
        """Check the records added since the last flush."""
        batch, self._pending = self._pending, []
        if not batch:
            return
        records = [pending.record for pending in batch if pending.record is not None]
        examples = self._examples({record.example for record in records})
        labels = [(examples[record.example].pk, record.annotator) for record in records if record.example in examples]
        taken = annotated_already(self.project, labels)
        for pending in batch:
            checked = pending.problem or self._check(pending, examples, taken)
            if isinstance(checked, CheckedLabel):
                self.examples.add(checked.example_id)
                self.annotators.add(checked.annotator)
                if not self.problems.total:
                    self.spool.add(checked)
            else:
                where, reason = checked
                self.problems.add(pending.number, pending.line, reason, field=where)

    def _examples(self, external_ids: set[str]) -> dict[str, _Example]:
        rows = (
            Example.objects.for_project(self.project)
            .filter(external_id__in=external_ids)
            .values_list("external_id", "pk", "content", "work__round")
        )
        return {external_id: _Example(pk, content, round_ is not None) for external_id, pk, content, round_ in rows}

    def _username_problem(self, name: str) -> str | None:
        if name not in self._names:
            self._names[name] = username_problem(name)
        return self._names[name]

    def _check(
        self, pending: _Pending, examples: dict[str, _Example], taken: set[tuple[int, str]]
    ) -> CheckedLabel | tuple[str, str]:
        """The label as it will be written, or (the field at fault, why)."""
        record = pending.record
        assert record is not None  # refused records have their problem already
        example = examples.get(record.example)
        if example is None:
            return "example", f"the project has no example with id {record.example[:200]!r}"
        if not example.queued:
            return "example", f"example {record.example[:200]!r} is not in the annotation queue, so it takes no labels"
        if problem := self._username_problem(record.annotator):
            return "annotator", f"{record.annotator[:200]!r} cannot be a username: {problem}"
        version = record.guideline_version
        if version is not None and version not in self.versions:
            known = ", ".join(str(v) for v in sorted(self.versions)) or "none"
            return "guideline_version", f"the project has no guideline version {version} (it has: {known})"
        try:
            answers = check_answers(self.questions, record.answers, example.content)
        except AnswerError as exc:
            return (f"answers.{exc.question}" if exc.question else "answers"), exc.message
        if pending.first != pending.number:
            return "annotator", (
                f"example {record.example[:200]!r} is labelled by {record.annotator[:200]!r} more than once in this "
                f"import (first in {record_at(pending.first, pending.first_line)}); keep one"
            )
        if (example.pk, record.annotator) in taken:
            return "annotator", already_annotated_reason(record.annotator, record.example)
        return CheckedLabel(
            number=pending.number,
            line=pending.line,
            example=record.example,
            example_id=example.pk,
            annotator=record.annotator,
            answers=answers,
            submitted_at=record.submitted_at,
            duration_ms=record.duration_ms,
            guideline_version=version if version is not None else self.current_version,
        )
