"""Submitting and editing annotations."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from annotate import figures
from annotate.answers import DURATION_RULE, AnswerError, check_answers, check_display_order, duration_allowed
from annotate.models import Annotation, AnnotationRevision, Assignment, Project, Question
from annotate.services import queue
from annotate.services.errors import ServiceError
from annotate.services.summaries import summaries_refresh_example

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def _questions(project: Project) -> list[Question]:
    """The project's questions in their order, read after the work item is locked (queue.questions_changing says
    why) by a plain query, as a submit's other statements are (queue.lock_for_answer says why)."""
    query = "SELECT * FROM annotate_question WHERE project_id = %s ORDER BY position, id"
    return list(Question.objects.raw(query, [project.pk]))


def annotation_editable(*, annotation: Annotation) -> bool:
    """Whether annotation_submit would take a change to this annotation now."""
    return queue.annotation_editable(example_id=annotation.example_id, annotator_id=annotation.annotator_id)


@transaction.atomic
def annotation_submit(
    *,
    project: Project,
    annotator: User,
    example_id: int,
    answers: Any,
    duration_ms: int | None = None,
    started_at: datetime | None = None,
    display_order: Any = None,
) -> tuple[Annotation, bool]:
    """Record the annotator's answers for an example they hold (or have done, this round: then it is an edit).
    Returns the annotation, and whether it is new (a new one has no earlier answers: the API's answer lists none
    without asking the database).

    The earlier answers of an edited annotation are kept as an AnnotationRevision.
    """
    slot = queue.lock_for_answer(project=project, annotator=annotator, example_id=example_id)
    item, content = slot.item, slot.content
    questions = _questions(project)
    try:
        checked = check_answers((q.as_spec() for q in questions), answers, content)
    except AnswerError as exc:
        raise ServiceError(exc.message, field=exc.question or "answers") from None
    try:
        order = check_display_order(display_order, content)
    except AnswerError as exc:
        raise ServiceError(exc.message, field="display_order") from None
    if duration_ms is not None and not duration_allowed(duration_ms):
        raise ServiceError(f"duration_ms {DURATION_RULE}", field="duration_ms")
    now = timezone.now()
    fields = {
        "answers": checked,
        "guideline_version": slot.guideline_version or 0,
        "round": item.round,
        "display_order": order,
        "started_at": started_at,
        "submitted_at": now,
        "duration_ms": duration_ms,
    }
    # An annotation to replace exists only if the annotator answered already: this round (their assignment is
    # submitted) or an earlier one (annotations are one per example and annotator). A first answer in the first
    # round needs no look for one.
    edit = slot.assignment.status == Assignment.Status.SUBMITTED or item.round > 1
    annotation = (
        Annotation.objects.select_for_update().filter(example_id=example_id, annotator=annotator).first()
        if edit
        else None
    )
    created = annotation is None
    if annotation is None:
        annotation = Annotation.objects.create(example_id=example_id, project=project, annotator=annotator, **fields)
    else:
        AnnotationRevision.objects.create(
            annotation=annotation,
            answers=annotation.answers,
            guideline_version=annotation.guideline_version,
            round=annotation.round,
            display_order=annotation.display_order,
            submitted_at=annotation.submitted_at,
            duration_ms=annotation.duration_ms,
        )
        for field, value in fields.items():
            setattr(annotation, field, value)
        annotation.save(update_fields=list(fields))
        annotation.annotator = annotator  # the row's own (it was found by them): no query to show whose it is
    if queue.answer_recorded(slot) >= 2:
        summaries_refresh_example(project=project, item=item, questions=questions)
    else:  # one label cannot disagree: there is no summary to write, only figures to mark stale
        figures.labels_changed(project.pk)
    return annotation, created
