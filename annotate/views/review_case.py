"""The review page: one example's answers to one question, and what a reviewer does about them (accept an answer,
enter their own, ask for a tie-breaker, send the example back)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render

from annotate import labels, review_queue
from annotate.access import ProjectAccess, may_reopen, may_review, project_access
from annotate.models import Example, LabelSummary, Question, Resolution, WorkItem
from annotate.services import ServiceError, reviews
from annotate.services.queue import could_take
from annotate.templatetags.winnow import letter
from annotate.views.review_common import queue_params, queue_url, review_url, shown, tally

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse, QueryDict

NOTE_SUGGESTIONS = ("guideline unclear", "annotator error", "ambiguous example", "every answer was wrong")
MAX_NOTE = 2000
SCALE_BUTTONS_UP_TO = 11


def value_from_form(question: Question, data: QueryDict, content: dict[str, Any], *, key: str = "value") -> Any:
    """The reviewer's own answer (the form field ``key``) as the service expects it; the service checks it like
    any answer."""
    if question.kind == "multi_label":
        return data.getlist(key)
    raw = data.get(key)
    if question.kind == "rating":
        try:
            return int(raw or "")
        except ValueError:
            return raw  # the service names the scale in its message
    if question.kind == "ranking":
        responses = content.get("responses") if isinstance(content, dict) else None
        count = len(responses) if isinstance(responses, list) else 0
        letters = {letter(i + 1): i for i in range(count)}
        tokens = (raw or "").upper().replace(">", " ").replace(",", " ").split()
        if sorted(tokens) != sorted(letters) or not tokens:
            example = ", ".join(reversed(list(letters))) or "B, A"
            raise ServiceError(f"list every response letter once, best first (e.g. {example})", field=key)
        return [letters[token] for token in tokens]
    return raw


class NoteForm(forms.Form):
    note = forms.CharField(required=False, max_length=MAX_NOTE)


def note_from(data: QueryDict) -> str:
    """The reviewer's note kept with a resolution; raises ServiceError when it is too long."""
    note_form = NoteForm(data)
    if not note_form.is_valid():
        raise ServiceError(f"the note is longer than {MAX_NOTE:,} characters", field="note")
    return str(note_form.cleaned_data["note"])


def resolve(
    request: HttpRequest, access: ProjectAccess, example: Example, question: Question, given: dict[str, Any]
) -> str:
    """Carry out the review action posted and say what was done; raises ServiceError for input to fix."""
    project = access.project
    # Each annotation's accept button posts accept=<annotator>; the other buttons post action=<name>.
    action = "accept" if "accept" in request.POST else request.POST.get("action", "")
    if action in ("accept", "own"):
        note = note_from(request.POST)
        if action == "accept":
            annotator = request.POST.get("accept", "")
            if annotator not in given:
                raise ServiceError(f"{annotator or 'nobody'} has no answer to {question.name} here", field="annotator")
            value, source = given[annotator], f"{annotator}'s answer"
        else:
            value, source = value_from_form(question, request.POST, example.content), "your own answer"
        resolution = reviews.resolution_set(
            project=project,
            example_id=example.pk,
            question_name=question.name,
            value=value,
            reviewer=access.user,
            note=note,
        )
        return f"Resolved {example.external_id}: {question.name} = {shown(question, resolution.value)} ({source})."
    if action == "tiebreak":
        reviews.tiebreak(project=project, example_ids=[example.pk])
        return f"Asked for a tie-breaker on {example.external_id}: one more annotator will label it."
    if action == "reopen":
        if not access.may_reopen:
            raise PermissionDenied(f"Sending examples back needs the {may_reopen.needs} role.")
        reviews.reopen(project=project, example_ids=[example.pk])
        return f"Sent {example.external_id} back for re-annotation under the current guideline."
    raise ServiceError("choose one of the actions on the page", field="action")


