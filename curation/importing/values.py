"""Checks on the JSON values of an imported record that its shape does not cover: how deep it nests, and what
cannot be stored exactly (integers beyond 64 bits, text that is not valid Unicode, values that are not JSON).

Pure Python. The readers parse with different libraries, which treat these cases differently: orjson turns an
integer beyond 64 bits into a rounded float without a word, and refuses unpaired surrogate escapes; Python's
json keeps both; pyarrow gives bytes and Decimals. These functions give each case one message.
"""

from __future__ import annotations

import json
from typing import Any

from config.unstorable import INT_MAX, INT_MIN
from config.unstorable import integer_out_of_range as out_of_range

ROUNDED_FROM_INT = float(2**63)  # orjson reads a larger integer literal as a float at least this large


def too_deep(limit: int) -> str:
    return f"is nested more than {limit} levels deep; flatten it (the limit is WINNOW_IMPORT_MAX_DEPTH)"


UNPAIRED_SURROGATE = (
    "holds text with an unpaired UTF-16 surrogate (an escape such as \\ud800 without its pair), which is not "
    "valid Unicode; fix or remove it"
)


def scan(value: Any, *, limit: int) -> tuple[bool, bool]:
    """(deeper than ``limit``, holds a float that orjson may have made out of a too large integer).

    Iterative, so a value nested thousands deep is measured, not a RecursionError.
    """
    suspect = False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if depth > limit:
                return True, suspect
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            if depth > limit:
                return True, suspect
            stack.extend((child, depth + 1) for child in item)
        elif type(item) is float and abs(item) >= ROUNDED_FROM_INT and item.is_integer():
            suspect = True
    return False, suspect


def problem(value: Any, *, limit: int) -> str | None:
    """Why ``value`` (parsed JSON, or a Parquet row) cannot be stored as it is, or None.

    For the values orjson refuses to write; walks the whole value, so call it only when writing failed.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return too_deep(limit)
            children = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in children:
                if isinstance(key, str) and _unpaired(key):
                    return UNPAIRED_SURROGATE
                stack.append((child, depth + 1))
        elif isinstance(item, bool) or item is None or isinstance(item, float):
            continue
        elif isinstance(item, int):
            if not INT_MIN <= item <= INT_MAX:
                return out_of_range(item)
        elif isinstance(item, str):
            if _unpaired(item):
                return UNPAIRED_SURROGATE
        else:
            return f"holds a {type(item).__name__} value, which has no JSON form; convert it to text or a number"
    return None


def rounded_integer(raw: bytes | str) -> str | None:
    """The message for a record whose JSON text holds an integer beyond 64 bits, or None: read again with
    Python's json, which keeps such integers exact (only called for records ``scan`` found suspect)."""
    try:
        exact = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    stack = [exact]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, int) and not isinstance(item, bool) and not INT_MIN <= item <= INT_MAX:
            return out_of_range(item)
    return None


def _unpaired(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
