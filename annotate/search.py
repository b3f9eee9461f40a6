"""Searching and filtering a project's examples: one rule for the examples page, the examples API and the review
queue.

Full-text search (``q``) on PostgreSQL matches words in the search table (ExampleSearch, migration 0014): a
tsvector of every string value in each example's content, in the ``simple`` configuration, under a GIN index.
Words are lower-cased and nothing else, so search is the same in every language and in code (no stemming: "run"
does not find "running"; no stop words: "the" is a word like any other). ``q`` reads as in a web search engine:
words must all appear, a "quoted phrase" must appear as written, ``or`` between words accepts either, ``-word``
excludes.

The table is written by a background job after each import (curation/services/search_index.py), not by the import
itself, which it would make several times as slow: an example imported a moment ago is not found until its job
has run, and the examples page and API say how many are waiting. On SQLite (the embedded set-up) there is no such
table: each word or quoted phrase must appear in the content's JSON text, case aside, and ``-`` excludes; nothing
waits.

The other filters: ``shape``; metadata ``key = value`` (annotate/metadata.py); ``status`` (``unlabelled``: no
label yet in the current round; ``in_progress``: some, fewer than the overlap; ``complete``: as many as it asks
for; ``resolved``: a reviewer or consensus settled at least one question); a question's ``answer`` (an annotator
gave it, in the current round); and ``disagreement`` on a question (the stored per-question disagreement the
review queue reads, at least a minimum). Every filter is checked before it is applied: ``FilterError`` names the
parameter that is wrong and says why.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib.postgres.search import SearchQuery
from django.db import connections, models
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from annotate import labels, metadata
from annotate.answers import PREFERENCES
from annotate.models import Example, ExampleSearch, LabelSummary, Question, Resolution, WorkItem
from annotate.shapes import SHAPES

# The text search configuration of the search table's documents (migrations 0013, 0014) and of every query.
SEARCH_CONFIG = "simple"
MAX_QUERY = 500
MAX_VALUE = 500
STATUSES = ("unlabelled", "in_progress", "complete", "resolved")
# The key that marks each shape, in the order annotate.shapes.shape_of checks them; content with none is text.
SHAPE_KEYS = (("chat", "messages"), ("candidates", "responses"), ("preference", "chosen"), ("instruction", "response"))
ANSWERABLE_KINDS = ("label", "multi_label", "rating", "preference", "text")
WORD = re.compile(r"\w")


class FilterError(ValueError):
    """A filter that cannot be applied: ``parameter`` names it as the request spelled it."""

    def __init__(self, parameter: str, message: str):
        super().__init__(f"{parameter}: {message}")
        self.parameter, self.message = parameter, message


@dataclass(frozen=True)
class Answer:
    """An annotator's answer to look for: ``value`` as the answers store it (a label, a number, "a"/"b"/"tie")."""

    question: Question
    value: Any


@dataclass(frozen=True)
class Disagreement:
    """Examples whose annotators disagree on the question by at least ``minimum`` (0 to 1; 0: any disagreement)."""

    question: Question
    minimum: float


@dataclass(frozen=True)
class ExampleFilters:
    q: str = ""
    shape: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    status: str = ""
    answers: tuple[Answer, ...] = ()
    disagreements: tuple[Disagreement, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.q or self.shape or self.metadata or self.status or self.answers or self.disagreements)


# Checking what was asked for -------------------------------------------------------------------------------------


def parse_q(value: str, parameter: str = "q") -> str:
    q = value.strip()
    if len(q) > MAX_QUERY:
        raise FilterError(parameter, f"is longer than {MAX_QUERY} characters")
    if q and not WORD.search(q):
        raise FilterError(parameter, "has no word to search for (letters or digits)")
    return q


def parse_shape(value: str, parameter: str = "shape") -> str:
    if value and value not in SHAPES:
        raise FilterError(parameter, f"must be one of {', '.join(SHAPES)}")
    return value


