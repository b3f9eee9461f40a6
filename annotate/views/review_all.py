"""The review page for one example and every question of it at once: each question's answers beside a decision
(leave it, accept one of the answers given, or enter your own), all settled by one submit in one transaction.
The one-question page (review_case.py) stays, with its tie-breaker and send-back actions."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from annotate import labels, review_queue
from annotate.access import may_review, project_access
from annotate.answers import applies
from annotate.models import Annotation, Example, LabelSummary, Question, Resolution, WorkItem
from annotate.services import ServiceError, reviews
from annotate.views.review_case import NOTE_SUGGESTIONS, control_for, note_from, position_outside
from annotate.views.review_case import value_from_form as own_value
from annotate.views.review_common import QueueParams, queue_params, queue_url, review_url, shown

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse, QueryDict

    from annotate.models import Project

LEAVE, OWN, ACCEPT = "", "own", "accept:"


@dataclass
class Answer:
    """One distinct answer to a question, and who gave it."""

    shown: str
    value: Any
    annotators: list[str] = field(default_factory=list)


def all_url(project: Project, example_id: int, params: QueueParams) -> str:
    return f"{reverse('annotate:review_example_all', args=[project.pk, example_id])}?{params.query}"


def distinct_answers(question: Question, annotations: list[Annotation]) -> list[Answer]:
    """The answers given to the question, most given first, each with its annotators in the order they answered."""
    found: dict[str, Answer] = {}
    for annotation in annotations:
        value = annotation.answers.get(question.name)
        if value is None:
            continue
        key = json.dumps(value, sort_keys=True)
        found.setdefault(key, Answer(shown(question, value), value)).annotators.append(
            annotation.annotator.get_username()
        )
    return sorted(found.values(), key=lambda answer: -len(answer.annotators))


def decisions(
    data: QueryDict, questions: list[Question], given: dict[str, list[Answer]], content: Any
) -> dict[str, Any]:
    """The gold value chosen for each question that was not left as it is, by question name."""
    values: dict[str, Any] = {}
    for question in questions:
        decision = data.get(f"decision-{question.name}", LEAVE)
        if decision == LEAVE:
            continue
        if decision == OWN:
            try:
                values[question.name] = own_value(question, data, content, key=f"value-{question.name}")
            except ServiceError as exc:
                raise ServiceError(exc.message, field=question.name) from None
            continue
        annotator = decision.removeprefix(ACCEPT)
        answer = next((a for a in given[question.name] if annotator in a.annotators), None)
        if not decision.startswith(ACCEPT) or answer is None:
            raise ServiceError(f"{annotator or 'nobody'} has no answer to {question.name} here", field=question.name)
        values[question.name] = answer.value
    return values


@login_required
def review_all(request: HttpRequest, project_id: int, example_id: int) -> HttpResponse:
    access = project_access(request.user, project_id, may=may_review)
    project = access.project
    example = get_object_or_404(Example.objects.for_project(project), pk=example_id)
    params, _, reviewable = queue_params(request.GET, project)
    questions = [q for q in reviewable if applies(q.as_spec(), example.content)]
    if not questions:
        raise Http404("This example has no question that annotators can disagree on.")
    annotations = list(
        labels.current_annotations(project)
        .filter(example=example)
        .select_related("annotator")
        .order_by("submitted_at", "id")
    )
    given = {question.name: distinct_answers(question, annotations) for question in questions}
    filters = params.filters()
    summary = review_queue.summary_of(filters, example)
    here = review_queue.position_of(summary) if summary else position_outside(example, params.question)
    previous, following = review_queue.neighbours(filters, here)
    error: ServiceError | None = None
    if request.method == "POST":
        try:
            note = note_from(request.POST)
            values = decisions(request.POST, questions, given, example.content)
            reviews.resolutions_set(
                project=project, example_id=example.pk, values=values, reviewer=access.user, note=note
            )
        except ServiceError as exc:
            error = exc
        else:
            by_name = {q.name: q for q in questions}
            done = ", ".join(f"{name} = {shown(by_name[name], value)}" for name, value in values.items())
            messages.success(request, f"Resolved {example.external_id}: {done}.")
            if following is not None:
                return redirect(all_url(project, following.example_id, params))
            messages.info(request, "That was the last case in this queue.")
            return redirect(queue_url(project, params))
    resolutions = {
        r.question_id: r
        for r in Resolution.objects.filter(example=example, question__in=questions).select_related("reviewer")
    }
    summaries = dict(
        LabelSummary.objects.filter(example=example, question__in=questions).values_list("question_id", "disagreement")
    )
    posted = request.POST if error else None
    context = {
        "project": project,
        "access": access,
        "example": example,
        "filters": params,
        "work": WorkItem.objects.filter(pk=example.pk).first(),
        "questions": [
            {
                "question": question,
                "answers": given[question.name],
                "disagreement": summaries.get(question.pk),
                "resolution": resolutions.get(question.pk),
                "resolution_shown": shown(question, resolutions[question.pk].value)
                if question.pk in resolutions
                else "",
                "control": control_for(question, example.content),
                "decision": posted.get(f"decision-{question.name}", LEAVE) if posted else LEAVE,
                "posted_values": posted.getlist(f"value-{question.name}") if posted else [],
                "failed": error is not None and error.field == question.name,
                "one_url": review_url(project, example.pk, replace(params, question=question)),
            }
            for question in questions
        ],
        "previous_url": all_url(project, previous.example_id, params) if previous else None,
        "next_url": all_url(project, following.example_id, params) if following else None,
        "queue_url": queue_url(project, params, after=previous),
        "posted_note": request.POST.get("note", "") if error else "",
        "note_suggestions": NOTE_SUGGESTIONS,
        "error": error,
    }
    return render(request, "annotate/review_example_all.html", context, status=400 if error else 200)
