"""Pages for reviewers and managers: the disagreement queue, reviewing one example, bulk consensus and sending
examples back for re-annotation (guideline versions are in guidelines.py).

Reviewers and managers use the queue, the review page and consensus; a reviewer may send the example in front of
them back. Sending examples back in bulk is for managers.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.text import Truncator
from django.views.decorators.http import require_POST

from annotate import review_queue
from annotate.access import ProjectAccess, may_reopen, may_review, project_access
from annotate.disagreement import comparable
from annotate.models import Annotation, Example, Membership, Project, Question, Resolution, WorkItem
from annotate.services import ServiceError, reviews
from annotate.services.queue import could_take
from annotate.templatetags.winnow import letter

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse, QueryDict

# Text answers have no measure of disagreement, so they never reach the queue.
REVIEWABLE_KINDS = ("label", "multi_label", "rating", "preference", "ranking")
CASES_PER_PAGE = 50
# Metadata keys offered as filters come from the first and last examples imported: reading every example's
# metadata on each page view would scan the whole project.
METADATA_SAMPLE = 500
NOTE_SUGGESTIONS = ("guideline unclear", "annotator error", "ambiguous example", "every answer was wrong")
MAX_NOTE = 2000
SCALE_BUTTONS_UP_TO = 11
PREFERENCE_SHOWN = {"a": "A", "b": "B", "tie": "tie"}


# Showing answers ---------------------------------------------------------------------------------------------


def shown(question: Question, value: Any) -> str:
    """An answer as a reviewer reads it: labels as they are, preferences and rankings by response letter."""
    if value is None:
        return "—"
    if question.kind == "multi_label" and isinstance(value, list):
        return ", ".join(map(str, value)) or "(none)"
    if question.kind == "preference":
        return PREFERENCE_SHOWN.get(value, str(value))
    if question.kind == "ranking" and isinstance(value, list) and all(isinstance(i, int) for i in value):
        return " > ".join(letter(i + 1) for i in value)
    return str(value)


def preview(content: Any, limit: int = 160) -> str:
    """One line to recognise an example by in a list: its prompt, its text or its first user turn."""
    first: Any = None
    if isinstance(content, dict):
        first = next((content[key] for key in ("prompt", "text", "messages") if key in content), None)
    if isinstance(first, list):
        turns = [turn for turn in first if isinstance(turn, dict)]
        user = [turn for turn in turns if turn.get("role") == "user" and turn.get("content")]
        first = (user or turns or [{}])[0].get("content")
    return Truncator(" ".join(str(first or "").split())).chars(limit)


def tally(question: Question, values: list[Any]) -> list[tuple[str, int]]:
    """The distinct answers given, most common first, as (shown answer, how many gave it)."""
    counts = Counter(comparable(value) for value in values)
    first_seen = {}
    for value in values:
        first_seen.setdefault(comparable(value), value)
    return [(shown(question, first_seen[key]), count) for key, count in counts.most_common()]


# The queue and its filters -----------------------------------------------------------------------------------


def reviewable_questions(project: Project) -> list[Question]:
    return list(project.questions.filter(kind__in=REVIEWABLE_KINDS).order_by("position", "id"))


def metadata_keys(project: Project) -> list[str]:
    examples = Example.objects.for_project(project)
    seen: set[str] = set()
    for order in ("id", "-id"):
        for metadata in examples.order_by(order).values_list("metadata", flat=True)[:METADATA_SAMPLE]:
            if isinstance(metadata, dict):
                seen.update(metadata)
    # A key of digits would be read as an array index by the JSON lookup, so it is not offered.
    return sorted(key for key in seen if not key.isdigit() and len(key) <= 100)


class QueueForm(forms.Form):
    """The queue's filters, read from the query string. A bad value is reported and ignored, never an error page."""

    question = forms.ChoiceField(required=False)
    annotator = forms.ChoiceField(required=False)
    key = forms.ChoiceField(required=False)
    value = forms.CharField(required=False, max_length=500)
    show = forms.ChoiceField(required=False, choices=[("unresolved", "unresolved only"), ("all", "all cases")])

    def __init__(self, data: QueryDict, *, questions: list[Question], annotators: list[str], keys: list[str]):
        super().__init__(data)
        self.fields["question"].choices = [(q.name, q.name) for q in questions]
        self.fields["annotator"].choices = [("", "anyone"), *((name, name) for name in annotators)]
        self.fields["key"].choices = [("", "any key"), *((key, key) for key in keys)]


