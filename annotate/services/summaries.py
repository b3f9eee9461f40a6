"""Keeping each example's LabelSummary rows in step with the labels and resolutions they summarise.

Called inside the transaction that changes a label (an answer, a reopen) or a resolution, after the example's
work item is locked (the queue's lock order), so two changes to one example are summarised one after the other.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
from django.db import transaction

from annotate import labels
from annotate.models import Example, LabelSummary, Project, Question, Resolution
from annotate.quality.disagreement import per_example

REBUILD_CHUNK = 20_000


def reviewable_questions(project: Project) -> list[Question]:
    return list(project.questions.filter(kind__in=labels.REVIEWABLE_KINDS).order_by("position", "id"))


def _summaries(
    project: Project, questions: list[Question], example_ids: Sequence[int] | None
) -> Iterator[LabelSummary]:
    """Fresh summaries of the examples' current labels (every example of the project when ``example_ids`` is None),
    for those with two or more labels of a question."""
    by_name = labels.load(project, questions, examples=example_ids)
    resolved = Resolution.objects.filter(project=project, question__in=questions)
    if example_ids is not None:
        resolved = resolved.filter(example_id__in=example_ids)
    settled = set(resolved.values_list("example_id", "question_id"))
    for question in questions:
        current = by_name[question.name]
        measured = per_example(current.example, current.code, current.scale)
        for index in np.flatnonzero(measured.labels >= 2):
            example_id = int(measured.example[index])
            yield LabelSummary(
                example_id=example_id,
                project=project,
                question=question,
                labels=int(measured.labels[index]),
                disagreement=float(measured.disagreement[index]),
                consensus=current.categories[int(measured.consensus[index])],
                consensus_share=float(measured.consensus_share[index]),
                resolved=(example_id, question.pk) in settled,
            )


def summaries_refresh(*, project: Project, example_ids: Sequence[int]) -> None:
    """Summarise these examples afresh (their work items locked by the caller)."""
    questions = reviewable_questions(project)
    if not example_ids or not questions:
        return
    fresh = LabelSummary.objects.bulk_create(
        list(_summaries(project, questions, example_ids)),
        update_conflicts=True,
        unique_fields=["example", "question"],
        update_fields=["labels", "disagreement", "consensus", "consensus_share", "resolved"],
    )
    # An example whose labels fell below two (sent back for a new round) has no summary.
    stale = LabelSummary.objects.filter(example_id__in=example_ids).exclude(pk__in=[row.pk for row in fresh])
    stale.delete()


def summaries_mark_resolved(*, question: Question, example_ids: Sequence[int], resolved: bool = True) -> None:
    LabelSummary.objects.filter(question=question, example_id__in=example_ids).update(resolved=resolved)


@transaction.atomic
def summaries_rebuild(*, project: Project) -> int:
    """Summarise every example of the project afresh, a chunk of examples at a time (for a migration, or after
    labels were written in bulk). Takes a share lock on the examples' summaries by replacing them all at once."""
    questions = reviewable_questions(project)
    LabelSummary.objects.filter(project=project).delete()
    ids = Example.objects.for_project(project).order_by("pk").values_list("pk", flat=True)
    written = 0
    chunk: list[int] = []
    for example_id in ids.iterator(chunk_size=REBUILD_CHUNK):
        chunk.append(example_id)
        if len(chunk) == REBUILD_CHUNK:
            written += len(LabelSummary.objects.bulk_create(_summaries(project, questions, chunk), batch_size=5000))
            chunk = []
    if chunk and questions:
        written += len(LabelSummary.objects.bulk_create(_summaries(project, questions, chunk), batch_size=5000))
    return written