@login_required
def review(request: HttpRequest, project_id: int, example_id: int) -> HttpResponse:
    access = project_access(request.user, project_id, may=may_review)
    project = access.project
    example = get_object_or_404(Example.objects.for_project(project), pk=example_id)
    params, form, questions = queue_params(request.GET, project)
    if not questions:
        raise Http404("This project asks no question that annotators can disagree on.")
    question = params.question
    annotations = [
        annotation
        for annotation in labels.current_annotations(project)
        .filter(example=example)
        .select_related("annotator")
        .order_by("submitted_at", "id")
        if annotation.answers.get(question.name) is not None
    ]
    given = {a.annotator.get_username(): a.answers[question.name] for a in annotations}
    filters = params.filters()
    summary = review_queue.summary_of(filters, example)
    here = review_queue.position_of(summary) if summary else position_outside(example, question)
    previous, following = review_queue.neighbours(filters, here)
    error: ServiceError | None = None
    if request.method == "POST":
        try:
            done = resolve(request, access, example, question, given)
        except ServiceError as exc:
            error = exc
        else:
            messages.success(request, done)
            if following is not None:
                return redirect(review_url(project, following.example_id, params))
            messages.info(request, "That was the last case in this queue.")
            return redirect(queue_url(project, params))
    guideline = project.current_guideline()
    current_version = guideline.version if guideline else 0
    work = WorkItem.objects.filter(pk=example.pk).first()
    resolution = Resolution.objects.filter(example=example, question=question).select_related("reviewer").first()
    other_questions = [q for q in project.questions.all() if q.pk != question.pk]
    context = {
        "project": project,
        "access": access,
        "example": example,
        "question": question,
        "questions": questions,
        "filters": params,
        "form": form,
        "case": summary,
        "position": _position(filters, here) if summary else None,
        "total": review_queue.count(filters),
        "count_up_to": review_queue.COUNT_UP_TO,
        "previous_url": review_url(project, previous.example_id, params) if previous else None,
        "next_url": review_url(project, following.example_id, params) if following else None,
        "queue_url": queue_url(project, params, after=previous),
        "annotations": [
            {
                "annotation": a,
                "annotator": a.annotator.get_username(),
                "shown": shown(question, a.answers[question.name]),
                "outdated": a.guideline_version < current_version,
                "others": [(q.name, shown(q, a.answers[q.name])) for q in other_questions if q.name in a.answers],
            }
            for a in annotations
        ],
        "outdated": sum(a.guideline_version < current_version for a in annotations),
        "tally": tally(question, list(given.values())),
        "resolution": resolution,
        "resolution_shown": shown(question, resolution.value) if resolution else "",
        "current_version": current_version,
        "control": control_for(question, example.content),
        "work": work,
        "can_take_tiebreak": could_take(project=project, item=work) if work else 0,
        "posted_note": request.POST.get("note", "") if error else "",
        "posted_values": request.POST.getlist("value") if error else [],
        "error": error,
        "note_suggestions": NOTE_SUGGESTIONS,
    }
    return render(request, "annotate/review_example.html", context, status=400 if error else 200)


def _position(filters: review_queue.Filters, here: review_queue.Position) -> int | None:
    before = review_queue.cases_before(filters, here)
    return None if before is None else before + 1


def position_outside(example: Example, question: Question) -> review_queue.Position:
    """Where an example that is not among the queue's cases would stand in its order (its neighbours are the
    cases around that place)."""
    stored = LabelSummary.objects.filter(example=example, question=question).values_list("disagreement", flat=True)
    return review_queue.Position(stored.first() or 0.0, example.pk)


def control_for(question: Question, content: Any) -> dict[str, Any]:
    """What the "own answer" form shows for the question's kind."""
    if question.kind in ("label", "multi_label"):
        return {"choices": [(label, label) for label in question.options.get("labels", [])]}
    if question.kind == "rating":
        low, high = question.options.get("min", 1), question.options.get("max", 5)
        if high - low + 1 <= SCALE_BUTTONS_UP_TO:
            return {"choices": [(str(n), str(n)) for n in range(low, high + 1)], "scale": True}
        return {"number": True, "min": low, "max": high}
    if question.kind == "preference":
        return {"choices": [("a", "A is better"), ("b", "B is better"), ("tie", "Tie")]}  # the annotate page's order
    responses = content.get("responses") if isinstance(content, dict) else None
    count = len(responses) if isinstance(responses, list) else 0
    return {"ranking": True, "letters": [letter(i + 1) for i in range(count)]}
