"""The import page, and following a job until it finishes (or cancelling it)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from annotate.access import may_browse_examples, may_manage, project_access, role_in
from curation.access import job_for_manager, job_for_user, may_manage_job
from curation.explain.steps import step_summary
from curation.forms import ImportForm
from curation.models import Job
from curation.services.imports import ImportRequestError, import_start
from curation.services.jobs import JobFinishedError, job_cancel

if TYPE_CHECKING:
    from django.http import HttpResponse
    from django_htmx.middleware import HtmxDetails


class HtmxRequest(HttpRequest):
    """A request through django-htmx's middleware, which says whether htmx sent it (``request.htmx``)."""

    htmx: HtmxDetails


RECENT_JOBS = 20


@login_required
def import_page(request: HtmxRequest, project_id: int) -> HttpResponse:
    access = project_access(request.user, project_id, may=may_manage)
    project = access.project
    form = ImportForm(request.POST, request.FILES) if request.method == "POST" else ImportForm()
    if form.is_bound and form.is_valid():
        try:
            job = import_start(
                project=project,
                created_by=access.user,
                upload=form.cleaned_data["file"],
                on_duplicate=form.cleaned_data["on_duplicate"],
            )
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
    return render(request, "curation/import.html", context, status=400 if form.errors else 200)


def _render_job(request: HtmxRequest, job: Job, *, notice: str = "", status: int = 200) -> HttpResponse:
    role = role_in(request.user, job.project) if job.project else None
    details = (job.error or {}).get("details")
    bad_records = details.get("errors", []) if isinstance(details, dict) else []
    bad_total = details.get("total", len(bad_records)) if isinstance(details, dict) else 0
    duplicates = (job.result or {}).get("duplicates") or {}
    context = {
        "job": job,
        "bad_records": bad_records,
        # Label imports name the key at fault (answers.quality, submitted_at); the example import's reasons say it.
        "bad_fields": any(isinstance(problem, dict) and problem.get("field") for problem in bad_records),
        "bad_more": max(0, bad_total - len(bad_records)),
        "duplicates": duplicates,
        "duplicates_more": max(0, duplicates.get("total", 0) - len(duplicates.get("records", []))),
        "can_browse": may_browse_examples(role),
        "can_import": may_manage(role),
        "can_cancel": not job.is_finished and may_manage_job(request.user, job),
        "notice": notice,
        "pipeline": _pipeline(job) if job.kind == Job.Kind.PIPELINE else None,
    }
    template = "curation/_job_status.html" if request.htmx else "curation/job_detail.html"
    return render(request, template, context, status=status)


_STAGE_STEPS = re.compile(r"^(?:merging )?steps? (\d+)(?:-(\d+))?\b")


def _pipeline(job: Job) -> dict[str, Any]:
    """A pipeline job as its page shows it: each step in words, with where the run is (from the stage the runner
    names, "step 2 of 4: dedup minhash"), and, once it succeeded, its results."""
    params = job.params or {}
    steps = [step for step in params.get("steps") or [] if isinstance(step, dict)]
    first = last = None
    if job.status == Job.Status.RUNNING and (match := _STAGE_STEPS.match(job.stage)):
        first = int(match[1])
        last = int(match[2] or match[1])
    rows = []
    for number, step in enumerate(steps, 1):
        if job.status == Job.Status.SUCCEEDED or (first is not None and number < first):
            state = "done"
        elif first is not None and last is not None and first <= number <= last:
            state = "running"
        else:
            state = "waiting"
        rows.append({"number": number, "summary": step_summary(step), "state": state})
    result = job.result or {}
    return {
        "steps": rows,
        "warnings": result.get("warnings", params.get("warnings") or []),
        "results": result.get("steps") or [],
        "version": result.get("version"),
        "trial": params.get("sample") is not None,
    }


@login_required
def job_detail(request: HtmxRequest, job_id: int) -> HttpResponse:
    return _render_job(request, job_for_user(request.user, job_id))


@login_required
@require_POST
def job_cancel_view(request: HtmxRequest, job_id: int) -> HttpResponse:
    job = job_for_manager(request.user, job_id)
    try:
        job_cancel(job=job)
    except JobFinishedError as exc:
        # htmx swaps only 2xx answers: it gets the job as it is with the reason; a plain form gets a 409.
        return _render_job(request, exc.job, notice=str(exc), status=200 if request.htmx else 409)
    if request.htmx:
        return _render_job(request, job)
    return redirect("curation:job_detail", job_id=job.pk)
