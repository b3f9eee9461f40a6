"""Keyset pagination for the long lists of a version (its members, its removals): a page costs one indexed range
query whatever the version's size, where an offset would count and skip every row before it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from django.db import models

if TYPE_CHECKING:
    from django.http import QueryDict

M = TypeVar("M", bound=models.Model)


@dataclass(frozen=True)
class KeysetPage(Generic[M]):
    """A page of rows in ``key`` order, and the keys that ask for the next page (``?after=``) and the previous
    one (``?before=``); None where there is none."""

    items: list[M]
    after: int | None
    before: int | None
    first: bool  # the first page (no ``after`` or ``before`` asked)


def _key(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() and len(value) < 19 else None


def keyset_page(rows: models.QuerySet[M], key: str, query: QueryDict, *, size: int) -> KeysetPage[M]:
    """The page of ``rows`` the query asks for, by an integer column ``key`` (an index must lead with the columns
    ``rows`` is filtered on, then ``key``)."""
    after, before = _key(query.get("after")), _key(query.get("before"))

    def key_of(row: Any) -> int:
        return int(getattr(row, key))

    if before is not None:
        items = list(rows.filter(**{f"{key}__lt": before}).order_by(f"-{key}")[: size + 1])
        earlier = len(items) > size
        items = items[:size][::-1]
        return KeysetPage(
            items, after=key_of(items[-1]) if items else None, before=key_of(items[0]) if earlier else None, first=False
        )
    if after is not None:
        rows = rows.filter(**{f"{key}__gt": after})
    items = list(rows.order_by(key)[: size + 1])
    later = len(items) > size
    items = items[:size]
    return KeysetPage(
        items,
        after=key_of(items[-1]) if later else None,
        before=key_of(items[0]) if after is not None and items else None,
        first=after is None,
    )
