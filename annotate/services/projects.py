"""Projects, their members, questions and guideline versions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Max, Value, When
from django.db.models.functions import Greatest

from annotate.models import Assignment, Guideline, Membership, Project, Question, Role, WorkItem
from annotate.questions import QuestionSpec
from annotate.services.errors import ServiceError

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


@transaction.atomic
def project_create(
    *,
    name: str,
    created_by: AbstractBaseUser,
    description: str = "",
    overlap: int = 1,
    guideline_text: str = "",
    questions: list[QuestionSpec] | None = None,
) -> Project:
    """Create a project with its questions and first guideline; the creator becomes its manager."""
    project = Project.objects.create(name=name, description=description, overlap=overlap, created_by=created_by)
    Membership.objects.create(user=created_by, project=project, role=Role.MANAGER)
    Guideline.objects.create(project=project, version=1, text=guideline_text, created_by=created_by)
    questions_add(project=project, specs=questions or [])
    return project


@transaction.atomic
def questions_add(*, project: Project, specs: list[QuestionSpec]) -> list[Question]:
    taken = set(project.questions.values_list("name", flat=True))
    clash = [spec.name for spec in specs if spec.name in taken]
    if clash:
        raise ServiceError(f"the project already has a question named {clash[0]!r}", field="name", code="conflict")
    start = (project.questions.aggregate(last=Max("position"))["last"] or 0) + 1
    return Question.objects.bulk_create(
        Question(
            project=project,
            name=spec.name,
            kind=spec.kind,
            options=spec.options,
            required=spec.required,
            level=spec.level,
            position=start + index,
        )
        for index, spec in enumerate(specs)
    )


@transaction.atomic
def guideline_add(*, project: Project, text: str, created_by: AbstractBaseUser | None) -> Guideline:
    """Save a new guideline version; earlier versions stay as they were."""
    # Lock the project row so two managers saving at once get consecutive versions, not a clash.
    Project.objects.select_for_update().filter(pk=project.pk).first()
    last = project.guidelines.aggregate(last=Max("version"))["last"] or 0
    return Guideline.objects.create(project=project, version=last + 1, text=text, created_by=created_by)


@transaction.atomic
def member_set(*, project: Project, username: str, role: str) -> tuple[Membership, bool]:
    """Add a user to the project with a role, or change their role; returns (membership, created)."""
    if role not in Role.values:
        raise ServiceError(f"role must be one of {', '.join(Role.values)}", field="role")
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise ServiceError(f"there is no user named {username!r}", field="username", code="not_found")
    try:
        with transaction.atomic():
            membership, created = Membership.objects.update_or_create(
                user=user, project=project, defaults={"role": role}
            )
    except IntegrityError:  # a concurrent request added the same member first
        membership, created = Membership.objects.get(user=user, project=project), False
    return membership, created


@transaction.atomic
def member_remove(*, project: Project, username: str) -> None:
    membership = Membership.objects.filter(project=project, user__username=username).first()
    if membership is None:
        raise ServiceError(f"{username!r} is not a member of this project", field="username", code="not_found")
    if (
        membership.role == Role.MANAGER
        and not project.memberships.filter(role=Role.MANAGER).exclude(pk=membership.pk).exists()
    ):
        raise ServiceError("a project must keep at least one manager; add another manager first", code="conflict")
    membership.delete()
    # An example they held goes back to the queue at once rather than at the idle timeout.
    for held in Assignment.objects.filter(project=project, annotator=membership.user, status=Assignment.Status.ACTIVE):
        held.status = Assignment.Status.RELEASED
        held.save(update_fields=["status"])
        WorkItem.objects.filter(pk=held.example_id, round=held.round).update(live=F("live") - 1, open=Value(True))


@transaction.atomic
def project_update(
    *,
    project: Project,
    name: str | None = None,
    description: str | None = None,
    overlap: int | None = None,
    assignment_timeout: int | None = None,
) -> Project:
    """Change a project's settings; a new overlap applies to every example still in the queue."""
    fields = {"name": name, "description": description, "overlap": overlap, "assignment_timeout": assignment_timeout}
    for field, value in fields.items():
        if value is not None:
            setattr(project, field, value)
    project.save()
    if overlap is not None:
        # An example already handed to more annotators than the new overlap keeps them (target never below live).
        WorkItem.objects.filter(project=project).update(
            target=Greatest(F("live"), Value(overlap) + F("extra")),
            open=Case(When(live__lt=Value(overlap) + F("extra"), then=Value(True)), default=Value(False)),
        )
    return project
