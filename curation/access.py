"""Who may see or change a job. Pages, API views and tests all go through these.

A job is visible to staff, to the current managers of its project, and to the user who started it while they
are still a member of the project (``JobQuerySet.visible_to``). Anyone else gets the same 404 whether the job
exists or not; a user who may see a job but not manage its project gets 403 for changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.http import Http404

from annotate.access import may_manage, role_in
from curation.models import Job

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

    AnyUser = User | AnonymousUser

NOT_FOUND = "No such job."


def job_for_user(user: AnyUser, job_id: int | str) -> Job:
    """The job, if the user may see it (else 404)."""
    try:
        pk = int(job_id)
    except (TypeError, ValueError):
        raise Http404(NOT_FOUND) from None
    job = Job.objects.visible_to(user).select_related("project", "created_by").filter(pk=pk).first()
    if job is None:
        raise Http404(NOT_FOUND)
    return job


def may_manage_job(user: AnyUser, job: Job) -> bool:
    """Whether the user may change the job (cancel it): staff, and the current managers of its project."""
    if not user.is_authenticated:
        return False
    if job.project is None:
        return bool(user.is_staff)
    return may_manage(role_in(user, job.project))


def job_for_manager(user: AnyUser, job_id: int | str) -> Job:
    """The job, if the user may see it (else 404) and manage its project (else 403)."""
    job = job_for_user(user, job_id)
    if not may_manage_job(user, job):
        raise PermissionDenied("Only the managers of the job's project may change it.")
    return job
