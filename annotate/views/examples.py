"""The examples browser: a project's examples, searched and filtered, a page at a time.

The filters travel in the page's address (a GET form), so a view of the data can be shared:
``?q=…&shape=…&status=…&key=…&value=…&question=…&answer=…&disagreement=…``, and ``after``/``before`` an example
id for the page. A bad filter is reported on the page and left out, never an error page. A search says how many
examples are not found yet because their index job has not run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from annotate import browse, search
from annotate.access import may_browse_examples, project_access
from annotate.labels import REVIEWABLE_KINDS
from annotate.models import Example, Question
from annotate.shapes import SHAPES
from annotate.views.review_common import metadata_keys

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse, QueryDict

T = TypeVar("T")
EXAMPLES_PER_PAGE = 25
DISAGREEMENT_CHOICES = (("", "—"), ("0", "any"), ("0.25", "≥ 25%"), ("0.5", "≥ 50%"), ("0.75", "≥ 75%"))
FIELDS = ("q", "shape", "status", "key", "value", "question", "answer", "disagreement")


def page_key(value: str | None) -> int | None:
    """An example id from ``after``/``before``; None when absent or not an id."""
    return int(value) if value is not None and value.isdigit() and len(value) < 19 else None


@dataclass
class BrowseParams:
    """The filters as the page's address holds them (``given``), the filters they make (the bad ones left out),
    and what was wrong with the bad ones, by parameter."""

    given: dict[str, str]
    filters: search.ExampleFilters = field(default_factory=search.ExampleFilters)
    errors: dict[str, str] = field(default_factory=dict)

    def checked(self, parameter: str, check: Callable[[], T]) -> T | None:
        try:
            return check()
        except search.FilterError as error:
            self.errors[parameter] = error.message
            return None


def browse_params(query: QueryDict, questions: list[Question]) -> BrowseParams:
    given = {name: query.get(name, "").strip() for name in FIELDS}
    params = BrowseParams(given)
    by_name = {question.name: question for question in questions}
    key, value, question = given["key"], given["value"], given["question"]
    pair = params.checked("key", lambda: search.parse_metadata(key, value, "key")) if key and value else None
    answer = disagreement = None
    if (given["answer"] or given["disagreement"]) and not question:
        params.errors["question"] = "choose the question the answer or the disagreement is about"
    elif given["answer"]:
        answer = params.checked("answer", lambda: search.parse_answer(by_name, question, given["answer"], "answer"))
    if question and given["disagreement"]:
        disagreement = params.checked(
            "disagreement", lambda: search.parse_disagreement(by_name, question, given["disagreement"], "disagreement")
        )
    params.filters = search.ExampleFilters(
        q=params.checked("q", lambda: search.parse_q(given["q"])) or "",
        shape=params.checked("shape", lambda: search.parse_shape(given["shape"])) or "",
        status=params.checked("status", lambda: search.parse_status(given["status"])) or "",
        metadata=dict([pair]) if pair else {},
        answers=(answer,) if answer else (),
        disagreements=(disagreement,) if disagreement else (),
    )
    return params


@login_required
def example_list(request: HttpRequest, project_id: int) -> HttpResponse:
    access = project_access(request.user, project_id, may=may_browse_examples)
    project = access.project
    questions = list(project.questions.order_by("position", "id"))
    params = browse_params(request.GET, questions)
    page = browse.page(
        Example.objects.for_project(project),
        params.filters,
        after=page_key(request.GET.get("after")),
        before=page_key(request.GET.get("before")),
        size=EXAMPLES_PER_PAGE,
    )
    search_pending = 0
    if params.filters.q:
        from curation.services.search_index import search_pending as pending  # curation builds on annotate

        search_pending = pending(project)
    context = {
        "project": project,
        "access": access,
        "page": page,
        "search_pending": search_pending,
        "params": params.given,
        "errors": params.errors,
        "filtered": bool(params.filters),
        "count_up_to": browse.COUNT_UP_TO,
        "shapes": SHAPES,
        "statuses": search.STATUSES,
        "keys": metadata_keys(project),
        "questions": [q for q in questions if q.kind in search.ANSWERABLE_KINDS or q.kind in REVIEWABLE_KINDS],
        "disagreement_choices": DISAGREEMENT_CHOICES,
    }
    return render(request, "annotate/example_list.html", context)
