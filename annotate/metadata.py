"""Filtering by an example's metadata (``metadata.<key>=<value>``): which keys may be filtered on, and how.

One rule for the review queue's page, the API and whatever lists examples next.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from django.db import models
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

M = TypeVar("M", bound=models.Model)
MAX_KEY = 100


def filterable_key(key: str) -> bool:
    """Any key up to 100 characters, except one of digits alone: the JSON lookup would read it as an array index.
    (Keys are passed as data, so "a__b" or "contains" are keys like any other.)"""
    return 0 < len(key) <= MAX_KEY and not key.isdigit() and "\x00" not in key


def matching(rows: models.QuerySet[M], path: str, wanted: Mapping[str, str]) -> models.QuerySet[M]:
    """The rows whose metadata (the JSON field at ``path``) has each key equal to the value given, compared as
    text, so "2023" matches the number 2023. Keys must be ``filterable_key``."""
    for index, (key, value) in enumerate(wanted.items()):
        if not filterable_key(key):
            raise ValueError(f"cannot filter on the metadata key {key!r}")
        # Keys are data, not lookup paths: KeyTextTransform treats "a__b" or "contains" as plain keys. The cast
        # makes the comparison one of text on every database (SQLite would otherwise compare it as JSON).
        as_text = Cast(KeyTextTransform(key, path), output_field=models.TextField())
        rows = rows.alias(**{f"metadata_{index}": as_text}).filter(**{f"metadata_{index}": value})
    return rows
