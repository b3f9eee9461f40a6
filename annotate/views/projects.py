"""The annotate pages: projects and one project (its examples are views/examples.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.shortcuts import render

from annotate.access import project_access, roles_in
from annotate.counts import counts_for
from annotate.markdown import render_markdown
from annotate.models import Project

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse


@login_required
def project_list(request: HttpRequest) -> HttpResponse:
    projects = list(Project.objects.visible_to(request.user).annotate(example_count=Count("examples")))
    roles = roles_in(request.user, projects)
    rows = [(project, roles.get(project.pk)) for project in projects]
    return render(request, "annotate/project_list.html", {"rows": rows})


@login_required
def project_detail(request: HttpRequest, project_id: int) -> HttpResponse:
    access = project_access(request.user, project_id)
    project = access.project
    guideline = project.current_guideline()
    context = {
        "project": project,
        "access": access,
        "guideline": guideline,
        "guideline_html": render_markdown(guideline.text) if guideline else "",
        "questions": project.questions.all(),
        "counts": counts_for(project, access.user, access.role),
        # Who else annotates is for reviewers and managers to see, as in the API.
        "memberships": (
            project.memberships.select_related("user").order_by("user__username") if access.may_see_members else None
        ),
    }
    return render(request, "annotate/project_detail.html", context)