@dataclass(frozen=True)
class Filters:
    question: Question
    annotator: str = ""
    key: str = ""
    value: str = ""
    show: str = "unresolved"

    @property
    def params(self) -> dict[str, str]:
        given = {"annotator": self.annotator, "key": self.key, "value": self.value}
        return {"question": self.question.name, **{k: v for k, v in given.items() if v}, "show": self.show}

    @property
    def query(self) -> str:
        return urlencode(self.params)

    def cases(self, project: Project) -> list[review_queue.Case]:
        return review_queue.disagreements(
            project=project,
            question=self.question,
            annotator=self.annotator or None,
            metadata={self.key: self.value} if self.key and self.value else None,
            include_resolved=self.show == "all",
        )


def queue_filters(query: QueryDict, project: Project) -> tuple[Filters, QueueForm, list[Question]]:
    """The filters asked for (invalid ones dropped), the form that reports what was dropped, and the questions."""
    questions = reviewable_questions(project)
    if not questions:
        raise Http404("This project asks no question that annotators can disagree on.")
    annotators = list(
        Membership.objects.filter(project=project).order_by("user__username").values_list("user__username", flat=True)
    )
    form = QueueForm(query, questions=questions, annotators=annotators, keys=metadata_keys(project))
    form.is_valid()
    cleaned = form.cleaned_data  # holds only the fields that were valid
    by_name = {q.name: q for q in questions}
    filters = Filters(
        question=by_name.get(cleaned.get("question") or "", questions[0]),
        annotator=cleaned.get("annotator") or "",
        key=cleaned.get("key") or "",
        value=(cleaned.get("value") or "").strip(),
        show=cleaned.get("show") or "unresolved",
    )
    return filters, form, questions


def review_url(project: Project, example_id: int, filters: Filters) -> str:
    return f"{reverse('annotate:review_example', args=[project.pk, example_id])}?{filters.query}"


def queue_url(project: Project, filters: Filters, page: int = 1) -> str:
    query = filters.query + (f"&page={page}" if page > 1 else "")
    return f"{reverse('annotate:review_queue', args=[project.pk])}?{query}"


def example_ids(raw: list[str]) -> list[int]:
    try:
        return [int(value) for value in raw]
    except ValueError:
        raise ServiceError("examples must be chosen from the list", field="examples") from None


@login_required
def queue(request: HttpRequest, project_id: int) -> HttpResponse:
    access = project_access(request.user, project_id, may=may_review)
    project = access.project
    if not reviewable_questions(project):
        return render(request, "annotate/review_queue.html", {"project": project, "access": access, "questions": []})
    filters, form, questions = queue_filters(request.GET, project)
    page = Paginator(filters.cases(project), CASES_PER_PAGE).get_page(request.GET.get("page"))
    examples = Example.objects.in_bulk([case.example_id for case in page])
    rows = [
        {
            "case": case,
            "example": examples[case.example_id],
            "preview": preview(examples[case.example_id].content),
            "percent": round(case.disagreement * 100),
            "tally": tally(filters.question, [a["value"] for a in case.annotations]),
            "resolved_as": shown(filters.question, case.resolution.value) if case.resolution else "",
            "url": review_url(project, case.example_id, filters),
        }
        for case in page
    ]
    context = {
        "project": project,
        "questions": questions,
        "form": form,
        "filters": filters,
        "page": page,
        "page_range": page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
        "rows": rows,
        "access": access,
    }
    return render(request, "annotate/review_queue.html", context)


@login_required
@require_POST
def reopen_selected(request: HttpRequest, project_id: int) -> HttpResponse:
    """Send the cases ticked in the queue back for re-annotation."""
    project = project_access(request.user, project_id, may=may_reopen).project
    filters, _, _ = queue_filters(request.GET, project)
    try:
        count = reviews.reopen(project=project, example_ids=example_ids(request.POST.getlist("example")))
    except ServiceError as exc:
        messages.error(request, f"Nothing was sent back: {exc.message}.")
    else:
        messages.success(request, f"Sent {count} example{'s' * (count != 1)} back for re-annotation.")
    return redirect(queue_url(project, filters))


# Reviewing one example ---------------------------------------------------------------------------------------


def value_from_form(question: Question, data: QueryDict, content: dict[str, Any]) -> Any:
    """The reviewer's own answer as the service expects it; the service checks it like any answer."""
    if question.kind == "multi_label":
        return data.getlist("value")
    raw = data.get("value")
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
            raise ServiceError(f"list every response letter once, best first (e.g. {example})", field="value")
        return [letters[token] for token in tokens]
    return raw


class NoteForm(forms.Form):
    note = forms.CharField(required=False, max_length=MAX_NOTE)


