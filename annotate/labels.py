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

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import orjson
import pandas as pd
from django.db.models import Exists, OuterRef, QuerySet, TextField
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
    # The order the page showed the candidate responses in (a list of response indices, or None), when asked for.
    display_order: npt.NDArray[np.object_] | None = None

    def __len__(self) -> int:
        return len(self.code)

    def value(self, row: int) -> Any:
        """The answer of one row, as the annotator gave it."""
        return self.categories[int(self.code[row])]

    @property
    def scale(self) -> Scale:
        """How this question's answers compare, for the disagreement kernels."""
        return scale_of(self.question, self.categories)


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


def _code(spec: QuestionSpec, texts: Sequence[str]) -> tuple[npt.NDArray[np.int64], list[Any]]:
    """Codes for the answers (as text) and the categories the codes index."""
    categories = _known_categories(spec)
    keys: list[Any]
    if spec.kind == "rating":
        keys = [int(text) for text in texts]
    elif spec.kind == "text":
        keys = [text.strip() for text in texts]
    else:
        # A list answer's JSON text is canonical (stored in the question's label order, printed by PostgreSQL), so
        # equal answers have equal text.
        keys = list(texts)
    known = {category: index for index, category in enumerate(categories)}
    codes = np.fromiter((known.get(key, -1) for key in keys), dtype=np.int64, count=len(keys))
    unknown = codes < 0
    if unknown.any():
        extra_codes, extra = pd.factorize(np.array(keys, dtype=object)[unknown])
        codes[unknown] = extra_codes + len(categories)
        categories = categories + [key if spec.kind == "rating" else _parse(spec, key) for key in extra]
    return codes, categories


def load(
    project: Project,
    questions: Iterable[Question],
    *,
    examples: Iterable[int] | None = None,
    guideline_version: int | None = None,
    slice_by: str | None = None,
    with_display_order: bool = False,
) -> dict[str, Labels]:
    """The current labels of each question, by question name; ``examples`` (ids, or a range of ids) limits them to
    those examples; ``slice_by`` (a metadata key, checked by metadata.filterable_key) adds each label's example's
    value of it as the ``slice`` column."""
    specs = [question.as_spec() for question in questions]
    annotations = current_annotations(project)
    server_side = True
    if isinstance(examples, range):
        annotations = annotations.filter(example_id__gte=examples.start, example_id__lt=examples.stop)
    elif examples is not None:
        example_ids = list(examples)
        annotations = annotations.filter(example_id__in=example_ids)
        # A few examples (a submit's summary refresh) are read in one go: a server-side cursor costs round trips.
        server_side = len(example_ids) > FEW_EXAMPLES
    if guideline_version is not None:
        annotations = annotations.filter(guideline_version=guideline_version)
    answers = {f"answer_{index}": KeyTextTransform(spec.name, "answers") for index, spec in enumerate(specs)}
    extra: dict[str, Any] = {}
    if slice_by is not None:
        if not metadata.filterable_key(slice_by):
            raise ValueError(f"cannot slice by the metadata key {slice_by!r}")
        extra["slice_value"] = Cast(KeyTextTransform(slice_by, "example__metadata"), output_field=TextField())
    names = list(extra)
    if with_display_order:
        names.append("display_order")
    rows = (
        annotations.annotate(**answers, **extra)
        .order_by("example_id", "submitted_at", "id")
        .values_list(
            "example_id",
            "annotator_id",
            "round",
            "guideline_version",
            "submitted_at",
            "duration_ms",
            *names,
            *answers,
        )
    )
    shared = 6 + len(names)
    columns: list[list[Any]] = [[] for _ in range(shared + len(specs))]
    for chunk in _raw_chunks(rows, server_side=server_side):
        for column, values in zip(columns, zip(*chunk, strict=True), strict=True):
            column.extend(values)
    common = _common(columns[:6])
    for index, name in enumerate(names):
        column = columns[6 + index]
        if name == "slice_value":
            common["slice"] = np.array(column, dtype=object)
        else:  # JSON as the driver gives it: text (PostgreSQL, SQLite) or already parsed
            common["display_order"] = _objects([orjson.loads(v) if isinstance(v, str | bytes) else v for v in column])
    return {spec.name: _labels(spec, common, columns[shared + index]) for index, spec in enumerate(specs)}


def _raw_chunks(rows: QuerySet[Any], *, server_side: bool = True) -> Iterator[list[tuple[Any, ...]]]:
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


def _common(columns: list[list[Any]]) -> dict[str, Any]:
    """The columns every question shares, as numpy arrays (converted once, masked per question)."""
    example, annotator, round_, version, submitted_at, duration = columns
    return {
        "example": np.asarray(example, dtype=np.int64),
        "annotator": np.asarray(annotator, dtype=np.int64),
        "round": np.asarray(round_, dtype=np.int64),
        "guideline_version": np.asarray(version, dtype=np.int64),
        "submitted_at": _times(submitted_at),
        "duration_ms": np.array(duration, dtype=np.float64),  # None (unknown) becomes NaN
    }


def _labels(spec: QuestionSpec, common: dict[str, Any], answers: list[str | None]) -> Labels:
    """The rows that answer this question (annotations that left it unanswered hold no label of it)."""
    answered = np.fromiter((answer is not None for answer in answers), dtype=bool, count=len(answers))
    codes, categories = _code(spec, [answer for answer in answers if answer is not None])
    return Labels(question=spec, code=codes, categories=categories, **{k: v[answered] for k, v in common.items()})
