"""Submitting and editing annotations."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from annotate.answers import AnswerError, check_answers, check_display_order
from annotate.models import Annotation, AnnotationRevision, Assignment, Project, WorkItem
from annotate.services.errors import NotAssigned, ServiceError
from annotate.services.queue import one_more_live

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

MAX_DURATION_MS = 7 * 24 * 3600 * 1000


def _this_rounds_assignment(item: WorkItem, annotator: AbstractBaseUser) -> QuerySet[Assignment]:
    return Assignment.objects.filter(example_id=item.pk, annotator=annotator, round=item.round).exclude(
        status=Assignment.Status.SKIPPED
    )


def _takes_answers(item: WorkItem, assignment: Assignment) -> bool:
    """Held or done this round; or released for idling while nobody took the place, so late answers still count."""
    return assignment.status in Assignment.LIVE or item.live < item.target


def annotation_editable(*, annotation: Annotation) -> bool:
    """Whether annotation_submit would take a change to this annotation now (the same rule, without locks)."""
    item = WorkItem.objects.filter(pk=annotation.example_id).first()
    if item is None:
        return False
    assignment = _this_rounds_assignment(item, annotation.annotator).first()
    return assignment is not None and _takes_answers(item, assignment)


@transaction.atomic
def annotation_submit(
    *,
    project: Project,
    annotator: AbstractBaseUser,
    example_id: int,
    answers: Any,
    duration_ms: int | None = None,
    started_at: datetime | None = None,
    display_order: Any = None,
) -> Annotation:
    """Record the annotator's answers for an example they hold (or have done, this round: then it is an edit).

    The earlier answers of an edited annotation are kept as an AnnotationRevision.
    """
    item = WorkItem.objects.select_for_update().select_related("example").filter(pk=example_id).first()
    if item is None or item.project_id != project.pk:
        raise NotAssigned()
    assignment = _this_rounds_assignment(item, annotator).select_for_update().first()
    if assignment is None:
        raise NotAssigned()
    revived = assignment.status == Assignment.Status.RELEASED
    if not _takes_answers(item, assignment):
        raise NotAssigned("you held this example too long and it went to someone else; get the next one")
    content = item.example.content
    try:
        checked = check_answers((q.as_spec() for q in project.questions.all()), answers, content)
    except AnswerError as exc:
        raise ServiceError(exc.message, field=exc.question or "answers") from None
    try:
        order = check_display_order(display_order, content)
    except AnswerError as exc:
        raise ServiceError(exc.message, field="display_order") from None
    if duration_ms is not None and not 0 <= duration_ms <= MAX_DURATION_MS:
        raise ServiceError("duration_ms must be between 0 and one week in milliseconds", field="duration_ms")
    now = timezone.now()
    fields = {
        "answers": checked,
        "guideline_version": project.current_guideline_version() or 0,
        "round": item.round,
        "display_order": order,
        "started_at": started_at,
        "submitted_at": now,
        "duration_ms": duration_ms,
    }
    annotation = Annotation.objects.select_for_update().filter(example_id=example_id, annotator=annotator).first()
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
    if assignment.status != Assignment.Status.SUBMITTED:
        assignment.status = Assignment.Status.SUBMITTED
        assignment.finished_at = now
        assignment.save(update_fields=["status", "finished_at"])
        more = one_more_live() if revived else {}
        WorkItem.objects.filter(pk=example_id).update(done=F("done") + 1, **more)
    return annotation
