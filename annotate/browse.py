"""A page of a project's examples, searched and filtered (annotate/search.py), for the examples page and the API.

Pages follow the examples' ids with a keyset (``after``/``before`` an id), so a page deep in a million examples
costs what the first one does; how many match is counted no further than ``COUNT_UP_TO``.

A filtered page reads the project in *windows* of ids, one query each, nearest first, each window sized from the
planner's estimate of how many examples match (and grown when fewer turn up), so that a query never has to choose
between reading every match of a common word or walking the whole project for a rare one. Within a window,
PostgreSQL intersects the search index with the project's id range (``example_project_id_idx``): only examples
holding the words are read, never their text. A search for a phrase (``"as an AI language model"``, or a word the
parser splits, such as ``e-mail``) goes in two steps: the index finds the examples holding all its words, and
only those candidates are checked for the words standing together, which means computing their text's tsvector
again (the index keeps no positions) — at most ``PHRASE_BUDGET`` candidates a page.

Filters the index cannot narrow (metadata, status, answers, disagreement, shape) are checked example by example,
and a page looks through at most ``SPAN_BUDGET`` examples: a rare filter's page may then be short (``partial``),
and its next page goes on from where it stopped, as the review queue does (annotate/review_queue.py). A count
that stops on that budget says how many it found (``count_is_floor``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from django.contrib.postgres.search import SearchQuery
from django.db import connections
from django.db.models import Max, Min, QuerySet

from annotate import search
from annotate.models import Example

COUNT_UP_TO = 1000
PHRASE_BUDGET = 600
SPAN_BUDGET = 50_000
MAX_WINDOWS = 12
GROWTH = 4
# A tsquery's phrase operators: <-> (next to) and <N> (N apart).
PHRASE_OPERATOR = re.compile(r"<(-|\d+)>")


@dataclass(frozen=True)
class Page:
    """Examples in id order, and the ids that ask for the next page (``after``) and the previous one
    (``before``), None where there is none. ``first``: no ``after`` or ``before`` was asked. ``count``: how many
    examples match, up to ``COUNT_UP_TO``, or as many as were found before the count's budget ran out
    (``count_is_floor``); None when not counted. ``partial``: the page stopped early on its budget, and the next
    page goes on."""

    examples: list[Example]
    after: int | None
    before: int | None
    first: bool
    count: int | None
    count_is_floor: bool = False
    partial: bool = False


@dataclass(frozen=True)
class Plan:
    """How to find the examples. ``rows``: the matches (candidates, for a phrase), found in id order;
    ``check``: for a phrase, keeps those of a list of candidate ids whose words stand together; ``indexed``: the
    search index narrows ``rows`` (windows need not budget the examples they span); ``nothing``: the search has
    no word to look for; ``filtered``: anything narrows the project's examples at all."""

    rows: QuerySet[Example]
    check: Callable[[list[int]], set[int]] | None = None
    indexed: bool = False
    nothing: bool = False
    filtered: bool = True


@dataclass(frozen=True)
class Span:
    """The project's first and last example ids, and about how many examples lie between (the planner's
    estimate: what sizes a window, never what is shown)."""

    low: int
    high: int
    rows: float

    @property
    def density(self) -> float:
        return max(self.rows, 1.0) / max(self.high - self.low + 1, 1)


def parsed_query(q: str, using: str) -> str:
    """``q`` as PostgreSQL's web-search parser reads it, as tsquery text ('' when it holds no word)."""
    with connections[using].cursor() as cursor:
        cursor.execute(f"SELECT websearch_to_tsquery('{search.SEARCH_CONFIG}'::regconfig, %s)::text", [q])
        row = cursor.fetchone()
    return str(row[0]) if row else ""


def _raw(tsquery: str) -> SearchQuery:
    return SearchQuery(tsquery, config=search.SEARCH_CONFIG, search_type="raw")


def plan(examples: QuerySet[Example], filters: search.ExampleFilters) -> Plan:
    """The query for the filters, and the check a phrase search needs."""
    using = examples.db
    if not filters:
        return Plan(examples, filtered=False)
    if not filters.q or connections[using].vendor != "postgresql":
        return Plan(search.apply(examples, filters))
    others = search.apply(examples, replace(filters, q=""))
    tsquery = parsed_query(filters.q, using)
    if not tsquery:
        return Plan(others.none(), nothing=True)
    document = search.ContentDocument("content")
    exact = others.alias(document=document).filter(document=_raw(tsquery))
    # A phrase under a "-" would need every candidate checked: it is searched for as written.
    if not PHRASE_OPERATOR.search(tsquery) or "!" in tsquery:
        return Plan(exact, indexed=True)
    loose = PHRASE_OPERATOR.sub("&", tsquery)

    def check(ids: list[int]) -> set[int]:
        return set(exact.filter(pk__in=ids).values_list("pk", flat=True))

    return Plan(others.alias(document=document).filter(document=_raw(loose)), check, indexed=True)


def estimated_rows(rows: QuerySet[Example]) -> float:
    """How many rows the planner expects the query to give (on SQLite: none known, so every row)."""
    if connections[rows.db].vendor != "postgresql":
        return math.inf
    explained = json.loads(rows.order_by().values("pk").explain(format="json"))
    return float(explained[0]["Plan"]["Plan Rows"])


def span_of(examples: QuerySet[Example]) -> Span | None:
    bounds = examples.order_by().aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["low"] is None:
        return None
    rows = estimated_rows(examples)
    return Span(bounds["low"], bounds["high"], rows if math.isfinite(rows) else bounds["high"] - bounds["low"] + 1)


