"""A page of a project's examples, searched and filtered (annotate/search.py), for the examples page and the API.

Pages follow the examples' ids with a keyset (``after``/``before`` an id), so a page deep in a million examples
costs what the first one does. The project's examples are counted no further than ``COUNT_UP_TO``; a filtered
list is not counted beyond its first page (a count would read every match, where a page reads a few).

A filtered page reads the project in *windows* of ids, one query each, nearest first, each window sized from the
planner's estimate of how many examples match (and grown when fewer turn up), so that a query never has to choose
between reading every match of a common word or walking the whole project for a rare one. Within a window,
PostgreSQL intersects the search table's GIN index with the window's range of its primary key (the range is
written on both sides of the join: the planner carries equalities across a join, not ranges), so only the rows of
examples holding the words are read, never their text. A search for a phrase (``"as an AI language model"``, or a
word the parser splits, such as ``e-mail``) goes in two steps: the index finds the examples holding its rarest
word, and only those candidates are checked for the words standing together, in their stored documents (the
index keeps no positions) — at most ``PHRASE_BUDGET`` candidates a page. The first window is never larger than
``FIRST_WINDOW`` examples, however rare the planner thinks a match is (it takes conditions for independent, and
they seldom are: the words of a phrase, a word and a language), and the bitmaps get ``BITMAP_MEMORY`` so that
they stay exact (a lossy page is checked row by row).

Examples whose search row is not written yet (their index job has not run: curation/services/search_index.py) are
not found by a search.

Filters the index cannot narrow (metadata, status, answers, disagreement, shape) are checked example by example,
and a page looks through at most ``SPAN_BUDGET`` examples: a rare filter's page may then be short (``partial``),
and its next page goes on from where it stopped, as the review queue does (annotate/review_queue.py).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from django.contrib.postgres.search import SearchQuery
from django.db import connections, transaction
from django.db.models import F, Max, Min, QuerySet

from annotate import search
from annotate.models import Example, ExampleSearch

COUNT_UP_TO = 1000
PHRASE_BUDGET = 600
SPAN_BUDGET = 50_000
FIRST_WINDOW = 4_000
MAX_WINDOWS = 12
GROWTH = 4
BITMAP_MEMORY = "64MB"
# A tsquery's phrase operators: <-> (next to) and <N> (N apart).
PHRASE_OPERATOR = re.compile(r"<(-|\d+)>")
# A lexeme in tsquery text: 'word', a quote inside doubled.
LEXEME = re.compile(r"'((?:[^']|'')+)'")


@dataclass(frozen=True)
class Page:
    """Examples in id order, and the ids that ask for the next page (``after``) and the previous one
    (``before``), None where there is none. ``first``: no ``after`` or ``before`` was asked. ``count``: how many
    examples match (up to ``COUNT_UP_TO``), when known: the project's examples, or a filtered list that fits on its
    first page; else None. ``partial``: the page stopped early on its budget, and the next page goes on."""

    examples: list[Example]
    after: int | None
    before: int | None
    first: bool
    count: int | None
    partial: bool = False


@dataclass(frozen=True)
class Plan:
    """How to find the examples. ``rows``: the examples the filters other than the words keep; ``documents``: the
    search table's rows holding the words (for a phrase, its candidates'), None without a search; ``check``: for a
    phrase, keeps those of a list of candidate ids whose words stand together; ``indexed``: the search index
    narrows the matches (windows need not budget the examples they span); ``nothing``: the search has no word to
    look for; ``filtered``: anything narrows the project's examples at all; ``rows_filtered``: a filter other than
    the words does; ``words``: the tsquery ``documents`` match, as text."""

    rows: QuerySet[Example]
    documents: QuerySet[ExampleSearch] | None = None
    check: Callable[[list[int]], set[int]] | None = None
    indexed: bool = False
    nothing: bool = False
    filtered: bool = True
    rows_filtered: bool = True
    words: str = ""

    @property
    def matches(self) -> QuerySet[Example]:
        """The matches (candidates, for a phrase), unordered."""
        if self.documents is None:
            return self.rows
        return self.rows.filter(pk__in=self.documents.values("example_id"))

    def between(self, low: int, high: int, *, forward: bool = True) -> QuerySet[Example]:
        """The matches with ids from ``low`` to ``high``, nearest first: the range applied to the search table too.

        A search is ordered by an expression no index gives. Given the order of an index and a LIMIT, the planner
        walks the window by primary key checking each stored document, expecting to meet the LIMIT soon; for a
        rare word it reads the whole window (hundreds of thousands of documents) where intersecting the search
        index with the window reads a few pages."""
        rows = self.rows.filter(pk__gte=low, pk__lte=high)
        if self.documents is None:
            return rows.order_by("pk" if forward else "-pk")
        words = self.documents.filter(example_id__gte=low, example_id__lte=high).values("example_id")
        unindexed = F("pk") + 0
        return rows.filter(pk__in=words).order_by(unindexed.asc() if forward else unindexed.desc())

    def among(self, ids: list[int]) -> set[int]:
        """Which of these examples match (are candidates, for a phrase): the ids looked up in the search table,
        and in the examples only if other filters ask for it. The ids must be of examples the planned queryset
        holds (the review queue's cases are its project's): only the filters are checked."""
        if self.documents is None:
            return set(self.rows.filter(pk__in=ids).order_by().values_list("pk", flat=True))
        if not self.rows_filtered:  # one array parameter: the review queue asks this of a thousand ids at a time
            with connections[self.documents.db].cursor() as cursor:
                cursor.execute(AMONG_SQL, [ids, self.words])
                return {row[0] for row in cursor.fetchall()}
        words = self.documents.filter(example_id__in=ids).values("example_id")
        return set(self.rows.filter(pk__in=words).order_by().values_list("pk", flat=True))


@dataclass(frozen=True)
class Span:
    """The project's first and last example ids, and the planner's estimate of how many examples it has (what a
    window is sized from, together with the estimate of how many match: never what is shown).

    Windows are measured in ids, taken as one example each: an import takes its ids in one block, and where a
    project's ids are sparser, a window holds fewer examples than planned, never more, so the budgets hold even
    when the statistics are stale."""

    low: int
    high: int
    estimated: float


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
    rest = replace(filters, q="")
    others = search.apply(examples, rest)
    tsquery = parsed_query(filters.q, using)
    if not tsquery:
        return Plan(others.none(), nothing=True)
    documents = ExampleSearch.objects.using(using)
    # A phrase under a "-" would need every candidate checked: it is searched for as written.
    if not PHRASE_OPERATOR.search(tsquery) or "!" in tsquery:
        exact = documents.filter(document=_raw(tsquery))
        return Plan(others, exact, indexed=True, rows_filtered=bool(rest), words=tsquery)
    if "|" in tsquery:  # either side may match: the candidates hold all the words of one side or the other
        held = PHRASE_OPERATOR.sub("&", tsquery)
    else:
        # Every word must appear: the candidates are the examples holding the rarest one. The planner takes the
        # words for independent and would think all of them together very rare, which the words of a phrase
        # seldom are; for one word its statistics are right, and so is its choice of plan.
        words = sorted(set(LEXEME.findall(tsquery)))
        rarest = min(words, key=lambda word: estimated_rows(documents.filter(document=_raw(f"'{word}'"))))
        held = f"'{rarest}'"
    candidates = documents.filter(document=_raw(held))

    def check(ids: list[int]) -> set[int]:
        return phrase_matches(ids, tsquery, using)

    return Plan(others, candidates, check, indexed=True, rows_filtered=bool(rest), words=held)


# OFFSET 0 keeps the candidates a subquery of their own, read by primary key: the planner would otherwise read
# every document holding the words from the search index and check each one.
PHRASE_SQL = f"""
SELECT example_id FROM (
    SELECT example_id, document FROM annotate_examplesearch WHERE example_id = ANY(%s) OFFSET 0
) AS candidates
WHERE document @@ to_tsquery('{search.SEARCH_CONFIG}'::regconfig, %s)
"""


AMONG_SQL = f"""
SELECT example_id FROM annotate_examplesearch
WHERE example_id = ANY(%s) AND document @@ to_tsquery('{search.SEARCH_CONFIG}'::regconfig, %s)
"""


def phrase_matches(ids: list[int], tsquery: str, using: str) -> set[int]:
    """Which of the candidates hold the words of the query as it says (next to each other, in order), read from
    their stored documents, which keep each word's positions."""
    with connections[using].cursor() as cursor:
        cursor.execute(PHRASE_SQL, [ids, tsquery])
        return {row[0] for row in cursor.fetchall()}


