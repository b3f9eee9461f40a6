"""The labels read layer: the one place that knows which labels are current, and turns them into columns.

A label is one annotator's answer to one question on one example. The *current* labels are the answers of the
annotations made in their example's current round: a reopened example starts afresh (its earlier rounds stay in
the database, marked with their round); an edit replaces an annotation's answers (the earlier ones are history in
AnnotationRevision, never current); a skip leaves no annotation at all. Labels imported from elsewhere will be
Annotations too, and count by the same rule.

``load`` reads them straight from ``values_list`` into numpy arrays (no model object per row), one ``Labels`` per
question, so that disagreement, consensus, agreement, bias and export all compute over the same columns.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import orjson
import pandas as pd
from django.db import connection, connections
from django.db.models import BigIntegerField, Exists, ExpressionWrapper, F, IntegerField, OuterRef, QuerySet, TextField
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.db.models.sql.constants import MULTI

from annotate import metadata
from annotate.models import Annotation, Project, Question, WorkItem
from annotate.quality.alpha import Level
from annotate.quality.disagreement import Scale
from annotate.questions import PREFERENCE_SCALE, QuestionSpec

# Questions whose answers can disagree in a way a reviewer settles (text answers have no such measure).
REVIEWABLE_KINDS = ("label", "multi_label", "rating", "preference", "ranking")
CHUNK = 20_000
FEW_EXAMPLES = 100  # up to this many examples' labels are fetched without a server-side cursor


def current_annotations(project: Project | int) -> QuerySet[Annotation]:
    """The project's (a Project or its id) annotations that hold current labels: those made in their example's
    current round."""
    this_round = WorkItem.objects.filter(pk=OuterRef("example_id"), round=OuterRef("round"))
    return Annotation.objects.filter(project=project).filter(Exists(this_round))


@dataclass(frozen=True)
class Labels:
    """The current labels of one question, as columns: one row per annotation that answers it, rows of one example
    together and in submission order. ``code`` indexes ``categories`` (the distinct answers; in scale order for
    ordered questions)."""

    question: QuestionSpec
    example: npt.NDArray[np.int64]
    annotator: npt.NDArray[np.int64]
    code: npt.NDArray[np.int64]
    categories: list[Any]
    round: npt.NDArray[np.int64]
    guideline_version: npt.NDArray[np.int64]
    submitted_at: npt.NDArray[np.datetime64]
    duration_ms: npt.NDArray[np.float64]  # NaN where unknown
    # The example's metadata value (as text; None where absent) under the key ``load`` was asked to slice by.
    slice: npt.NDArray[np.object_] | None = None
    # The candidate response the page showed first (on the left), −1 where no order was recorded; when asked for.
    shown_first: npt.NDArray[np.int64] | None = None

    def __len__(self) -> int:
        return len(self.code)

    def value(self, row: int) -> Any:
        """The answer of one row, as the annotator gave it."""
        return self.categories[int(self.code[row])]

    @property
    def scale(self) -> Scale:
        """How this question's answers compare, for the disagreement kernels."""
        return scale_of(self.question, self.categories)


def slice_codes(column: npt.NDArray[np.object_]) -> tuple[npt.NDArray[np.int64], list[Any]]:
    """A ``slice`` column as codes into its distinct values, in order of first appearance (None: the example has
    no such metadata key)."""
    codes, values = pd.factorize(pd.Series(column, dtype=object), use_na_sentinel=False)
    return codes.astype(np.int64), [None if pd.isna(value) else value for value in values]


