"""A page of a project's examples, searched and filtered (annotate/search.py), for the examples page and the API.

Pages follow the examples' ids with a keyset (``after``/``before`` an id), so a page deep in a million examples
costs what the first one does, and how many match is counted no further than ``COUNT_UP_TO``.

A search for a phrase (``"as an AI language model"``, or a word the parser splits, such as ``e-mail``) is walked
in two steps: the search index finds the examples holding all of its words, cheaply and in id order, and only
those candidates are checked for the words standing together, which means computing their text's tsvector again
(the index keeps no positions it could check them with). A page checks at most ``PHRASE_BUDGET`` candidates (and
two per example it shows): a
phrase whose words often appear apart may then fill a page only partly, and its next page goes on from where the
check stopped. Such a search is not counted either (``count`` is None).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from django.contrib.postgres.search import SearchQuery
from django.db import connections
from django.db.models import QuerySet

from annotate import search
from annotate.models import Example

COUNT_UP_TO = 1000
PHRASE_BUDGET = 600
# A tsquery's phrase operators: <-> (next to) and <N> (N apart).
PHRASE_OPERATOR = re.compile(r"<(-|\d+)>")


@dataclass(frozen=True)
class Page:
    """Examples in id order, and the ids that ask for the next page (``after``) and the previous one
    (``before``), None where there is none. ``first``: no ``after`` or ``before`` was asked. ``count``: how many
    examples match, up to ``COUNT_UP_TO`` (then it is ``COUNT_UP_TO``), None when not counted. ``partial``: the
    page stopped early, having checked its share of candidates, and the next page goes on."""

    examples: list[Example]
    after: int | None
    before: int | None
    first: bool
    count: int | None
    partial: bool = False


@dataclass(frozen=True)
class Plan:
    """How to find the examples: ``rows`` are the candidates, in id order through indexes; ``check``, when
    given, keeps those of a list of candidate ids that really match (a phrase's words standing together)."""

    rows: QuerySet[Example]
    check: Callable[[list[int]], set[int]] | None = None
    nothing: bool = False  # the search has no word to look for: nothing matches


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
        return Plan(exact)
    loose = PHRASE_OPERATOR.sub("&", tsquery)

    def check(ids: list[int]) -> set[int]:
        return set(exact.filter(pk__in=ids).values_list("pk", flat=True))

    return Plan(others.alias(document=document).filter(document=_raw(loose)), check)


def _ids(rows: QuerySet[Example], *, after: int | None, before: int | None, limit: int) -> list[int]:
    if before is not None:
        return list(rows.filter(pk__lt=before).order_by("-pk").values_list("pk", flat=True)[:limit])
    if after is not None:
        rows = rows.filter(pk__gt=after)
    return list(rows.order_by("pk").values_list("pk", flat=True)[:limit])


def _walk(found: Plan, *, after: int | None, before: int | None, limit: int) -> tuple[list[int], bool, int | None]:
    """Up to ``limit`` matching ids from a position, nearest first; whether the walk stopped on its budget; and
    the last candidate it looked at."""
    if found.check is None:
        return _ids(found.rows, after=after, before=before, limit=limit), False, None
    matched: list[int] = []
    budget = PHRASE_BUDGET + 2 * limit
    checked, batch = 0, max(2 * limit, 50)
    frontier = before if before is not None else after
    while checked < budget:
        backwards = before is not None
        candidates = _ids(
            found.rows, after=None if backwards else frontier, before=frontier if backwards else None, limit=batch
        )
        kept = found.check(candidates) if candidates else set()
        for candidate in candidates:
            frontier = candidate
            if candidate in kept:
                matched.append(candidate)
                if len(matched) == limit:
                    return matched, False, frontier
        checked += len(candidates)
        if len(candidates) < batch:
            return matched, False, frontier
        batch = min(2 * batch, budget - checked) or 1
    return matched, True, frontier


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
    found = plan(examples, filters)
    if found.nothing:
        return Page([], None, None, after is None and before is None, 0 if count else None)
    ids, stopped, frontier = _walk(found, after=after, before=before, limit=size + 1)
    by_id = Example.objects.using(examples.db).in_bulk(ids[:size])
    shown = [by_id[pk] for pk in ids[:size] if pk in by_id]
    if before is not None:
        shown.reverse()
    total = None
    if count and found.check is None:
        total = found.rows.order_by()[:COUNT_UP_TO].count()
    # Beyond the page: past its last example, or past the last candidate checked if the walk ran out of budget.
    beyond = None
    if len(ids) > size:
        beyond = shown[0].pk if before is not None else shown[-1].pk
    elif stopped:
        beyond = frontier
    if before is not None:
        after_link = shown[-1].pk if shown else None
        return Page(shown, after=after_link, before=beyond, first=False, count=total, partial=stopped)
    before_link = shown[0].pk if after is not None and shown else None
    return Page(shown, after=beyond, before=before_link, first=after is None, count=total, partial=stopped)
