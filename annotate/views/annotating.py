"""Pages for annotators: the annotate page, their recent annotations, editing one.

Any member of a project may annotate. These pages show an annotator their own work only: never another
annotator's answers, how many others answered, or a reviewer's resolution.

Submitting works with and without JavaScript: the page's script posts the same form with fetch() and asks for
JSON (``Accept: application/json``); a plain POST gets a redirect, or the page again with the error and the
answers as they were.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotate import forms
from annotate.access import ProjectAccess, project_access
from annotate.answers import AnswerError, check_display_order
from annotate.counts import LEFT_COUNTED_UP_TO, annotations_of, left_for
from annotate.markdown import render_markdown
from annotate.models import Annotation, Example, Project
from annotate.services import NotAssigned, ServiceError
from annotate.services.annotations import annotation_editable, annotation_submit
from annotate.services.queue import answerable, held_by, next_assignment, skip

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.http import HttpRequest, HttpResponse

    from annotate.questions import QuestionSpec

ANNOTATIONS_PER_PAGE = 25
NOT_YOURS = (
    "This example is not assigned to you any more (it may have been released after being held too long, "
    "or skipped), so your answers were not saved."
)
CLOSED = (
    "This annotation can no longer be changed: the example has been sent back for a new round of annotation "
    "or released from you."
)


def _specs(project: Project) -> list[QuestionSpec]:
    return [question.as_spec() for question in project.questions.all()]


def _progress(project: Project, user: User) -> dict[str, int]:
    """Only this annotator's own counts: what they did, hold and could still be given; nothing about anyone else's
    work. ``left`` is counted up to ``left_up_to`` + 1 (shown as "1,000+")."""
    return {
        "done": annotations_of(project, user).count(),
        "holding": int(held_by(project=project, annotator=user) is not None),
        "left": left_for(project, user),
        "left_up_to": LEFT_COUNTED_UP_TO,
    }


def _wants_json(request: HttpRequest) -> bool:
    return request.accepts("application/json") and not request.accepts("text/html")


def _order_shown(request: HttpRequest, example: Example, seed: str) -> list[int] | None:
    """The response order the submitting page showed, so a failed submission shows them the same way again."""
    try:
        order = check_display_order(forms.display_order_from(request.POST), example.content)
    except AnswerError:
        order = None
    return order or forms.display_order_for(seed, example.content)


def _workspace(
    request: HttpRequest,
    access: ProjectAccess,
    example: Example,
    order: list[int] | None,
    values: dict[str, Any],
    *,
    action: str,
    draft_key: str,
    draft_base: str = "",
    error: ServiceError | None = None,
) -> dict[str, Any]:
    """What the example-and-form part of the annotate and edit pages needs."""
    project = access.project
    specs = _specs(project)
    guideline = project.current_guideline()
    fields = forms.build_fields(specs, example.content, order, values, error)
    letters = forms.letters_by_index(order)
    responses = example.content.get("responses") if order else None
    return {
        "project": project,
        "example": example,
        "responses": [(letters[index], responses[index]) for index in order] if responses and order else None,
        "fields": fields,
        "error": error,
        "error_question": error.field if error and error.field in {f.name for f in fields} else None,
        "guideline": guideline,
        "guideline_html": render_markdown(guideline.text) if guideline else "",
        "progress": _progress(project, access.user),
        "action": action,
        "started_at": request.POST.get("started_at") or timezone.now().isoformat(),
        "display_order": ",".join(str(index) for index in order) if order else "",
        "config": {
            "example": example.external_id,
            "draftKey": draft_key,
            "draftBase": draft_base,
            "original": forms.original_response(example.content),
        },
    }


def _submit(
    request: HttpRequest,
    access: ProjectAccess,
    example: Example,
    *,
    done_url: str,
    done_message: str,
    refused_message: str,
    failed: Callable[[ServiceError, dict[str, Any]], HttpResponse],
) -> HttpResponse:
    """Read the form, submit it through the service, and answer in JSON (the page's script) or HTML (a plain POST)."""
    specs = _specs(access.project)
    values = forms.form_values(specs, request.POST, example.content)
    try:
        answers = forms.answers_from(specs, values)
        timing = forms.timing_from(request.POST)
        annotation_submit(
            project=access.project,
            annotator=access.user,
            example_id=example.pk,
            answers=answers,
            duration_ms=timing.duration_ms,
            started_at=timing.started_at,
            display_order=forms.display_order_from(request.POST),
        )
    except NotAssigned:
        return _refused(request, access.project, refused_message)
    except ServiceError as exc:
        question = exc.field if exc.field in values else None
        if _wants_json(request):
            text = f"{question}: {exc.message}" if question else exc.message
            return JsonResponse({"error": text, "question": question, "field": exc.field}, status=400)
        return failed(exc, values)
    messages.success(request, done_message)
    if _wants_json(request):
        return JsonResponse({"ok": True, "redirect": done_url})
    return redirect(done_url)


def _refused(request: HttpRequest, project: Project, message: str) -> HttpResponse:
    if _wants_json(request):
        body = {
            "error": message,
            "question": None,
            "field": "example",
            "next": reverse("annotate:annotate", args=[project.pk]),
        }
        return JsonResponse(body, status=403)
    return render(request, "annotate/annotate_refused.html", {"project": project, "message": message}, status=403)


@login_required
@never_cache
@require_GET
def annotate(request: HttpRequest, project_id: int) -> HttpResponse:
    access = project_access(request.user, project_id)
    project = access.project
    assignment = next_assignment(project=project, annotator=access.user)
    if assignment is None:
        context = {"project": project, "example": None, "progress": _progress(project, access.user)}
        return render(request, "annotate/annotate.html", context)
    example = assignment.example
    order = forms.display_order_for(f"assignment-{assignment.pk}", example.content)
    return _annotate_page(request, access, example, order, {})


def _annotate_page(
    request: HttpRequest,
    access: ProjectAccess,
    example: Example,
    order: list[int] | None,
    values: dict[str, Any],
    error: ServiceError | None = None,
    status: int = 200,
) -> HttpResponse:
    """The annotate page for an example the annotator holds: fresh, or again with the answers a submit refused."""
    project = access.project
    context = _workspace(
        request,
        access,
        example,
        order,
        values,
        action=reverse("annotate:annotate_submit", args=[project.pk, example.pk]),
        draft_key=f"winnow:draft:{project.pk}:{example.pk}",
        error=error,
    )
    context["skip_action"] = reverse("annotate:annotate_skip", args=[project.pk, example.pk])
    return render(request, "annotate/annotate.html", context, status=status)


@login_required
@require_POST
def annotate_submit(request: HttpRequest, project_id: int, example_id: int) -> HttpResponse:
    access = project_access(request.user, project_id)
    project = access.project
    example = Example.objects.for_project(project).filter(pk=example_id).first()
    if example is None:
        return _refused(request, project, NOT_YOURS)

    def failed(error: ServiceError, values: dict[str, Any]) -> HttpResponse:
        order = _order_shown(request, example, f"example-{example.pk}")
        return _annotate_page(request, access, example, order, values, error=error, status=400)

    return _submit(
        request,
        access,
        example,
        done_url=reverse("annotate:annotate", args=[project.pk]),
        done_message=f"Saved your answers to {example.external_id}.",
        refused_message=NOT_YOURS,
        failed=failed,
    )


@login_required
@require_POST
def annotate_skip(request: HttpRequest, project_id: int, example_id: int) -> HttpResponse:
    access = project_access(request.user, project_id)
    project = access.project
    try:
        skip(project=project, annotator=access.user, example_id=example_id)
    except NotAssigned:
        messages.warning(request, "That example was no longer assigned to you, so there was nothing to skip.")
    else:
        messages.info(request, "Skipped. That example goes to someone else; you will not be given it again.")
    if request.POST.get("beacon"):
        # Sent by a page being left (static/annotate.js): nobody reads the answer, and following a redirect to the
        # annotate page would claim the next example for nobody.
        return HttpResponse(status=204)
    return redirect("annotate:annotate", project.pk)


def _preview(content: dict[str, Any]) -> str:
    """A line of the example to recognise it by in a list."""
    for key in ("prompt", "text"):
        text = content.get(key)
        if isinstance(text, str):
            return text
    messages_ = content.get("messages")
    if isinstance(messages_, list):
        for message in messages_:
            if isinstance(message, dict) and message.get("role") == "user":
                text = message.get("content")
                if isinstance(text, str):
                    return text
    return ""


@login_required
@require_GET
def my_annotations(request: HttpRequest, project_id: int) -> HttpResponse:
    access = project_access(request.user, project_id)
    project, user = access.project, access.user
    # The same rule the service applies to a submitted change.
    editable = answerable().filter(example_id=OuterRef("example_id"), annotator=user)
    annotations = (
        Annotation.objects.for_project(project)
        .filter(annotator=user)
        .select_related("example")
        .annotate(editable=Exists(editable), edits=Count("revisions"))
        .order_by("-submitted_at", "-id")
    )
    page = Paginator(annotations, ANNOTATIONS_PER_PAGE).get_page(request.GET.get("page"))
    specs = _specs(project)
    rows = [
        {
            "annotation": annotation,
            "preview": _preview(annotation.example.content),
            "answers": forms.described_answers(specs, annotation.answers, annotation.display_order),
        }
        for annotation in page
    ]
    context = {
        "project": project,
        "page": page,
        "rows": rows,
        "page_range": page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
        "progress": _progress(project, user),
    }
    return render(request, "annotate/my_annotations.html", context)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def annotation_edit(request: HttpRequest, project_id: int, annotation_id: int) -> HttpResponse:
    access = project_access(request.user, project_id)
    project = access.project
    annotation = get_object_or_404(
        Annotation.objects.for_project(project).filter(annotator=access.user).select_related("example"),
        pk=annotation_id,
    )
    example = annotation.example
    specs = _specs(project)
    seed = f"annotation-{annotation.pk}"
    try:
        order = check_display_order(annotation.display_order, example.content)
    except AnswerError:
        order = None
    order = order or forms.display_order_for(seed, example.content)

    def page(values: dict[str, Any], error: ServiceError | None = None, status: int = 200) -> HttpResponse:
        context = _workspace(
            request,
            access,
            example,
            order,
            values,
            action=request.path,
            draft_key=f"winnow:draft:{project.pk}:{example.pk}:edit",
            draft_base=annotation.submitted_at.isoformat(),
            error=error,
        )
        guideline = context["guideline"]
        context.update(
            annotation=annotation,
            editable=annotation_editable(annotation=annotation),
            guideline_changed=guideline is not None and guideline.version != annotation.guideline_version,
            revisions=[
                (revision, forms.described_answers(specs, revision.answers, revision.display_order))
                for revision in annotation.revisions.all()
            ],
        )
        return render(request, "annotate/annotate_edit.html", context, status=status)

    if request.method == "POST":
        return _submit(
            request,
            access,
            example,
            done_url=reverse("annotate:my_annotations", args=[project.pk]),
            done_message=f"Updated your answers to {example.external_id}; the earlier ones are kept in its history.",
            refused_message=CLOSED,
            failed=lambda error, values: page(values, error, status=400),
        )
    return page(forms.values_from_answers(specs, annotation.answers))


urlpatterns = [
    path("projects/<int:project_id>/annotate/", annotate, name="annotate"),
    path("projects/<int:project_id>/annotate/<int:example_id>/", annotate_submit, name="annotate_submit"),
    path("projects/<int:project_id>/annotate/<int:example_id>/skip/", annotate_skip, name="annotate_skip"),
    path("projects/<int:project_id>/annotations/mine/", my_annotations, name="my_annotations"),
    path("projects/<int:project_id>/annotations/<int:annotation_id>/edit/", annotation_edit, name="annotation_edit"),
]