def scale_of(spec: QuestionSpec, categories: Sequence[Any]) -> Scale:
    if spec.kind == "ranking":
        return Scale("ranking", rankings=[list(c) for c in categories])
    if spec.level in (None, "nominal") or spec.kind in ("multi_label", "text"):
        return Scale("nominal")
    level = cast(Level, spec.level)
    if spec.kind == "rating":
        low, high = spec.options["min"], spec.options["max"]
        # At the ratio level distances are relative to the true zero, so values are kept as they are.
        offset = 0 if level == "ratio" else low
        positions = np.array([float(value - offset) for value in categories])
        return Scale("ordered", positions=positions, span=float(high - low), level=level)
    if spec.kind == "preference":
        positions = np.array([float(PREFERENCE_SCALE.get(value, 1)) for value in categories])
        return Scale("ordered", positions=positions, span=2.0, level=level)
    # An ordered label: its list of labels is the scale (counted from 1, a true zero being below the first label).
    places = np.arange(len(categories), dtype=np.float64) + (1 if level == "ratio" else 0)
    return Scale("ordered", positions=places, span=float(len(categories) - 1), level=level)


def _known_categories(spec: QuestionSpec) -> list[Any]:
    """The answers a question can take, in scale order, where they can be listed up front."""
    if spec.kind == "label":
        return list(spec.options["labels"])
    if spec.kind == "rating":
        return list(range(spec.options["min"], spec.options["max"] + 1))
    if spec.kind == "preference":
        return sorted(PREFERENCE_SCALE, key=PREFERENCE_SCALE.__getitem__)
    return []


def _parse(spec: QuestionSpec, text: str) -> Any:
    """An answer from the text PostgreSQL's ``->>`` gives: strings as they are, everything else as JSON."""
    if spec.kind in ("label", "preference"):
        return text
    if spec.kind == "text":
        return text.strip()
    return orjson.loads(text)


@dataclass(frozen=True)
class _Texts:
    """A column of answers as their driver text, factorised: ``codes`` index ``distinct`` (−1: no answer)."""

    codes: npt.NDArray[np.int64]
    distinct: Sequence[str]

    def __getitem__(self, rows: npt.NDArray[np.bool_]) -> _Texts:
        return _Texts(self.codes[rows], self.distinct)


def _code(spec: QuestionSpec, texts: _Texts) -> tuple[npt.NDArray[np.int64], list[Any]]:
    """Codes for the given answers and the categories the codes index: the question's known answers first, in scale
    order, then any others in the order of their text. Each distinct text is read once."""
    categories = _known_categories(spec)
    index: dict[Any, int] = {category: position for position, category in enumerate(categories)}
    distinct_codes = np.empty(len(texts.distinct), dtype=np.int64)
    # Answers beyond the known ones are numbered in the order of their text, however the rows were read.
    for position in sorted(range(len(texts.distinct)), key=lambda index: texts.distinct[index]):
        text = texts.distinct[position]
        # A list answer's JSON text is canonical (stored in the question's label order, printed by PostgreSQL), so
        # equal answers have equal text; text answers count as equal when they differ only in surrounding spaces.
        key: Any = int(text) if spec.kind == "rating" else text.strip() if spec.kind == "text" else text
        if key not in index:
            index[key] = len(categories)
            categories.append(key if spec.kind == "rating" else _parse(spec, str(key)))
        distinct_codes[position] = index[key]
    return distinct_codes[texts.codes].astype(np.int64), categories


def _texts(values: Sequence[str | None] | npt.NDArray[np.object_]) -> _Texts:
    codes, distinct = pd.factorize(np.asarray(values, dtype=object))
    return _Texts(codes.astype(np.int64), list(distinct))


