"""Who may see or change what. Every page, API view and test goes through these.

A user who cannot see a project gets 404 (its existence is not revealed, and an object inside a project they
cannot see gets the same 404 as one that does not exist); a member whose role is too low for an action gets 403.

Each rule is one named predicate over the user's ``Role`` (``may_reopen(role)``), used alike by pages, API and
tests, so that the rule cannot drift between them. The role is an explicit value (``ProjectAccess.role``), handed
to whoever needs it, never an attribute stuck onto a Project.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.http import Http404

from annotate.models import Membership, Project
from annotate.roles import (
    Role,
    Rule,
    has_role,
    may_annotate,
    may_browse_examples,
    may_manage,
    may_reopen,
    may_review,
    may_see_guideline_history,
    may_see_members,
    may_see_others_work,
)

# The rules are defined in annotate.roles (so models may use them too) and asked through this module.
__all__ = [
    "NO_SUCH_PROJECT",
    "STAFF_ONLY",
    "ProjectAccess",
    "Role",
    "Rule",
    "access_to_object",
    "has_role",
    "may_annotate",
    "may_browse_examples",
    "may_create_users",
    "may_manage",
    "may_reopen",
    "may_review",
    "may_see_annotation",
    "may_see_guideline_history",
    "may_see_members",
    "may_see_others_work",
    "project_access",
    "role_in",
    "roles_in",
    "signed_in",
]

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

    from annotate.models import Annotation

    AnyUser = User | AnonymousUser


def may_see_annotation(role: Role | None, user: AnyUser, annotation: Annotation) -> bool:
    """Reviewers and managers see every annotation of the project; annotators only their own."""
    return may_review(role) or (may_annotate(role) and annotation.annotator_id == user.pk)


STAFF_ONLY = "Only staff users may create user accounts."


def may_create_users(user: AnyUser) -> bool:
    """Accounts are made by staff (in a project's members page, the API and the admin), not by project managers."""
    return bool(user.is_authenticated and user.is_staff)


# Looking a user's access up ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectAccess:
    """A project as one user may use it: the project, the user (signed in, as access needs) and their role."""

    project: Project
    role: Role
    user: User

    # The rules above for this user, for templates (which cannot call a function with an argument).
    @property
    def may_review(self) -> bool:
        return may_review(self.role)

    @property
    def may_reopen(self) -> bool:
        return may_reopen(self.role)

    @property
    def may_manage(self) -> bool:
        return may_manage(self.role)

    @property
    def may_see_others_work(self) -> bool:
        return may_see_others_work(self.role)

    @property
    def may_see_members(self) -> bool:
        return may_see_members(self.role)

    @property
    def may_see_guideline_history(self) -> bool:
        return may_see_guideline_history(self.role)

    @property
    def may_browse_examples(self) -> bool:
        return may_browse_examples(self.role)


NO_SUCH_PROJECT = "No such project."
SIGN_IN_FIRST = "Sign in first."


def signed_in(user: AnyUser) -> User:
    """The signed-in user, for a view that acts as them without a project access (which carries its own ``user``).

    Such views already require sign-in (``@login_required``, ``IsAuthenticated``): an anonymous user here means a
    view lost that guard, and is refused (403) rather than let through.
    """
    if not user.is_authenticated:
        raise PermissionDenied(SIGN_IN_FIRST)
    return user


def role_in(user: AnyUser, project: Project | int) -> Role | None:
    """The user's role in the project (a Project, or its id: a project that does not exist gives None); staff act
    as managers everywhere."""
    if not user.is_authenticated:
        return None
    project_id = project.pk if isinstance(project, Project) else project
    if user.is_staff:
        exists = isinstance(project, Project) or Project.objects.filter(pk=project_id).exists()
        return Role.MANAGER if exists else None
    role = Membership.objects.filter(user=user, project_id=project_id).values_list("role", flat=True).order_by().first()
    return Role(role) if role is not None else None


def roles_in(user: AnyUser, projects: Iterable[Project]) -> dict[int, Role]:
    """The user's role in each of the projects they may see, by project id (one query)."""
    ids = [project.pk for project in projects]
    if not user.is_authenticated:
        return {}
    if user.is_staff:
        return dict.fromkeys(ids, Role.MANAGER)
    rows = Membership.objects.filter(user=user, project_id__in=ids).values_list("project_id", "role")
    return {project_id: Role(role) for project_id, role in rows}


def project_access(
    user: AnyUser, project_id: int | str, *, may: Rule = may_annotate, missing: str = NO_SUCH_PROJECT
) -> ProjectAccess:
    """The project and the user's role, if the user may see it (else 404 saying ``missing``) and the rule ``may``
    allows their role (else 403)."""
    if not user.is_authenticated:
        raise Http404(missing)
    try:
        project_pk = int(project_id)
    except (TypeError, ValueError):
        raise Http404(missing) from None
    project: Project | None
    role: Role | None
    if user.is_staff:
        project, role = Project.objects.filter(pk=project_pk).first(), Role.MANAGER
    else:
        # One row at most. Unordered (first() then orders by id): Membership's default order would join auth_user
        # for the username, on every request.
        membership = (
            Membership.objects.select_related("project").filter(user=user, project_id=project_pk).order_by().first()
        )
        project, role = (membership.project, Role(membership.role)) if membership else (None, None)
    if project is None or role is None:
        raise Http404(missing)
    if not may(role):
        raise PermissionDenied(f"This needs the {may.needs} role in project {project.name!r} (to {may.doc}).")
    return ProjectAccess(project=project, role=role, user=user)


def access_to_object(user: AnyUser, project_id: int | None, *, may: Rule = may_annotate, missing: str) -> ProjectAccess:
    """Access to the project an object (example, annotation, job) belongs to.

    ``project_id`` is None when the object does not exist. Either way a user who cannot see the project gets the
    same 404 (``missing``), so the answer does not tell them whether the object exists in someone else's project.
    """
    if project_id is None or not user.is_authenticated:
        raise Http404(missing)
    return project_access(user, project_id, may=may, missing=missing)
