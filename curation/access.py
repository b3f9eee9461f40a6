"""Who may see or change a job or a dataset version. Pages, API views and tests all go through these.

A job is visible to staff, to the current managers of its project, and to the user who started it while they
are still a member of the project (``JobQuerySet.visible_to``). Anyone else gets the same 404 whether the job
exists or not; a user who may see a job but not manage its project gets 403 for changes.

A dataset version is read by those who may browse its project's examples (reviewers and managers); one being
built is no one's to see, so it is a 404 like a version that does not exist.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.http import Http404

from annotate.access import ProjectAccess, Rule, access_to_object, may_browse_examples, may_manage, role_in
from curation.models import ChatTemplate, DatasetVersion, Export, Job

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

    AnyUser = User | AnonymousUser

NOT_FOUND = "No such job."
NO_SUCH_VERSION = "No such version."


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


def version_access(
    user: AnyUser, version_id: int | str, *, may: Rule = may_browse_examples
) -> tuple[DatasetVersion, ProjectAccess]:
    """A ready version, if the user may see its project (else 404, the same whether it exists elsewhere or not),
    with the user's access to the project; 403 if ``may`` refuses their role."""
    try:
        pk = int(version_id)
    except (TypeError, ValueError):
        raise Http404(NO_SUCH_VERSION) from None
    version = DatasetVersion.objects.ready().select_related("project", "created_by").filter(pk=pk).first()
    access = access_to_object(user, version.project_id if version else None, may=may, missing=NO_SUCH_VERSION)
    assert version is not None
    return version, access


def version_for(user: AnyUser, version_id: int | str, *, may: Rule = may_browse_examples) -> DatasetVersion:
    """A ready version of a project the user may browse (see ``version_access``)."""
    return version_access(user, version_id, may=may)[0]


NO_SUCH_EXPORT = "No such export."
NO_SUCH_TEMPLATE = "No such template."


def export_for(user: AnyUser, export_id: int | str) -> Export:
    """An export of a project the user manages (else 404 if they can't see the project, 403 if they can)."""
    try:
        pk = int(export_id)
    except (TypeError, ValueError):
        raise Http404(NO_SUCH_EXPORT) from None
    export = Export.objects.select_related("version", "project", "created_by").filter(pk=pk).first()
    access_to_object(user, export.project_id if export else None, may=may_manage, missing=NO_SUCH_EXPORT)
    assert export is not None
    return export


def template_for(user: AnyUser, template_id: int | str) -> ChatTemplate:
    """A project's chat template, for the project's managers (404 / 403 as for exports)."""
    try:
        pk = int(template_id)
    except (TypeError, ValueError):
        raise Http404(NO_SUCH_TEMPLATE) from None
    template = ChatTemplate.objects.filter(pk=pk).first()
    access_to_object(user, template.project_id if template else None, may=may_manage, missing=NO_SUCH_TEMPLATE)
    assert template is not None
    return template