def load(
    project: Project,
    questions: Iterable[Question],
    *,
    examples: Iterable[int] | None = None,
    guideline_version: int | None = None,
    slice_by: str | None = None,
    with_shown_first: bool = False,
    with_times: bool = True,
) -> dict[str, Labels]:
    """The current labels of each question, by question name; ``examples`` (ids, or a range of ids) limits them to
    those examples; ``slice_by`` (a metadata key, checked by metadata.filterable_key) adds each label's example's
    value of it as the ``slice`` column. ``with_times=False`` leaves out reading when each label was made and how
    long it took (``submitted_at`` comes back as NaT, ``duration_ms`` as NaN): agreement needs neither, and at a
    million labels they are a fifth of the reading."""
    specs = [question.as_spec() for question in questions]
    example_ids = None if examples is None or isinstance(examples, range) else list(examples)
    # A few examples (a submit's summary refresh) are read in one go: a server-side cursor costs round trips.
    server_side = example_ids is None or len(example_ids) > FEW_EXAMPLES
    copy = server_side and connections[Annotation.objects.db].vendor == "postgresql"
    # Many labels: every annotation is read and those of an earlier round dropped in numpy (_in_current_round), the
    # same rule as current_annotations, which a few labels are filtered by in the query.
    annotations = Annotation.objects.filter(project=project) if copy else current_annotations(project)
    items = WorkItem.objects.filter(project=project)
    if isinstance(examples, range):
        annotations = annotations.filter(example_id__gte=examples.start, example_id__lt=examples.stop)
        items = items.filter(example_id__gte=examples.start, example_id__lt=examples.stop)
    elif example_ids is not None:
        annotations = annotations.filter(example_id__in=example_ids)
        items = items.filter(example_id__in=example_ids)
    if guideline_version is not None:
        annotations = annotations.filter(guideline_version=guideline_version)
    answers = {f"answer_{index}": KeyTextTransform(spec.name, "answers") for index, spec in enumerate(specs)}
    extra: dict[str, Any] = {}
    if slice_by is not None:
        if not metadata.filterable_key(slice_by):
            raise ValueError(f"cannot slice by the metadata key {slice_by!r}")
        extra["slice_value"] = Cast(KeyTextTransform(slice_by, "example__metadata"), output_field=TextField())
    if with_shown_first:  # the first index of the recorded display order, read in the database
        extra["shown_first"] = Cast(KeyTextTransform("0", "display_order"), output_field=IntegerField())
    names = list(extra)
    if copy:  # times as microseconds since the epoch: numbers COPY writes and numpy reads without parsing dates
        extra["submitted_us"] = RawSQL(
            "(EXTRACT(EPOCH FROM annotate_annotation.submitted_at) * 1000000)::bigint",
            [],
            output_field=BigIntegerField(),
        )
    time_column = "submitted_us" if copy else "submitted_at"
    if not with_times:
        extra.pop("submitted_us", None)
    times = [time_column, "duration_ms"] if with_times else []
    fields = ["example_id", "annotator_id", "round", "guideline_version", *times, *names, *answers]
    # Read in the order of examples, then submission. Many labels: by "example_id + 0", which no index serves, so
    # that PostgreSQL scans the table and sorts it (0.8 s at a million labels) instead of visiting it row by row in
    # the order of the example index (1.3 s).
    by_example = ExpressionWrapper(F("example_id") + 0, output_field=BigIntegerField()) if copy else F("example_id")
    rows = annotations.annotate(**answers, **extra).order_by(by_example, "submitted_at", "id").values_list(*fields)
    columns = _copied(rows, fields) if copy else _fetched(rows, fields, server_side=server_side)
    if copy:
        # The rule of current_annotations, applied here rather than as a join: at a million labels reading the
        # examples' rounds apart and comparing them in numpy is quicker than PostgreSQL's join.
        current = _in_current_round(columns["example_id"], columns["round"], items)
        columns = {name: values[current] for name, values in columns.items()}
    common = {
        "example": columns["example_id"].astype(np.int64),
        "annotator": columns["annotator_id"].astype(np.int64),
        "round": columns["round"].astype(np.int64),
        "guideline_version": columns["guideline_version"].astype(np.int64),
        "submitted_at": columns[time_column]
        if with_times
        else np.full(len(columns["round"]), np.datetime64("NaT", "us")),
        "duration_ms": columns["duration_ms"] if with_times else np.full(len(columns["round"]), np.nan),
    }
    if "slice_value" in columns:
        common["slice"] = columns["slice_value"]
    if "shown_first" in columns:
        shown = np.asarray(columns["shown_first"], dtype=np.float64)  # NULL (no order recorded) as NaN
        common["shown_first"] = np.where(np.isnan(shown), -1, shown).astype(np.int64)
    return {spec.name: _labels(spec, common, columns[f"answer_{index}"]) for index, spec in enumerate(specs)}


