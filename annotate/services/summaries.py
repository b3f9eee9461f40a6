"""Keeping each example's LabelSummary rows in step with the labels and resolutions they summarise.

Called inside the transaction that changes a label (an answer, a reopen) or a resolution, after the example's
work item is locked (the queue's lock order), so two changes to one example are summarised one after the other.
A rebuild summarises a whole project (a migration, labels written in bulk) in chunks of examples, with COPY on
PostgreSQL.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import orjson
from django.db import connection, transaction

from annotate import figures, labels
from annotate.models import Example, LabelSummary, Project, Question, Resolution, WorkItem
from annotate.quality.disagreement import PerExample, per_example

REBUILD_CHUNK = 50_000
NO_RESOLUTIONS = np.zeros((0, 2), dtype=np.int64)
COPY_SQL = (
    "COPY annotate_labelsummary (example_id, project_id, question_id, labels, disagreement, consensus, "
    "consensus_share, resolved) FROM STDIN"
)


# One example's summaries, written as a rebuild would write them; whether each question is resolved is looked up
# here (resolutions, like answers, change only with the example's work item locked).
EXAMPLE_UPSERT_SQL = """
WITH dropped AS (
    DELETE FROM annotate_labelsummary WHERE example_id = %(example)s AND question_id = ANY(%(dropped)s::bigint[])
)
INSERT INTO annotate_labelsummary
    (example_id, project_id, question_id, labels, disagreement, consensus, consensus_share, resolved)
SELECT %(example)s, %(project)s, fresh.question, fresh.labels, fresh.disagreement, fresh.consensus::jsonb, fresh.share,
    EXISTS (SELECT 1 FROM annotate_resolution r WHERE r.example_id = %(example)s AND r.question_id = fresh.question)
FROM unnest(
    %(question)s::bigint[], %(labels)s::integer[], %(disagreement)s::double precision[], %(consensus)s::text[],
    %(share)s::double precision[]
) AS fresh (question, labels, disagreement, consensus, share)
ON CONFLICT (example_id, question_id) DO UPDATE SET labels = EXCLUDED.labels, disagreement = EXCLUDED.disagreement,
    consensus = EXCLUDED.consensus, consensus_share = EXCLUDED.consensus_share, resolved = EXCLUDED.resolved
"""


def reviewable_questions(project: Project) -> list[Question]:
    return list(project.questions.filter(kind__in=labels.REVIEWABLE_KINDS).order_by("position", "id"))


@dataclass(frozen=True)
class Summaries:
    """Fresh summaries of one question, as columns: examples with two or more current labels."""

    question: Question
    example: npt.NDArray[np.int64]
    labels: npt.NDArray[np.int64]
    disagreement: npt.NDArray[np.float64]
    consensus: list[bytes]  # JSON of the consensus answer, per example
    consensus_share: npt.NDArray[np.float64]
    resolved: npt.NDArray[np.bool_]


def _summarise(project: Project, questions: list[Question], examples: Sequence[int] | range) -> Iterator[Summaries]:
    by_name = labels.load(project, questions, examples=examples, with_times=False)  # only the order counts
    measured = {question.pk: _measure(by_name[question.name]) for question in questions}
    # Only examples with two or more labels have a summary: a first answer has none, nor a resolution to look up.
    any_kept = any((result.labels >= 2).any() for result in measured.values())
    resolved_pairs = _resolved(project, questions, examples) if any_kept else NO_RESOLUTIONS
    for question in questions:
        yield _kept(question, by_name[question.name], measured[question.pk], resolved_pairs)


def _measure(current: labels.Labels) -> PerExample:
    return per_example(current.example, current.code, current.scale)


def _kept(
    question: Question, current: labels.Labels, result: PerExample, resolved_pairs: npt.NDArray[np.int64]
) -> Summaries:
    """The summaries of the examples with two or more labels; ``resolved_pairs``: (question id, example id) of the
    examples' resolutions."""
    keep = result.labels >= 2
    example = result.example[keep]
    category_json = [orjson.dumps(category) for category in current.categories]
    return Summaries(
        question=question,
        example=example,
        labels=result.labels[keep],
        disagreement=result.disagreement[keep],
        consensus=[category_json[code] for code in result.consensus[keep].tolist()],
        consensus_share=result.consensus_share[keep],
        resolved=np.isin(example, resolved_pairs[resolved_pairs[:, 0] == question.pk, 1]),
    )


def _resolved(project: Project, questions: list[Question], examples: Sequence[int] | range) -> npt.NDArray[np.int64]:
    """(question id, example id) of every resolution among these examples."""
    settled = Resolution.objects.filter(project=project, question__in=questions)
    if isinstance(examples, range):
        settled = settled.filter(example_id__gte=examples.start, example_id__lt=examples.stop)
    else:
        settled = settled.filter(example_id__in=examples)
    return np.array(list(settled.values_list("question_id", "example_id")), dtype=np.int64).reshape(-1, 2)


def _rows(project: Project, summaries: Summaries) -> Iterator[LabelSummary]:
    for index, example_id in enumerate(summaries.example.tolist()):
        yield LabelSummary(
            example_id=example_id,
            project=project,
            question=summaries.question,
            labels=int(summaries.labels[index]),
            disagreement=float(summaries.disagreement[index]),
            consensus=orjson.loads(summaries.consensus[index]),
            consensus_share=float(summaries.consensus_share[index]),
            resolved=bool(summaries.resolved[index]),
        )


