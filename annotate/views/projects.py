"""The annotate pages: projects, one project, and its examples."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import render

from annotate.access import may_browse_examples, project_access, roles_in
from annotate.counts import counts_for
from annotate.markdown import render_markdown
from annotate.models import Example, Project
from annotate.shapes import SHAPES

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

EXAMPLES_PER_PAGE = 25
# The key that marks each shape, in the order annotate.shapes.shape_of checks them; content with none is text.
SHAPE_KEYS = [("chat", "messages"), ("candidates", "responses"), ("preference", "chosen"), ("instruction", "response")]


def _shape_filter(shape: str) -> Q:
    """The database condition matching shape_of(content) == shape."""
    condition = Q()
    for name, key in SHAPE_KEYS:
        if name == shape:
            return condition & Q(content__has_key=key)
        condition &= ~Q(content__has_key=key)
    return condition


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


@login_required
def example_list(request: HttpRequest, project_id: int) -> HttpResponse:
    access = project_access(request.user, project_id, may=may_browse_examples)
    project = access.project
    examples = Example.objects.for_project(project).order_by("id")
    shape = request.GET.get("shape", "")
    if shape in SHAPES:
        examples = examples.filter(_shape_filter(shape))
    else:
        shape = ""
    page = Paginator(examples, EXAMPLES_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "project": project,
        "page": page,
        "page_range": page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
        "shape": shape,
        "shapes": SHAPES,
        "access": access,
    }
    return render(request, "annotate/example_list.html", context)