def load_example(questions: Iterable[Question], *, example_id: int, round_: int) -> dict[str, Labels]:
    """``load(project, questions, examples=[example_id], with_times=False)`` for one example whose work item is in
    hand, locked, so that its round is known (a submit refreshing its example's summaries): its current labels are
    its annotations of that round, read with one plain query. The same columns, in the same order, for a seventh of
    the CPU (0.3 ms instead of 2 ms); tests/annotate/test_labels.py checks that the two agree."""
    specs = [question.as_spec() for question in questions]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT annotator_id, guideline_version, answers FROM annotate_annotation "
            "WHERE example_id = %s AND round = %s ORDER BY submitted_at, id",
            [example_id, round_],
        )
        rows = cursor.fetchall()
    answers = [json.loads(stored) if isinstance(stored, str) else stored for _, _, stored in rows]
    common = {
        "example": np.full(len(rows), example_id, dtype=np.int64),
        "annotator": np.array([row[0] for row in rows], dtype=np.int64),
        "round": np.full(len(rows), round_, dtype=np.int64),
        "guideline_version": np.array([row[1] for row in rows], dtype=np.int64),
        "submitted_at": np.full(len(rows), np.datetime64("NaT", "us")),
        "duration_ms": np.full(len(rows), np.nan),
    }
    return {
        spec.name: _labels(spec, common, _texts([_as_text(given.get(spec.name)) for given in answers]))
        for spec in specs
    }


def _as_text(value: Any) -> str | None:
    """An answer as ``->>`` gives it (what ``_code`` reads): a string as it is, anything else as JSON; None when the
    annotation leaves the question unanswered. Lists differ from PostgreSQL's text by spaces alone, which changes
    no code: equal answers still have equal text."""
    if value is None or isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def _in_current_round(
    example: npt.NDArray[np.int64], round_: npt.NDArray[np.int64], items: QuerySet[WorkItem]
) -> npt.NDArray[np.bool_]:
    """Which rows were made in their example's current round (the example's work item's round). Every annotated
    example has a work item (answers come only through the queue), and one never sent back is in its first round,
    so only the work items of examples sent back need reading: usually few, where reading them all would cost a
    fifth of the time at a million labels."""
    sent_back = _copied(
        items.filter(round__gt=1).order_by("example_id").values_list("example_id", "round"), ["example_id", "round"]
    )
    known, current = sent_back["example_id"], sent_back["round"]
    in_first_round = np.asarray(round_ == 1, dtype=bool)
    if len(known) == 0:
        return in_first_round
    at = np.clip(np.searchsorted(known, example), 0, len(known) - 1)
    was_sent_back = known[at] == example
    return np.where(was_sent_back, current[at] == round_, in_first_round)


def _copied(rows: QuerySet[Any], fields: list[str]) -> dict[str, Any]:
    """The query's columns through COPY … TO STDOUT as CSV, read by pandas' C parser: at a million labels several
    times faster than fetching rows as Python tuples. NULL is written as \\N, so that an empty text answer ("")
    stays an answer."""
    sql, params = rows.query.get_compiler(using=rows.db).as_sql()
    buffer = io.BytesIO()  # bytes: no decoding in Python; pandas reads UTF-8 itself
    with connections[rows.db].cursor() as cursor:
        query = cursor.mogrify(sql, params).decode()
        cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT csv, NULL '\\N')", buffer)
    numbers = {"example_id", "annotator_id", "round", "guideline_version", "submitted_us"}
    if buffer.tell() == 0:  # no rows: pandas would find no columns
        empty: dict[str, Any] = {name: np.zeros(0, dtype=np.int64 if name in numbers else object) for name in fields}
        empty |= {name: _texts([]) for name in fields if name.startswith("answer_")}
        if "submitted_us" in empty:
            empty["submitted_us"] = empty["submitted_us"].astype("datetime64[us]")
        if "duration_ms" in empty:
            empty["duration_ms"] = np.zeros(0)
        return empty
    buffer.seek(0)
    frame = pd.read_csv(
        buffer,
        header=None,
        names=fields,
        dtype={name: _csv_type(name, numbers) for name in fields},
        na_values=["\\N"],
        keep_default_na=False,
    )
    columns: dict[str, Any] = {}
    for name in fields:
        if name.startswith("answer_"):
            answers = frame[name].cat
            columns[name] = _Texts(answers.codes.to_numpy().astype(np.int64), list(answers.categories))
            continue
        values = frame[name].to_numpy()
        if name == "submitted_us":
            values = values.astype("datetime64[us]")
        elif values.dtype == object:
            values[pd.isna(values)] = None  # NULL as None, as the driver gives it
        columns[name] = values
    return columns