def _window_rows(wanted: int, matching: float, span: Span) -> int:
    """How many of the project's examples a first window should span to hold about twice ``wanted`` matches."""
    share = min(max(matching, 1.0) / max(span.rows, 1.0), 1.0)
    return max(int(2 * wanted / share), wanted)


def _windows(span: Span, start: int | None, *, forward: bool, rows: int) -> Iterator[tuple[int, int]]:
    """Id ranges [low, high] from a position (exclusive) outwards, each ``GROWTH`` times the one before, to the
    end of the project."""
    width = max(int(rows / span.density), 1)
    if forward:
        low = span.low if start is None else start + 1
        while low <= span.high:
            high = min(low + width - 1, span.high)
            yield low, high
            low, width = high + 1, width * GROWTH
    else:
        high = span.high if start is None else start - 1
        while high >= span.low:
            low = max(high - width + 1, span.low)
            yield low, high
            high, width = low - 1, width * GROWTH


@dataclass
class _Walk:
    found: list[int]
    stopped: bool  # on the budget, before the end of the project
    frontier: int | None  # the last id looked at


def _walk(found: Plan, span: Span, *, after: int | None, before: int | None, limit: int) -> _Walk:
    """Up to ``limit`` matching ids from a position (exclusive), nearest first."""
    forward = before is None
    position = before if before is not None else after
    wanted = limit if found.check is None else 2 * limit
    first_window = _window_rows(wanted, estimated_rows(found.rows), span)
    matched: list[int] = []
    spanned = checked = 0
    budget = PHRASE_BUDGET + 2 * limit
    for number, (low, high) in enumerate(_windows(span, position, forward=forward, rows=first_window)):
        batch = wanted
        while True:  # a phrase's candidates are checked a batch at a time, so that a page checks few of them
            part = found.rows.filter(pk__gte=low, pk__lte=high).order_by("pk" if forward else "-pk")
            take = limit - len(matched) if found.check is None else min(batch, budget - checked)
            ids = list(part.values_list("pk", flat=True)[:take])
            kept = found.check(ids) if found.check is not None and ids else None
            for example_id in ids:
                position = example_id
                if kept is None or example_id in kept:
                    matched.append(example_id)
                    if len(matched) == limit:
                        return _Walk(matched, False, position)
            checked += len(ids)
            if found.check is None or len(ids) < take:
                break  # the window is read
            if checked >= budget:
                return _Walk(matched, True, position)
            low, high = (ids[-1] + 1, high) if forward else (low, ids[-1] - 1)
            batch *= 2
        spanned += int((high - low + 1) * span.density)
        position = high if forward else low
        if (high >= span.high) if forward else (low <= span.low):
            return _Walk(matched, False, position)
        if number + 1 >= MAX_WINDOWS or (not found.indexed and spanned >= SPAN_BUDGET):
            return _Walk(matched, True, position)
    return _Walk(matched, False, position)


def count_of(found: Plan, span: Span) -> tuple[int, bool]:
    """How many examples match, up to ``COUNT_UP_TO``, and whether the count stopped on its budget first (then it
    is how many were found)."""
    if not found.filtered:
        return found.rows.order_by()[:COUNT_UP_TO].count(), False
    total = spanned = 0
    rows = _window_rows(COUNT_UP_TO, estimated_rows(found.rows), span)
    for number, (low, high) in enumerate(_windows(span, None, forward=True, rows=rows)):
        total += found.rows.filter(pk__gte=low, pk__lte=high).order_by()[: COUNT_UP_TO - total].count()
        spanned += int((high - low + 1) * span.density)
        if total >= COUNT_UP_TO:
            return COUNT_UP_TO, False
        if high < span.high and (number + 1 >= MAX_WINDOWS or (not found.indexed and spanned >= SPAN_BUDGET)):
            return total, True
    return total, False


def page(
    examples: QuerySet[Example],
    filters: search.ExampleFilters,
    *,
    after: int | None = None,
    before: int | None = None,
    size: int,
    count: bool = True,
) -> Page:
    """The page of ``size`` examples after ``after`` (the first page when both are None) or before ``before``."""
    first = after is None and before is None
    found = plan(examples, filters)
    span = None if found.nothing else span_of(examples)
    if span is None:
        return Page([], None, None, first, 0 if count else None)
    if found.filtered:
        walk = _walk(found, span, after=after, before=before, limit=size + 1)
    else:  # the project's examples in order: one range read of its index
        rows = found.rows.filter(pk__lt=before) if before is not None else found.rows.filter(pk__gt=after or 0)
        ids = list(rows.order_by("-pk" if before is not None else "pk").values_list("pk", flat=True)[: size + 1])
        walk = _Walk(ids, False, None)
    ids = walk.found
    by_id = Example.objects.using(examples.db).in_bulk(ids[:size])
    shown = [by_id[pk] for pk in ids[:size] if pk in by_id]
    if before is not None:
        shown.reverse()
    total, floor = None, False
    if count and found.check is None:
        total, floor = count_of(found, span)
    # Beyond the page: past its last example, or past the last example looked at if the walk ran out of budget.
    beyond = None
    if len(ids) > size:
        beyond = shown[0].pk if before is not None else shown[-1].pk
    elif walk.stopped:
        beyond = walk.frontier
    if before is not None:
        after_link = shown[-1].pk if shown else before - 1
        return Page(shown, after_link, beyond, False, total, floor, walk.stopped)
    before_link = shown[0].pk if after is not None and shown else (after + 1 if after is not None else None)
    return Page(shown, beyond, before_link, first, total, floor, walk.stopped)