def resolve(
    request: HttpRequest, access: ProjectAccess, example: Example, question: Question, given: dict[str, Any]
) -> str:
    """Carry out the review action posted and say what was done; raises ServiceError for input to fix."""
    project = access.project
    # Each annotation's accept button posts accept=<annotator>; the other buttons post action=<name>.
    action = "accept" if "accept" in request.POST else request.POST.get("action", "")
    if action in ("accept", "own"):
        note_form = NoteForm(request.POST)
        if not note_form.is_valid():
            raise ServiceError(f"the note is longer than {MAX_NOTE:,} characters", field="note")
        note = note_form.cleaned_data["note"]
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
            reviewer=request.user,
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
    filters, form, questions = queue_filters(request.GET, project)
    question = filters.question
    annotations = [
        annotation
        for annotation in Annotation.objects.for_project(project)
        .current()
        .filter(example=example)
        .select_related("annotator")
        .order_by("submitted_at", "id")
        if annotation.answers.get(question.name) is not None
    ]
    given = {a.annotator.get_username(): a.answers[question.name] for a in annotations}
    cases = filters.cases(project)
    ids = [case.example_id for case in cases]
    index = ids.index(example.pk) if example.pk in ids else None
    later = ids[index + 1 :] if index is not None else [i for i in ids if i != example.pk]
    error: ServiceError | None = None
    if request.method == "POST":
        try:
            done = resolve(request, access, example, question, given)
        except ServiceError as exc:
            error = exc
        else:
            messages.success(request, done)
            if later:
                return redirect(review_url(project, later[0], filters))
            messages.info(request, "That was the last case in this queue.")
            return redirect(queue_url(project, filters))
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
        "filters": filters,
        "form": form,
        "case": cases[index] if index is not None else None,
        "position": index + 1 if index is not None else None,
        "total": len(cases),
        "previous_url": review_url(project, ids[index - 1], filters) if index else None,
        "next_url": review_url(project, later[0], filters) if later else None,
        "queue_url": queue_url(project, filters, (index or 0) // CASES_PER_PAGE + 1),
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
        return {"choices": [("a", "A is better"), ("tie", "tie"), ("b", "B is better")]}
    responses = content.get("responses") if isinstance(content, dict) else None
    count = len(responses) if isinstance(responses, list) else 0
    return {"ranking": True, "letters": [letter(i + 1) for i in range(count)]}


# Bulk consensus ----------------------------------------------------------------------------------------------


class ConsensusForm(forms.Form):
    threshold = forms.FloatField(required=False, min_value=0.5, max_value=0.99)
    method = forms.ChoiceField(required=False, choices=[("unanimous", "unanimous"), ("majority", "majority")])


@login_required
def consensus(request: HttpRequest, project_id: int) -> HttpResponse:
    access = project_access(request.user, project_id, may=may_review)
    project = access.project
    if not reviewable_questions(project):
        context = {"project": project, "access": access, "questions": []}
        return render(request, "annotate/review_consensus.html", context)
    filters, _, questions = queue_filters(request.GET, project)
    form = ConsensusForm(request.GET)
    threshold = form.cleaned_data.get("threshold") if form.is_valid() else None
    threshold = 0.5 if threshold is None else threshold
    back = f"{reverse('annotate:review_consensus', args=[project.pk])}?" + urlencode(
        {"question": filters.question.name, "threshold": threshold}
    )
    if request.method == "POST":
        method_form = ConsensusForm(request.POST)
        method = method_form.cleaned_data.get("method") if method_form.is_valid() else ""
        try:
            count = reviews.resolutions_from_consensus(
                project=project,
                question_name=filters.question.name,
                method=method or "",
                threshold=threshold,
                reviewer=request.user,
            )
        except ServiceError as exc:
            messages.error(request, f"Nothing was resolved: {exc.message}.")
        else:
            messages.success(request, f"Resolved {count} example{'s' * (count != 1)} by {method} agreement.")
        return redirect(back)
    question = filters.question
    unanimous = reviews.consensus_candidates(project=project, question=question, method="unanimous")
    majority = reviews.consensus_candidates(project=project, question=question, method="majority", threshold=threshold)
    sample = majority[:20]
    names = dict(Example.objects.filter(pk__in=[i for i, _, _ in sample]).values_list("pk", "external_id"))
    context = {
        "project": project,
        "access": access,
        "questions": questions,
        "question": question,
        "form": form,
        "threshold": threshold,
        "threshold_percent": round(threshold * 100),
        "unanimous": len(unanimous),
        "majority": len(majority),
        "majority_only": len(majority) - len(unanimous),
        "sample": [(names.get(i, i), shown(question, value), round(share * 100)) for i, value, share in sample],
        "filters": filters,
    }
    return render(request, "annotate/review_consensus.html", context)


# Guidelines --------------------------------------------------------------------------------------------------


urlpatterns: list[URLPattern] = [
    path("projects/<int:project_id>/review/", queue, name="review_queue"),
    path("projects/<int:project_id>/review/consensus/", consensus, name="review_consensus"),
    path("projects/<int:project_id>/review/reopen/", reopen_selected, name="review_reopen"),
    path("projects/<int:project_id>/review/<int:example_id>/", review, name="review_example"),
]
