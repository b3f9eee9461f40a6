"""Who may see or change what. Every page, API view and test goes through these.

A user who cannot see a project gets 404 (its existence is not revealed); a member whose role is too low for
an action gets 403.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.http import Http404

from annotate.models import ROLE_RANK, Membership, Project, Role

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    AnyUser = AbstractBaseUser | AnonymousUser


def role_in(user: AnyUser, project: Project) -> str | None:
    """The user's role in the project; staff act as managers everywhere."""
    if not user.is_authenticated:
        return None
    if user.is_staff:
        return Role.MANAGER
    return Membership.objects.filter(user=user, project=project).values_list("role", flat=True).first()


def has_role(role: str | None, at_least: str) -> bool:
    return role is not None and ROLE_RANK[role] >= ROLE_RANK[at_least]


def project_for_user(user: AnyUser, project_id: int | str, *, at_least: str = Role.ANNOTATOR) -> Project:
    """The project, with ``user_role`` set, if the user may see it (else 404) and has the role (else 403)."""
    if not user.is_authenticated:
        raise Http404("No such project.")
    try:
        project_pk = int(project_id)
    except (TypeError, ValueError):
        raise Http404("No such project.") from None
    if user.is_staff:
        project = Project.objects.filter(pk=project_pk).first()
        role: str | None = Role.MANAGER
    else:
        membership = Membership.objects.select_related("project").filter(user=user, project_id=project_pk).first()
        project, role = (membership.project, membership.role) if membership else (None, None)
    if project is None:
        raise Http404("No such project.")
    if not has_role(role, at_least):
        raise PermissionDenied(f"This needs the {at_least} role in project {project.name!r}.")
    project.user_role = role  # type: ignore[attr-defined]
    return project
