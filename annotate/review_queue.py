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
from django.db.models import QuerySet

from annotate import browse, labels, metadata
from annotate.models import Example, LabelSummary, Project, Question, Resolution
from annotate.search import ExampleFilters

if TYPE_CHECKING:
    from django.contrib.auth.models import User

ORDER = ("-disagreement", "example_id")
BACKWARDS = ("disagreement", "-example_id")
# Counts shown to reviewers stop here: beyond it "1,000+" says as much, and an exact count would read the index.
COUNT_UP_TO = 1000
# A page of a narrowed queue (an annotator, metadata) looks at no more cases than this, in windows growing to
# MAX_WINDOW; a rare filter's page may then hold fewer cases, and its next page goes on from where it stopped.
SCAN_BUDGET = 20_000
MAX_WINDOW = 5_000
# A search (``q``) checks a window's examples' text through the search index, a phrase's candidates by computing
# their tsvector: smaller windows keep a page's cost in step with the cases it shows.
MAX_SEARCH_WINDOW = 1_000


@dataclass(frozen=True)
class Position:
    """A case's place in the queue's order."""

    disagreement: float
    example_id: int


@dataclass(frozen=True)
class Filters:
    """Which cases of a question to list. ``annotator``: only examples they labelled this round; ``metadata``: only
    examples whose metadata has each key equal to the value; ``resolved``: None for all, else only those;
    ``minimum``: only cases whose disagreement is at least this (read from the queue's index); ``examples``: the
    examples browser's search and filters (annotate/search.py: text, shape, status, answers, disagreement on other
    questions)."""

    question: Question
    annotator: User | None = None
    no_such_annotator: bool = False
    metadata: dict[str, str] = field(default_factory=dict)
    resolved: bool | None = False
    minimum: float = 0.0
    examples: ExampleFilters = field(default_factory=ExampleFilters)

    @property
    def narrowed(self) -> bool:
        """Whether cases are kept by a condition outside the queue's index (an annotator, metadata, the examples'
        filters), so that counting them could mean reading much of the queue: pages then say how many they show,
        not a total."""
        return self.annotator is not None or self.no_such_annotator or bool(self.metadata) or bool(self.examples)


def annotator_named(username: str | None) -> tuple[User | None, bool]:
    """The user to filter by, and whether a name was given that matches nobody (then no case matches)."""
    if not username:
        return None, False
    user = get_user_model().objects.filter(username=username).first()
    return user, user is None


def _in_queue(filters: Filters) -> QuerySet[LabelSummary]:
    """The question's cases as its queue index holds them (the resolved filter included)."""
    rows = LabelSummary.objects.filter(question=filters.question, disagreement__gt=0)
    if filters.minimum > 0:
        rows = rows.filter(disagreement__gte=filters.minimum)
    return rows if filters.resolved is None else rows.filter(resolved=filters.resolved)


def _examples_plan(filters: Filters) -> browse.Plan | None:
    """How the examples' filters find examples (annotate/browse.py), planned once for a whole walk."""
    return browse.plan(Example.objects.all(), filters.examples) if filters.examples else None


def _narrowed_to(filters: Filters, example_ids: list[int], plan: browse.Plan | None) -> set[int]:
    """Which of these examples the annotator, metadata and examples' filters (``plan``: theirs) keep: each
    condition one query driven by the ids (primary-key and unique-index probes, the search index), so its cost
    follows the window, never the project."""
    kept = set(example_ids)
    if filters.annotator is not None:
        # Examples whose current labels include theirs (one probe per id, with the labels layer's rule).
        current = labels.current_annotations(filters.question.project_id)
        labelled = current.filter(example_id__in=example_ids, annotator=filters.annotator)
        kept &= set(labelled.values_list("example_id", flat=True))
    if filters.metadata and kept:
        matching = metadata.matching(Example.objects.filter(pk__in=list(kept)), "metadata", filters.metadata)
        kept &= set(matching.values_list("pk", flat=True))
    if plan is not None and kept:
        # As the examples browser finds them: a phrase's candidates first, then only those checked.
        candidates = plan.among(sorted(kept))
        kept &= plan.check(sorted(candidates)) if plan.check is not None and candidates else candidates
    return kept


