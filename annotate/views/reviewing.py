"""Pages for reviewers and managers: the disagreement queue, bulk consensus and sending examples back for
re-annotation in bulk (the review page for one example is review_case.py; guideline versions are guidelines.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_POST

from annotate import review_queue
from annotate.access import may_reopen, may_review, project_access
from annotate.models import Example
from annotate.services import ServiceError, reviews
from annotate.views.review_all import all_url, review_all
from annotate.views.review_case import review
from annotate.views.review_common import (
    CASES_PER_PAGE,
    parse_position,
    preview,
    queue_params,
    queue_url,
    review_url,
    shown,
    tally,
)

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse


def example_ids(raw: list[str]) -> list[int]:
    try:
        return [int(value) for value in raw]
    except ValueError:
        raise ServiceError("examples must be chosen from the list", field="examples") from None


@login_required
def queue(request: HttpRequest, project_id: int) -> HttpResponse:
    access = project_access(request.user, project_id, may=may_review)
    project = access.project
    params, form, questions = queue_params(request.GET, project)
    if not questions:
        return render(request, "annotate/review_queue.html", {"project": project, "access": access, "questions": []})
    filters = params.filters()
    before = parse_position(request.GET.get("before"))
    after = None if before else parse_position(request.GET.get("after"))
    shown_page = review_queue.page(filters, after=after, before=before, size=CASES_PER_PAGE)
    page = shown_page.cases
    rows = [
        {
            "case": case,
            "example": case.example,
            "preview": preview(case.example.content if case.example else None),
            "percent": round(case.disagreement * 100),
            "tally": tally(params.question, [a["value"] for a in case.annotations]),
            "resolved_as": shown(params.question, case.resolution.value) if case.resolution else "",
            "url": review_url(project, case.example_id, params),
            "all_url": all_url(project, case.example_id, params),
        }
        for case in review_queue.shown_cases(project, params.question, page, content=True)
    ]
    context = {
        "project": project,
        "access": access,
        "questions": questions,
        "form": form,
        "filters": params,
        "rows": rows,
        "total": review_queue.count(filters),
        "count_up_to": review_queue.COUNT_UP_TO,
        "previous_url": queue_url(project, params, before=shown_page.previous) if shown_page.previous else None,
        "next_url": queue_url(project, params, after=shown_page.following) if shown_page.following else None,
        "first_url": queue_url(project, params) if shown_page.previous else None,
    }
    return render(request, "annotate/review_queue.html", context)


@login_required
@require_POST
def reopen_selected(request: HttpRequest, project_id: int) -> HttpResponse:
    """Send the cases ticked in the queue back for re-annotation."""
    project = project_access(request.user, project_id, may=may_reopen).project
    params, _, questions = queue_params(request.GET, project)
    if not questions:
        raise Http404("This project asks no question that annotators can disagree on.")
    try:
        count = reviews.reopen(project=project, example_ids=example_ids(request.POST.getlist("example")))
    except ServiceError as exc:
        messages.error(request, f"Nothing was sent back: {exc.message}.")
    else:
        messages.success(request, f"Sent {count} example{'s' * (count != 1)} back for re-annotation.")
    return redirect(queue_url(project, params))


# Bulk consensus ----------------------------------------------------------------------------------------------


class ConsensusForm(forms.Form):
    threshold = forms.FloatField(required=False, min_value=0.5, max_value=0.99)
    method = forms.ChoiceField(required=False, choices=[("unanimous", "unanimous"), ("majority", "majority")])


@login_required
def consensus(request: HttpRequest, project_id: int) -> HttpResponse:
    access = project_access(request.user, project_id, may=may_review)
    project = access.project
    params, _, questions = queue_params(request.GET, project)
    if not questions:
        context = {"project": project, "access": access, "questions": []}
        return render(request, "annotate/review_consensus.html", context)
    form = ConsensusForm(request.GET)
    threshold = form.cleaned_data.get("threshold") if form.is_valid() else None
    threshold = 0.5 if threshold is None else threshold
    back = f"{reverse('annotate:review_consensus', args=[project.pk])}?" + urlencode(
        {"question": params.question.name, "threshold": threshold}
    )
    if request.method == "POST":
        method_form = ConsensusForm(request.POST)
        method = method_form.cleaned_data.get("method") if method_form.is_valid() else ""
        try:
            count = reviews.resolutions_from_consensus(
                project=project,
                question_name=params.question.name,
                method=method or "",
                threshold=threshold,
                reviewer=access.user,
            )
        except ServiceError as exc:
            messages.error(request, f"Nothing was resolved: {exc.message}.")
        else:
            messages.success(request, f"Resolved {count} example{'s' * (count != 1)} by {method} agreement.")
        return redirect(back)
    question = params.question
    unanimous = reviews.consensus_candidates(project=project, question=question, method="unanimous").count()
    majority = reviews.consensus_candidates(project=project, question=question, method="majority", threshold=threshold)
    sample = list(majority.values_list("example_id", "consensus", "consensus_share")[:20])
    majority_count = majority.count()
    names = dict(Example.objects.filter(pk__in=[i for i, _, _ in sample]).values_list("pk", "external_id"))
    context = {
        "project": project,
        "access": access,
        "questions": questions,
        "question": question,
        "form": form,
        "threshold": threshold,
        "threshold_percent": round(threshold * 100),
        "unanimous": unanimous,
        "majority": majority_count,
        "majority_only": majority_count - unanimous,
        "sample": [(names.get(i, i), shown(question, value), round(share * 100)) for i, value, share in sample],
        "filters": params,
    }
    return render(request, "annotate/review_consensus.html", context)


urlpatterns: list[URLPattern] = [
    path("projects/<int:project_id>/review/", queue, name="review_queue"),
    path("projects/<int:project_id>/review/consensus/", consensus, name="review_consensus"),
    path("projects/<int:project_id>/review/reopen/", reopen_selected, name="review_reopen"),
    path("projects/<int:project_id>/review/<int:example_id>/", review, name="review_example"),
    path("projects/<int:project_id>/review/<int:example_id>/all/", review_all, name="review_example_all"),
]