def parse_status(value: str, parameter: str = "status") -> str:
    if value and value not in STATUSES:
        raise FilterError(parameter, f"must be one of {', '.join(STATUSES)}")
    return value


def parse_metadata(key: str, value: str, parameter: str) -> tuple[str, str]:
    if not metadata.filterable_key(key):
        raise FilterError(parameter, f"cannot filter on the metadata key {key!r}")
    if len(value) > MAX_VALUE:
        raise FilterError(parameter, f"is longer than {MAX_VALUE} characters")
    return key, value


def _question(questions: Mapping[str, Question], name: str, parameter: str) -> Question:
    question = questions.get(name)
    if question is None:
        known = ", ".join(questions) or "none"
        raise FilterError(parameter, f"the project asks no question named {name!r} (its questions: {known})")
    return question


def parse_answer(questions: Mapping[str, Question], name: str, value: str, parameter: str) -> Answer:
    """An answer given as text in a query string, as the question stores it."""
    question = _question(questions, name, parameter)
    options = question.options or {}
    if question.kind not in ANSWERABLE_KINDS:
        raise FilterError(parameter, f"cannot filter on answers to a {question.kind} question")
    if question.kind in ("label", "multi_label"):
        if value not in options.get("labels", []):
            raise FilterError(parameter, f"must be one of {', '.join(options.get('labels', []))}")
        return Answer(question, value)
    if question.kind == "rating":
        low, high = int(options.get("min", 0)), int(options.get("max", 0))
        if not re.fullmatch(r"-?\d{1,9}", value) or not low <= int(value) <= high:
            raise FilterError(parameter, f"must be a whole number from {low} to {high}")
        return Answer(question, int(value))
    if question.kind == "preference":
        if value not in PREFERENCES:
            raise FilterError(parameter, f"must be one of {', '.join(PREFERENCES)}")
        return Answer(question, value)
    if len(value) > MAX_VALUE:
        raise FilterError(parameter, f"is longer than {MAX_VALUE} characters")
    return Answer(question, value)


def parse_disagreement(questions: Mapping[str, Question], name: str, value: str, parameter: str) -> Disagreement:
    question = _question(questions, name, parameter)
    if question.kind not in labels.REVIEWABLE_KINDS:
        raise FilterError(parameter, f"annotators' disagreement is not measured on a {question.kind} question")
    try:
        minimum = float(value) if value else 0.0
    except ValueError:
        minimum = -1.0
    if not 0 <= minimum <= 1:  # also NaN
        raise FilterError(parameter, "must be a number from 0 (any disagreement) to 1")
    return Disagreement(question, minimum)


def from_query(query: Mapping[str, str], questions: list[Question]) -> ExampleFilters:
    """The filters of an API request: ``q``, ``shape``, ``status``, ``metadata.<key>``, ``answer.<question>`` and
    ``disagreement.<question>`` (``query``: each parameter's value)."""
    by_name = {question.name: question for question in questions}
    found: dict[str, Any] = {"metadata": {}, "answers": [], "disagreements": []}
    for name, value in query.items():
        prefix, dot, rest = name.partition(".")
        if not dot:
            continue
        if prefix == "metadata":
            key, wanted = parse_metadata(rest, value, name)
            found["metadata"][key] = wanted
        elif prefix == "answer":
            found["answers"].append(parse_answer(by_name, rest, value, name))
        elif prefix == "disagreement":
            found["disagreements"].append(parse_disagreement(by_name, rest, value, name))
    return ExampleFilters(
        q=parse_q(query.get("q", "")),
        shape=parse_shape(query.get("shape", "")),
        status=parse_status(query.get("status", "")),
        metadata=found["metadata"],
        answers=tuple(found["answers"]),
        disagreements=tuple(found["disagreements"]),
    )


# Applying them ---------------------------------------------------------------------------------------------------


def search_terms(q: str) -> list[tuple[str, bool]]:
    """``q`` as (word or quoted phrase, excluded) pairs, for the database without full-text search."""
    terms = []
    for match in re.finditer(r'(-?)"([^"]*)"|(-?)(\S+)', q):
        excluded = bool(match.group(1) or match.group(3))
        text = (match.group(2) if match.group(2) is not None else match.group(4)).strip()
        if text and text.lower() != "or":
            terms.append((text, excluded))
    return terms


