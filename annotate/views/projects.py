"""The annotate pages: projects, one project, and its examples."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, F, OuterRef, Q, Subquery
from django.shortcuts import render

from annotate.access import has_role, project_for_user
from annotate.markdown import render_markdown
from annotate.models import Annotation, Example, Membership, Project, Role, WorkItem
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
    role = Membership.objects.filter(project=OuterRef("pk"), user=request.user).values("role")[:1]
    projects = list(
        Project.objects.visible_to(request.user).annotate(user_role=Subquery(role), example_count=Count("examples"))
    )
    if request.user.is_staff:
        for project in projects:
            project.user_role = project.user_role or Role.MANAGER
    return render(request, "annotate/project_list.html", {"projects": projects})


@login_required
def project_detail(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for_user(request.user, project_id)
    guideline = project.current_guideline()
    reviewer = has_role(project.user_role, Role.REVIEWER)
    context = {
        "project": project,
        "guideline": guideline,
        "guideline_html": render_markdown(guideline.text) if guideline else "",
        "questions": project.questions.all(),
        "example_count": Example.objects.for_project(project).count(),
        # Who else annotates is for reviewers and managers to see, as in the API.
        "memberships": (
            project.memberships.select_related("user").order_by("user__username")
            if has_role(project.user_role, Role.REVIEWER)
            else None
        ),
        # Annotators see their own progress only, never counts of the others' work.
        "annotation_count": Annotation.objects.for_project(project).count() if reviewer else None,
        "completed_count": (
            WorkItem.objects.filter(project=project, done__gte=F("target")).count() if reviewer else None
        ),
        "own_count": Annotation.objects.for_project(project).filter(annotator=request.user).count(),
        "can_browse": has_role(project.user_role, Role.REVIEWER),
        "can_import": has_role(project.user_role, Role.MANAGER),
    }
    return render(request, "annotate/project_detail.html", context)


@login_required
def example_list(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for_user(request.user, project_id, at_least=Role.REVIEWER)
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
        "can_import": has_role(project.user_role, Role.MANAGER),
    }
    return render(request, "annotate/example_list.html", context)