def estimated_rows(rows: QuerySet[Any]) -> float:
    """How many rows the planner expects the query to give (on SQLite: none known, so every row)."""
    if connections[rows.db].vendor != "postgresql":
        return math.inf
    explained = json.loads(rows.order_by().values("pk").explain(format="json"))
    return float(explained[0]["Plan"]["Plan Rows"])


def span_of(examples: QuerySet[Example]) -> Span | None:
    bounds = examples.order_by().aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["low"] is None:
        return None
    return Span(bounds["low"], bounds["high"], estimated_rows(examples))


def _first_window(wanted: int, matching: float, span: Span) -> int:
    """How many of the project's examples a first window should span to hold about twice ``wanted`` matches."""
    share = min(max(matching, 1.0) / max(span.estimated, 1.0), 1.0) if math.isfinite(span.estimated) else 1.0
    return min(max(int(2 * wanted / share), wanted), FIRST_WINDOW)


@dataclass
class _Walk:
    found: list[int]
    stopped: bool  # on the budget, before the end of the project
    frontier: int | None  # the last id looked at


def _walk(found: Plan, span: Span, *, after: int | None, before: int | None, limit: int) -> _Walk:
    """Up to ``limit`` matching ids from a position (exclusive), nearest first.

    Each window is one query; the next is sized from how many matches (or candidates) the last one held, at
    most ``GROWTH`` times larger. A phrase's candidates are checked as each window brings them, at most
    ``2 * limit`` a query."""
    forward = before is None
    position = before if before is not None else after
    wanted = limit if found.check is None else 2 * limit
    window = _first_window(wanted, estimated_rows(found.matches), span)
    matched: list[int] = []
    spanned = checked = 0
    budget = PHRASE_BUDGET + 2 * limit
    for _ in range(MAX_WINDOWS):
        width = max(window, 1)
        if forward:
            low = span.low if position is None else position + 1
            high = min(low + width - 1, span.high)
        else:
            high = span.high if position is None else position - 1
            low = max(high - width + 1, span.low)
        if low > high:
            return _Walk(matched, False, position)
        part = found.between(low, high, forward=forward)
        take = limit - len(matched) if found.check is None else min(wanted, budget - checked)
        ids = list(part.values_list("pk", flat=True)[:take])
        kept = found.check(ids) if found.check is not None and ids else None
        for example_id in ids:
            position = example_id
            if kept is None or example_id in kept:
                matched.append(example_id)
                if len(matched) == limit:
                    return _Walk(matched, False, position)
        checked += len(ids)
        if checked >= budget:
            return _Walk(matched, True, position)
        if found.check is not None and len(ids) == take:
            continue  # candidates remain in this window: the next query starts after the last one checked
        position = high if forward else low
        spanned += high - low + 1
        if (high >= span.high) if forward else (low <= span.low):
            return _Walk(matched, False, position)
        if not found.indexed and spanned >= SPAN_BUDGET:
            return _Walk(matched, True, position)
        held = len(ids) / (high - low + 1)
        still = wanted if found.check is not None else limit - len(matched)
        grown = GROWTH * window
        window = min(grown, max(int(2 * still / held), still)) if held > 0 else grown
    return _Walk(matched, True, position)


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
    using = examples.db
    with transaction.atomic(using=using):
        if connections[using].vendor == "postgresql":
            with connections[using].cursor() as cursor:
                cursor.execute(f"SET LOCAL work_mem = '{BITMAP_MEMORY}'")
        return _page(examples, filters, after=after, before=before, size=size, count=count)


def _page(
    examples: QuerySet[Example],
    filters: search.ExampleFilters,
    *,
    after: int | None,
    before: int | None,
    size: int,
    count: bool,
) -> Page:
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
    # Beyond the page: past its last example, or past the last example looked at if the walk ran out of budget.
    beyond = None
    if len(ids) > size:
        beyond = shown[0].pk if before is not None else shown[-1].pk
    elif walk.stopped:
        beyond = walk.frontier
    total = None
    if count and not found.filtered:
        total = examples.order_by()[:COUNT_UP_TO].count()
    elif count and first and beyond is None:
        total = len(shown)  # every match is on this page
    if before is not None:
        after_link = shown[-1].pk if shown else before - 1
        return Page(shown, after_link, beyond, False, total, walk.stopped)
    before_link = shown[0].pk if after is not None and shown else (after + 1 if after is not None else None)
    return Page(shown, beyond, before_link, first, total, walk.stopped)