def _contains(term: str) -> Q:
    """The content's JSON text holds the term, case aside: as typed, or as JSON escapes it (non-ASCII, quotes)."""
    escaped = json.dumps(term)[1:-1]
    condition = Q(content__icontains=term)
    return condition | Q(content__icontains=escaped) if escaped != term else condition


def documents_matching(query: SearchQuery, using: str = "default") -> QuerySet[ExampleSearch]:
    """The search table's rows whose document matches the query (PostgreSQL)."""
    return ExampleSearch.objects.using(using).filter(document=query)


def matching_text(examples: QuerySet[Example], q: str, *, vendor: str | None = None) -> QuerySet[Example]:
    """The examples whose content matches ``q`` (full-text search on PostgreSQL, else words as substrings)."""
    vendor = vendor or connections[examples.db].vendor
    if vendor == "postgresql":
        query = SearchQuery(q, config=SEARCH_CONFIG, search_type="websearch")
        return examples.filter(pk__in=documents_matching(query, examples.db).values("example_id"))
    for term, excluded in search_terms(q):
        examples = examples.exclude(_contains(term)) if excluded else examples.filter(_contains(term))
    return examples


def shape_condition(shape: str) -> Q:
    """The database condition matching shape_of(content) == shape."""
    condition = Q()
    for name, key in SHAPE_KEYS:
        if name == shape:
            return condition & Q(content__has_key=key)
        condition &= ~Q(content__has_key=key)
    return condition


def status_condition(status: str) -> Q:
    work = WorkItem.objects.filter(pk=OuterRef("pk"))
    if status == "unlabelled":
        return ~Q(Exists(work.filter(done__gt=0)))
    if status == "in_progress":
        return Q(Exists(work.filter(done__gt=0, done__lt=F("target"))))
    if status == "complete":
        return Q(Exists(work.filter(done__gte=F("target"))))
    return Q(Exists(Resolution.objects.filter(example_id=OuterRef("pk"))))


def answer_condition(answer: Answer, vendor: str) -> Q:
    """An annotation of the example in its current round gives the answer (one of its labels, for multi_label)."""
    question = answer.question
    current = labels.current_annotations(question.project_id).filter(example_id=OuterRef("pk"))
    as_text = Cast(KeyTextTransform(question.name, "answers"), output_field=models.TextField())
    if question.kind == "multi_label":
        if vendor == "postgresql":
            given = current.filter(**{f"answers__{question.name}__contains": [answer.value]})
        else:  # SQLite has no JSON containment: the label, quoted, in the list's JSON text
            given = current.alias(given=as_text).filter(given__contains=json.dumps(answer.value))
    else:
        given = current.alias(given=as_text).filter(given=str(answer.value))
    return Q(Exists(given))


def disagreement_condition(disagreement: Disagreement) -> Q:
    summaries = LabelSummary.objects.filter(
        example_id=OuterRef("pk"),
        question=disagreement.question,
        disagreement__gt=0,
        disagreement__gte=disagreement.minimum,
    )
    return Q(Exists(summaries))


def apply(examples: QuerySet[Example], filters: ExampleFilters, *, vendor: str | None = None) -> QuerySet[Example]:
    """The examples the filters keep."""
    vendor = vendor or connections[examples.db].vendor
    if filters.q:
        examples = matching_text(examples, filters.q, vendor=vendor)
    if filters.shape:
        examples = examples.filter(shape_condition(filters.shape))
    if filters.metadata:
        examples = metadata.matching(examples, "metadata", filters.metadata)
    if filters.status:
        examples = examples.filter(status_condition(filters.status))
    for answer in filters.answers:
        examples = examples.filter(answer_condition(answer, vendor))
    for disagreement in filters.disagreements:
        examples = examples.filter(disagreement_condition(disagreement))
    return examples