def summaries_refresh(
    *,
    project: Project,
    example_ids: Sequence[int],
    questions: Iterable[Question] | None = None,
    labels_may_drop: bool = True,
) -> None:
    """Summarise these examples afresh (their work items locked by the caller). ``questions``: the project's, when
    the caller has them already; ``labels_may_drop`` False when the change only adds or edits labels (an answer),
    so no summary can have to go."""
    if example_ids:
        figures.labels_changed(project.pk)
    asked = project.questions.all() if questions is None else questions
    questions = [question for question in asked if question.kind in labels.REVIEWABLE_KINDS]
    if not example_ids or not questions:
        return
    fresh = [row for summaries in _summarise(project, questions, example_ids) for row in _rows(project, summaries)]
    kept = LabelSummary.objects.bulk_create(
        fresh,
        update_conflicts=True,
        unique_fields=["example", "question"],
        update_fields=["labels", "disagreement", "consensus", "consensus_share", "resolved"],
    )
    if labels_may_drop:
        # An example whose labels fell below two (sent back for a new round) has no summary.
        LabelSummary.objects.filter(example_id__in=example_ids).exclude(pk__in=[row.pk for row in kept]).delete()


def summaries_refresh_example(*, project: Project, item: WorkItem, questions: Iterable[Question]) -> None:
    """``summaries_refresh`` of the one example an answer was just stored for (a submit), its work item ``item``
    locked by the caller: on PostgreSQL, the example's labels read with one plain query (``labels.load_example``)
    and its summaries written with one statement, which also looks up its resolutions and removes the summary of a
    question it no longer has two labels of (an edit that leaves an optional question unanswered)."""
    if connection.vendor != "postgresql":  # the general refresh, which marks the figures stale too
        summaries_refresh(project=project, example_ids=[item.pk], questions=questions)
        return
    figures.labels_changed(project.pk)
    questions = [question for question in questions if question.kind in labels.REVIEWABLE_KINDS]
    if not questions:
        return
    by_name = labels.load_example(questions, example_id=item.pk, round_=item.round)
    fresh = [
        _kept(question, by_name[question.name], _measure(by_name[question.name]), NO_RESOLUTIONS)
        for question in questions
    ]
    kept = [summaries for summaries in fresh if len(summaries.example)]
    with connection.cursor() as cursor:
        cursor.execute(
            EXAMPLE_UPSERT_SQL,
            {
                "example": item.pk,
                "project": project.pk,
                "dropped": [summaries.question.pk for summaries in fresh if not len(summaries.example)],
                "question": [summaries.question.pk for summaries in kept],
                "labels": [int(summaries.labels[0]) for summaries in kept],
                "disagreement": [float(summaries.disagreement[0]) for summaries in kept],
                "consensus": [summaries.consensus[0].decode() for summaries in kept],
                "share": [float(summaries.consensus_share[0]) for summaries in kept],
            },
        )


def summaries_mark_resolved(*, question: Question, example_ids: Sequence[int], resolved: bool = True) -> None:
    LabelSummary.objects.filter(question=question, example_id__in=example_ids).update(resolved=resolved)


def _copy(project: Project, summaries: Summaries) -> int:
    """Write a question's summaries with COPY (PostgreSQL's text format; JSON escapes need their backslashes
    doubled, and orjson leaves no tab or newline unescaped)."""
    lines = io.BytesIO()
    prefix = b"\t%d\t%d\t" % (project.pk, summaries.question.pk)
    for example_id, count, score, consensus, share, resolved in zip(
        summaries.example.tolist(),
        summaries.labels.tolist(),
        summaries.disagreement.tolist(),
        summaries.consensus,
        summaries.consensus_share.tolist(),
        summaries.resolved.tolist(),
        strict=True,
    ):
        lines.write(
            b"%d%s%d\t%r\t%s\t%r\t%s\n"
            % (example_id, prefix, count, score, consensus.replace(b"\\", b"\\\\"), share, b"t" if resolved else b"f")
        )
    lines.seek(0)
    with connection.cursor() as cursor:
        cursor.copy_expert(COPY_SQL, lines)
    return len(summaries.example)


@transaction.atomic
def summaries_rebuild(*, project: Project) -> int:
    """Summarise every example of the project afresh, a range of example ids at a time."""
    figures.labels_changed(project.pk)
    questions = reviewable_questions(project)
    LabelSummary.objects.filter(project=project).delete()
    bounds = Example.objects.for_project(project).order_by("pk").values_list("pk", flat=True)
    first, last = bounds.first(), bounds.last()
    if first is None or last is None or not questions:
        return 0
    written = 0
    for start in range(first, last + 1, REBUILD_CHUNK):
        for summaries in _summarise(project, questions, range(start, min(start + REBUILD_CHUNK, last + 1))):
            if connection.vendor == "postgresql":
                written += _copy(project, summaries)
            else:
                written += len(LabelSummary.objects.bulk_create(_rows(project, summaries), batch_size=2000))
    return written
