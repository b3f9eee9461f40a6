"""The curation pages: importing a file, and following a job until it finishes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render

from annotate.access import has_role, project_for_user, role_in
from annotate.models import Role
from curation.forms import ImportForm
from curation.models import Job
from curation.services.imports import ImportRequestError, import_start

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

RECENT_JOBS = 20


@login_required
def import_page(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for_user(request.user, project_id, at_least=Role.MANAGER)
    form = ImportForm(request.POST, request.FILES) if request.method == "POST" else ImportForm()
    if form.is_bound and form.is_valid():
        try:
            job = import_start(project=project, created_by=request.user, upload=form.cleaned_data["file"])
        except ImportRequestError as exc:
            form.add_error("file", str(exc))
        else:
            return redirect("curation:job_detail", job_id=job.pk)
    context = {
        "project": project,
        "form": form,
        "jobs": Job.objects.for_project(project)
        .filter(kind=Job.Kind.IMPORT)
        .select_related("created_by")[:RECENT_JOBS],
        "max_record_mb": settings.WINNOW_IMPORT_MAX_RECORD_BYTES / 1_000_000,
    }
    return render(request, "curation/import.html", context)


@login_required
def job_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    job = get_object_or_404(Job.objects.visible_to(request.user).select_related("project", "created_by"), pk=job_id)
    role = role_in(request.user, job.project) if job.project else None
    details = (job.error or {}).get("details")
    bad_records = details.get("errors", []) if isinstance(details, dict) else []
    bad_total = details.get("total", len(bad_records)) if isinstance(details, dict) else 0
    context = {
        "job": job,
        "bad_records": bad_records,
        "bad_more": max(0, bad_total - len(bad_records)),
        "can_browse": has_role(role, Role.REVIEWER),
        "can_import": has_role(role, Role.MANAGER),
    }
    template = "curation/_job_status.html" if request.htmx else "curation/job_detail.html"
    return render(request, template, context)