def _csv_type(name: str, numbers: set[str]) -> str | type:
    """How pandas reads a column: answers as categories (each distinct text made a string once, not a string per
    row), numbers as numbers, the rest (slices, display orders) as strings."""
    if name in numbers:
        return "int64"
    if name in ("duration_ms", "shown_first"):  # may be NULL
        return "float64"
    return "category" if name.startswith("answer_") else object


def _fetched(rows: QuerySet[Any], fields: list[str], *, server_side: bool) -> dict[str, Any]:
    """The query's columns fetched as rows (SQLite, or a few examples on PostgreSQL: a submit's refresh)."""
    lists: list[list[Any]] = [[] for _ in fields]
    for chunk in raw_chunks(rows, server_side=server_side):
        for column, fetched in zip(lists, zip(*chunk, strict=True), strict=True):
            column.extend(fetched)
    columns: dict[str, Any] = {}
    for name, values in zip(fields, lists, strict=True):
        if name == "submitted_at":
            columns[name] = _times(values)
        elif name == "duration_ms":
            columns[name] = np.array(values, dtype=np.float64)  # None (unknown) becomes NaN
        elif name in ("example_id", "annotator_id", "round", "guideline_version"):
            columns[name] = np.asarray(values, dtype=np.int64)
        elif name.startswith("answer_"):
            columns[name] = _texts(values)
        else:
            columns[name] = _objects(values)
    return columns


def raw_chunks(rows: QuerySet[Any], *, server_side: bool = True) -> Iterator[list[tuple[Any, ...]]]:
    """The query's rows as the database driver gives them, a chunk at a time: without the per-row work of
    Django's iterators (datetimes may come as text from SQLite; ``_labels`` reads either). ``server_side``: through
    a server-side cursor on PostgreSQL, so that memory does not hold every row the driver fetched."""
    compiler = rows.query.get_compiler(using=rows.db)
    chunks = compiler.execute_sql(MULTI, chunked_fetch=server_side, chunk_size=CHUNK)
    for chunk in chunks or ():
        yield [tuple(row) for row in chunk]


def _objects(values: list[Any]) -> npt.NDArray[np.object_]:
    """An object array holding each value as it is (numpy would make lists of equal length a 2-D array)."""
    array = np.empty(len(values), dtype=object)
    for index, value in enumerate(values):
        array[index] = value
    return array


def _times(values: list[Any]) -> npt.NDArray[np.datetime64]:
    """UTC times as numpy datetimes, from aware datetimes (PostgreSQL) or the UTC text SQLite keeps."""
    if values and isinstance(values[0], str):
        return np.array(values, dtype="datetime64[us]")
    return np.array([value.astimezone(UTC).replace(tzinfo=None) for value in values], dtype="datetime64[us]")


def _labels(spec: QuestionSpec, common: dict[str, Any], answers: _Texts) -> Labels:
    """The rows that answer this question (annotations that left it unanswered hold no label of it)."""
    answered = answers.codes >= 0
    codes, categories = _code(spec, answers[answered])
    return Labels(question=spec, code=codes, categories=categories, **{k: v[answered] for k, v in common.items()})
