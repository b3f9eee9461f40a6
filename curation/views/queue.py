"""Limiting the annotation queue to a dataset version's examples, and lifting the limit, from the version page."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from annotate.access import may_manage, project_access
from curation.services.versions import VersionRequestError, queue_limit_to_version

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse


@login_required
@require_POST
def queue_scope(request: HttpRequest, project_id: int) -> HttpResponse:
    """``version``: a ready version's id (annotate only its examples), or empty (every example again)."""
    access = project_access(request.user, project_id, may=may_manage)
    raw = request.POST.get("version", "")
    try:
        version = int(raw) if raw else None
    except ValueError:
        return HttpResponseBadRequest("version must be a version id, or empty to hand out every example again")
    try:
        scope = queue_limit_to_version(project=access.project, version=version)
    except VersionRequestError as exc:
        return HttpResponseBadRequest(exc.message)
    if scope["version"] is None:
        messages.success(request, "The annotation queue hands out every example of the project again.")
        back = request.POST.get("back_version")
        if back and back.isdigit():
            return redirect("curation:version_detail", version_id=int(back))
        return redirect(access.project)
    messages.success(
        request,
        f"The annotation queue now hands out only the {scope['examples']:,} examples of {scope['label']}.",
    )
    return redirect("curation:version_detail", version_id=scope["version"])
