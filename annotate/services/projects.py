"""Projects, their members, questions and guideline versions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max

from annotate.models import Guideline, Membership, Project, Question, Role
from annotate.questions import QuestionSpec
from annotate.services import queue
from annotate.services.errors import ServiceError

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def _lock_project(project: Project) -> None:
    """Serialise changes to the project's membership and guideline versions. NO KEY UPDATE, so that the foreign-key
    checks of rows being inserted meanwhile (assignments, annotations) do not wait for it."""
    Project.objects.select_for_update(no_key=True).filter(pk=project.pk).first()


@transaction.atomic
def project_create(
    *,
    name: str,
    created_by: User,
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
def guideline_add(*, project: Project, text: str, created_by: User | None) -> Guideline:
    """Save a new guideline version; earlier versions stay as they were."""
    # Two managers saving at once get consecutive versions, not a clash.
    _lock_project(project)
    last = project.guidelines.aggregate(last=Max("version"))["last"] or 0
    return Guideline.objects.create(project=project, version=last + 1, text=text, created_by=created_by)


def _refuse_leaving_no_manager(project: Project, membership: Membership, doing: str) -> None:
    others = project.memberships.filter(role=Role.MANAGER).exclude(pk=membership.pk)
    if membership.role == Role.MANAGER and not others.exists():
        raise ServiceError(
            f"a project must keep at least one manager, so {membership.user.get_username()!r} cannot be {doing}; "
            "make someone else a manager first",
            code="conflict",
        )


@transaction.atomic
def member_set(*, project: Project, username: str, role: str) -> tuple[Membership, bool]:
    """Add a user to the project with a role, or change their role; returns (membership, created)."""
    if role not in Role.values:
        raise ServiceError(f"role must be one of {', '.join(Role.values)}", field="role")
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise ServiceError(f"there is no user named {username!r}", field="username", code="not_found")
    _lock_project(project)
    membership = Membership.objects.filter(user=user, project=project).select_related("user").first()
    if membership is None:
        return Membership.objects.create(user=user, project=project, role=role), True
    if role != Role.MANAGER:
        _refuse_leaving_no_manager(project, membership, f"made {role}")
    if membership.role != role:
        membership.role = role
        membership.save(update_fields=["role"])
    return membership, False


@transaction.atomic
def member_remove(*, project: Project, username: str) -> None:
    """Remove a member; an example they hold goes back to the queue at once rather than at the idle timeout."""
    _lock_project(project)
    membership = Membership.objects.filter(project=project, user__username=username).select_related("user").first()
    if membership is None:
        raise ServiceError(f"{username!r} is not a member of this project", field="username", code="not_found")
    _refuse_leaving_no_manager(project, membership, "removed")
    membership.delete()
    queue.member_released(project=project, user=membership.user)


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
        queue.overlap_changed(project=project, overlap=overlap)
    return project