def cases(filters: Filters) -> QuerySet[LabelSummary]:
    """The cases of an unnarrowed queue, unordered. A narrowed queue is read a window at a time (``walk``): no
    single query plan can be relied on to read its index in order and stop early."""
    if filters.narrowed:
        raise ValueError("a narrowed queue is read with walk(), not as one query")
    return _in_queue(filters)


def _scan(filters: Filters, position: Position | None, *, forward: bool, limit: int) -> list[Position]:
    """Up to ``limit`` of the queue's cases after (``forward``) or before a position, nearest first, narrowed by
    nothing.

    Two indexed range scans rather than one OR condition: many cases share a disagreement score (a 1–5 rating has
    five), and one scan for "lower score, or the same score and a later example" would first read past every
    case of the same score before the position.
    """
    rows = _in_queue(filters)
    if position is None:
        nearest = rows.order_by(*(ORDER if forward else BACKWARDS)).values_list("disagreement", "example_id")
        return [Position(*row) for row in nearest[:limit]]
    score, example_id = position.disagreement, position.example_id
    if forward:
        ties = rows.filter(disagreement=score, example_id__gt=example_id).order_by("example_id")
        beyond = rows.filter(disagreement__lt=score).order_by(*ORDER)
    else:
        ties = rows.filter(disagreement=score, example_id__lt=example_id).order_by("-example_id")
        beyond = rows.filter(disagreement__gt=score).order_by(*BACKWARDS)
    fields = ("disagreement", "example_id")
    found = [Position(*row) for row in ties.values_list(*fields)[:limit]]
    if len(found) < limit:
        found += [Position(*row) for row in beyond.values_list(*fields)[: limit - len(found)]]
    return found


def _summaries(filters: Filters, positions: list[Position]) -> list[LabelSummary]:
    """The cases at these positions, in the same order."""
    rows = LabelSummary.objects.filter(question=filters.question, example_id__in=[p.example_id for p in positions])
    by_example = {row.example_id: row for row in rows}
    return [by_example[p.example_id] for p in positions if p.example_id in by_example]


@dataclass(frozen=True)
class Walk:
    """Cases found walking the queue from a position, nearest first. ``more``: cases may lie beyond ``frontier``
    (the last position looked at), where a further walk in the same direction starts."""

    found: list[LabelSummary]
    more: bool
    frontier: Position | None


def walk(filters: Filters, position: Position | None, *, forward: bool, limit: int) -> Walk:
    """Up to ``limit`` cases the filters keep, after (``forward``) or before a position, nearest first.

    A narrowed queue is read in windows of the unnarrowed one, each narrowed with one query, until ``limit`` cases
    are found or ``SCAN_BUDGET`` cases were looked at: then the walk stops early (``more``) at its frontier, so a
    page of a rare filter costs a bounded time too."""
    if filters.no_such_annotator:
        return Walk([], False, position)
    if not filters.narrowed:
        ahead = _scan(filters, position, forward=forward, limit=limit + 1)
        kept = ahead[:limit]
        return Walk(_summaries(filters, kept), len(ahead) > limit, kept[-1] if kept else position)
    found: list[Position] = []
    plan = _examples_plan(filters)
    largest = MAX_SEARCH_WINDOW if filters.examples.q else MAX_WINDOW
    frontier, scanned, window = position, 0, min(max(4 * limit, 200), largest)
    while scanned < SCAN_BUDGET:
        batch = _scan(filters, frontier, forward=forward, limit=window)
        if not batch:
            return Walk(_summaries(filters, found), False, frontier)
        matching = _narrowed_to(filters, [p.example_id for p in batch], plan)
        for where in batch:
            frontier = where
            if where.example_id in matching:
                found.append(where)
                if len(found) == limit:
                    return Walk(_summaries(filters, found), True, frontier)
        scanned += len(batch)
        if len(batch) < window:
            return Walk(_summaries(filters, found), False, frontier)
        window = min(2 * window, largest)
    return Walk(_summaries(filters, found), True, frontier)


