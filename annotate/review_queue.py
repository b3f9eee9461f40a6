"""The reviewers' queue: examples whose annotators do not all agree on a question, most disagreement first.

It reads the stored LabelSummary rows through an index, in the order (disagreement descending, example id), and
pages with a keyset: a page starts after (or ends before) a ``Position`` in that order, so a page costs the same
at the end of a million cases as at the start. Nothing here reads the project's annotations, except the few
current labels of the cases on the page being shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q, QuerySet

from annotate import labels, metadata
from annotate.models import Annotation, Example, LabelSummary, Project, Question, Resolution, WorkItem

if TYPE_CHECKING:
    from django.contrib.auth.models import User

ORDER = ("-disagreement", "example_id")
BACKWARDS = ("disagreement", "-example_id")
# Counts shown to reviewers stop here: beyond it "1,000+" says as much, and an exact count would read the index.
COUNT_UP_TO = 1000


@dataclass(frozen=True)
class Position:
    """A case's place in the queue's order."""

    disagreement: float
    example_id: int


@dataclass(frozen=True)
class Filters:
    """Which cases of a question to list. ``annotator``: only examples they labelled this round; ``metadata``: only
    examples whose metadata has each key equal to the value; ``resolved``: None for all, else only those."""

    question: Question
    annotator: User | None = None
    no_such_annotator: bool = False
    metadata: dict[str, str] = field(default_factory=dict)
    resolved: bool | None = False


def annotator_named(username: str | None) -> tuple[User | None, bool]:
    """The user to filter by, and whether a name was given that matches nobody (then no case matches)."""
    if not username:
        return None, False
    user = get_user_model().objects.filter(username=username).first()
    return user, user is None


def cases(filters: Filters) -> QuerySet[LabelSummary]:
    """The cases the filters keep, unordered."""
    rows = LabelSummary.objects.filter(question=filters.question, disagreement__gt=0)
    if filters.resolved is not None:
        rows = rows.filter(resolved=filters.resolved)
    if filters.no_such_annotator:
        return rows.none()
    if filters.annotator is not None:
        labelled = Annotation.objects.filter(example_id=OuterRef("example_id"), annotator=filters.annotator)
        this_round = WorkItem.objects.filter(pk=OuterRef("example_id"), round=OuterRef("round"))
        rows = rows.filter(Exists(labelled.filter(Exists(this_round))))
    if filters.metadata:
        rows = metadata.matching(rows, "example__metadata", filters.metadata)
    return rows


def _after(position: Position) -> Q:
    # The first condition repeats what the second implies so that the planner can start the index scan there.
    d, e = position.disagreement, position.example_id
    return Q(disagreement__lte=d) & (Q(disagreement__lt=d) | Q(disagreement=d, example_id__gt=e))


def _before(position: Position) -> Q:
    d, e = position.disagreement, position.example_id
    return Q(disagreement__gte=d) & (Q(disagreement__gt=d) | Q(disagreement=d, example_id__lt=e))


def page_after(filters: Filters, position: Position | None, size: int) -> tuple[list[LabelSummary], bool]:
    """Up to ``size`` cases after the position (from the start when None), and whether more follow."""
    rows = cases(filters)
    if position is not None:
        rows = rows.filter(_after(position))
    found = list(rows.order_by(*ORDER)[: size + 1])
    return found[:size], len(found) > size


def page_before(filters: Filters, position: Position, size: int) -> tuple[list[LabelSummary], bool]:
    """Up to ``size`` cases just before the position, in queue order, and whether more come before them."""
    found = list(cases(filters).filter(_before(position)).order_by(*BACKWARDS)[: size + 1])
    return list(reversed(found[:size])), len(found) > size


def position_of(summary: LabelSummary) -> Position:
    return Position(summary.disagreement, summary.example_id)


def neighbours(filters: Filters, position: Position) -> tuple[Position | None, Position | None]:
    """The cases just before and just after a position (which need not be a case itself)."""
    previous = cases(filters).filter(_before(position)).order_by(*BACKWARDS).first()
    following = cases(filters).filter(_after(position)).order_by(*ORDER).first()
    return (position_of(previous) if previous else None, position_of(following) if following else None)


def count(filters: Filters, up_to: int = COUNT_UP_TO) -> int:
    """How many cases the filters keep, counting no further than ``up_to`` (then the answer is ``up_to``)."""
    return cases(filters).order_by()[:up_to].count()


def cases_before(filters: Filters, position: Position, up_to: int = COUNT_UP_TO) -> int:
    return cases(filters).filter(_before(position)).order_by()[:up_to].count()


def any_before(filters: Filters, position: Position) -> bool:
    return cases(filters).filter(_before(position)).exists()


def any_after(filters: Filters, position: Position) -> bool:
    return cases(filters).filter(_after(position)).exists()


# What a page shows of each case ------------------------------------------------------------------------------


@dataclass
class Case:
    example_id: int
    disagreement: float
    annotations: list[dict[str, Any]]
    resolution: Resolution | None
    example: Example | None


def shown_cases(
    project: Project, question: Question, summaries: list[LabelSummary], *, content: bool = False
) -> list[Case]:
    """The page's cases with their current labels, resolutions and examples (a few queries, whatever the page).
    The examples' content, which may be large, is read only when ``content`` is asked for."""
    ids = [summary.example_id for summary in summaries]
    current = labels.load(project, [question], examples=ids)[question.name]
    names = dict(get_user_model().objects.filter(pk__in=set(current.annotator.tolist())).values_list("pk", "username"))
    by_example: dict[int, list[dict[str, Any]]] = {example_id: [] for example_id in ids}
    for row in range(len(current)):
        by_example[int(current.example[row])].append(
            {
                "annotator": names.get(int(current.annotator[row]), ""),
                "value": current.value(row),
                "guideline_version": int(current.guideline_version[row]),
                "submitted_at": current.submitted_at[row].item().replace(tzinfo=UTC),
            }
        )
    resolved = Resolution.objects.filter(question=question, example_id__in=ids).select_related("reviewer")
    resolutions = {resolution.example_id: resolution for resolution in resolved}
    fields = ("id", "external_id", "content") if content else ("id", "external_id")
    examples = Example.objects.only(*fields).in_bulk(ids)
    return [
        Case(
            example_id=summary.example_id,
            disagreement=summary.disagreement,
            annotations=by_example[summary.example_id],
            resolution=resolutions.get(summary.example_id),
            example=examples.get(summary.example_id),
        )
        for summary in summaries
    ]
