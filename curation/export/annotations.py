"""``format=annotations``: every current label of the version's examples, one row per annotator's answer to one
question, with the example, the annotator, the guideline version, when it was made, and the example's resolution.
Labels are read through the labels layer, so "current" means what it means everywhere (the example's current
round; edits replace answers). In Parquet ``value`` and ``resolution`` are JSON text (answers differ in type
from question to question); in JSONL they are JSON values."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
import pyarrow as pa
from django.contrib.auth import get_user_model

from annotate import labels as labels_layer
from annotate.models import Example, Question, Resolution
from curation.models import DatasetVersion, VersionMember

if TYPE_CHECKING:
    from curation.export.rows import Tally
    from curation.export.writers import Writer

_STRING: pa.DataType = pa.string()
_INT: pa.DataType = pa.int64()
SCHEMA: pa.Schema = pa.schema(
    [
        ("example", _STRING),
        ("example_id", _INT),
        ("question", _STRING),
        ("annotator", _STRING),
        ("value", _STRING),
        ("guideline_version", _INT),
        ("round", _INT),
        ("submitted_at", _STRING),
        ("duration_ms", _INT),
        ("resolution", _STRING),
        ("resolution_method", _STRING),
    ]
)


def write_annotations(
    version: DatasetVersion, writer: Writer, tally: Tally, *, progress: Callable[[int], None] | None = None
) -> None:
    project = version.project
    members = np.sort(
        np.fromiter(
            VersionMember.objects.filter(version=version).values_list("example_id", flat=True).iterator(50_000),
            dtype=np.int64,
        )
    )
    questions = list(Question.objects.filter(project=project).order_by("position", "pk"))
    loaded = labels_layer.load(project, questions) if questions else {}
    # Annotators since removed from the project still wrote their labels: name everyone who did.
    annotator_ids = {int(a) for labels in loaded.values() for a in np.unique(labels.annotator)}
    names = dict(get_user_model().objects.filter(pk__in=annotator_ids).values_list("pk", "username"))
    parquet = writer.__class__.__name__ == "ParquetWriter"
    written = 0
    for question in questions:
        current = loaded.get(question.name)
        if current is None or not len(current.example):
            continue
        keep = np.isin(current.example, members)
        if not keep.any():
            continue
        examples = current.example[keep]
        external = dict(Example.objects.filter(pk__in=np.unique(examples).tolist()).values_list("pk", "external_id"))
        resolved = dict(
            (example, (value, method))
            for example, value, method in Resolution.objects.filter(project=project, question=question).values_list(
                "example_id", "value", "method"
            )
        )
        codes = current.code[keep]
        annotators = current.annotator[keep]
        versions = current.guideline_version[keep]
        rounds = current.round[keep]
        times = np.datetime_as_string(current.submitted_at[keep].astype("datetime64[us]"), unit="us", timezone="UTC")
        durations = current.duration_ms[keep]
        for index in range(examples.size):
            example = int(examples[index])
            value = current.categories[int(codes[index])]
            resolution = resolved.get(example)
            duration = durations[index]
            row: dict[str, Any] = {
                "example": external.get(example, ""),
                "example_id": example,
                "question": question.name,
                "annotator": names.get(int(annotators[index]), str(int(annotators[index]))),
                "value": orjson.dumps(value).decode() if parquet else value,
                "guideline_version": int(versions[index]),
                "round": int(rounds[index]),
                "submitted_at": str(times[index]),
                "duration_ms": None if np.isnan(duration) else int(duration),
                "resolution": None
                if resolution is None
                else (orjson.dumps(resolution[0]).decode() if parquet else resolution[0]),
                "resolution_method": None if resolution is None else resolution[1],
            }
            writer.write(row)
            written += 1
            if progress is not None and written % 50_000 == 0:
                progress(written)
    tally.rows = written
