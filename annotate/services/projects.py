"""Projects, their members and guideline versions (their questions: annotate.services.questions)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from annotate.models import Guideline, Membership, Project, Role
from annotate.questions import QuestionSpec
from annotate.services import queue
from annotate.services.errors import ServiceError
from annotate.services.questions import questions_add

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# Users and memberships are written (and looked up by name) this many at a time.
USER_BATCH = 5_000


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
    assignment_timeout: int | None = None,
    guideline_text: str = "",
    guideline_note: str = "",
    questions: list[QuestionSpec] | None = None,
) -> Project:
    """Create a project with its questions and first guideline; the creator becomes its manager."""
    project = Project(name=name, description=description, overlap=overlap, created_by=created_by)
    if assignment_timeout is not None:
        project.assignment_timeout = assignment_timeout
    project.save()
    Membership.objects.create(user=created_by, project=project, role=Role.MANAGER)
    Guideline.objects.create(
        project=project, version=1, text=guideline_text, note=guideline_note, created_by=created_by
    )
    questions_add(project=project, specs=questions or [])
    return project


@transaction.atomic
def guideline_add(*, project: Project, text: str, created_by: User | None, note: str = "") -> Guideline:
    """Save a new guideline version, with a note saying what changed; earlier versions stay as they were."""
    # Two managers saving at once get consecutive versions, not a clash.
    _lock_project(project)
    last = project.guidelines.aggregate(last=Max("version"))["last"] or 0
    return Guideline.objects.create(project=project, version=last + 1, text=text, note=note, created_by=created_by)


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


def username_problem(username: str) -> str | None:
    """Why this cannot be a username, by the user model's own rules (characters, length), or None."""
    try:
        get_user_model()._meta.get_field("username").run_validators(username)
    except ValidationError as exc:
        return " ".join(exc.messages)
    return None


@dataclass(frozen=True)
class Annotators:
    """The users that imported labels name (``ids``, by username), and what it took to make them annotators:
    the users ``created``, and the users ``added`` to the project (the created ones among them)."""

    ids: dict[str, int]
    created: list[str]
    added: list[str]


def _batches(names: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(names), USER_BATCH):
        yield names[start : start + USER_BATCH]


def _user_ids(names: Sequence[str]) -> dict[str, int]:
    users = get_user_model().objects
    return {
        name: pk
        for batch in _batches(names)
        for name, pk in users.filter(username__in=batch).values_list("username", "pk")
    }


@transaction.atomic
def annotators_ensure(*, project: Project, usernames: Iterable[str]) -> Annotators:
    """Make everyone named an annotator of the project, for labels they made elsewhere: an unknown name becomes a
    user without a usable password (they cannot sign in until an administrator sets one), a user who is not a
    member becomes an annotator, and a member keeps their role."""
    names = sorted(set(usernames))
    for name in names:
        if problem := username_problem(name):
            raise ServiceError(f"{name[:200]!r} cannot be a username: {problem}", field="annotator")
    _lock_project(project)
    ids = _user_ids(names)
    created = [name for name in names if name not in ids]
    user_model = get_user_model()
    # make_password(None) is an unusable password (no hashing involved). A user of the same name created
    # meanwhile by another request is kept as it is, and found below like any existing user.
    fresh = (user_model(username=name, password=make_password(None)) for name in created)
    user_model.objects.bulk_create(fresh, batch_size=USER_BATCH, ignore_conflicts=True)
    ids.update(_user_ids(created))
    members: set[int] = set()
    for batch in _batches(names):
        batch_ids = [ids[name] for name in batch]
        members.update(
            Membership.objects.filter(project=project, user_id__in=batch_ids).values_list("user_id", flat=True)
        )
    added = [name for name in names if ids[name] not in members]
    Membership.objects.bulk_create(
        (Membership(project=project, user_id=ids[name], role=Role.ANNOTATOR) for name in added),
        batch_size=USER_BATCH,
    )
    return Annotators(ids=ids, created=created, added=added)


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