def page_after(filters: Filters, position: Position | None, size: int) -> Walk:
    """Up to ``size`` cases after the position (from the start when None), in queue order."""
    return walk(filters, position, forward=True, limit=size)


def page_before(filters: Filters, position: Position, size: int) -> Walk:
    """Up to ``size`` cases just before the position, in queue order (``more``: cases may come before them)."""
    backwards = walk(filters, position, forward=False, limit=size)
    return Walk(list(reversed(backwards.found)), backwards.more, backwards.frontier)


@dataclass(frozen=True)
class Page:
    """A page of cases in queue order, and where the pages around it end (``previous``: the page before ends
    before that position) and start (``following``: the next page starts after it); None where there is none."""

    cases: list[LabelSummary]
    previous: Position | None
    following: Position | None


def page(filters: Filters, *, after: Position | None = None, before: Position | None = None, size: int) -> Page:
    """The page of ``size`` cases starting after ``after`` (the top when both are None) or ending before
    ``before``."""
    if before is not None:
        back = page_before(filters, before, size)
        following = position_of(back.found[-1]) if back.found else None
        return Page(back.found, back.frontier if back.more else None, following)
    ahead = page_after(filters, after, size)
    previous = None
    if after is not None:
        previous = position_of(ahead.found[0]) if ahead.found else ahead.frontier
        # Whether anything lies before is cheap to know exactly unless the queue is narrowed.
        if previous is not None and not filters.narrowed and not any_before(filters, previous):
            previous = None
    return Page(ahead.found, previous, ahead.frontier if ahead.more else None)


def position_of(summary: LabelSummary) -> Position:
    return Position(summary.disagreement, summary.example_id)


def neighbours(filters: Filters, position: Position) -> tuple[Position | None, Position | None]:
    """The cases just before and just after a position (which need not be a case itself); None where there is
    none, or none within the scan budget of a narrowed queue."""
    previous = walk(filters, position, forward=False, limit=1).found
    following = walk(filters, position, forward=True, limit=1).found
    return (position_of(previous[0]) if previous else None, position_of(following[0]) if following else None)


def any_before(filters: Filters, position: Position) -> bool:
    return bool(walk(filters, position, forward=False, limit=1).found)


def count(filters: Filters, up_to: int = COUNT_UP_TO) -> int | None:
    """How many cases the filters keep, counting no further than ``up_to`` (then the answer is ``up_to``); None
    for narrowed filters."""
    if filters.narrowed:
        return None
    return cases(filters).order_by()[:up_to].count()


def cases_before(filters: Filters, position: Position, up_to: int = COUNT_UP_TO) -> int | None:
    """How many cases come before the position, counting no further than ``up_to``; None for narrowed filters."""
    if filters.narrowed:
        return None
    rows = cases(filters).order_by()
    higher = rows.filter(disagreement__gt=position.disagreement)[:up_to].count()
    if higher >= up_to:
        return up_to
    ties = rows.filter(disagreement=position.disagreement, example_id__lt=position.example_id)
    return higher + ties[: up_to - higher].count()


def summary_of(filters: Filters, example: Example) -> LabelSummary | None:
    """The example's case in the queue, if the filters keep it."""
    summary = next(iter(_in_queue(filters).filter(example=example).order_by()[:1]), None)
    if summary is None or filters.no_such_annotator:
        return None
    if filters.narrowed and not _narrowed_to(filters, [example.pk], _examples_plan(filters)):
        return None
    return summary


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
