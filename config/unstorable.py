"""Text that the database cannot store, found before it reaches a query.

PostgreSQL refuses the NUL character in text and jsonb ("A string literal cannot contain NUL (0x00)
characters"), and psycopg2 cannot encode a lone UTF-16 surrogate (U+D800 to U+DFFF) as UTF-8. Either one in a
query parameter, a URL path or a form field became a 500. The request's edges refuse them with a 400 instead:
config/middleware/unstorable_text.py for the path, query, cookies and forms, api/parsers.py for request bodies.

No Django import here, so it is cheap to test and to use from anywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable_character(text: str) -> str | None:
    """How to name the first character of ``text`` that cannot be stored, or None when there is none."""
    found = UNSTORABLE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "a NUL character (\\u0000)"
    return f"a lone surrogate (\\u{ord(found.group()):04x}), which is not text"


def unstorable_message(where: str, text: str) -> str | None:
    """E.g. "The query parameter 'q' holds a NUL character (\\u0000), which cannot be stored: remove it."."""
    character = unstorable_character(text)
    if character is None:
        return None
    return f"{where} holds {character}, which cannot be stored: remove it."


MAX_PATH_SHOWN = 200
# What orjson (which writes every JSON value Winnow stores) represents exactly; it reads a larger integer literal
# as a rounded float, without a word.
INT_MIN, INT_MAX = -(2**63), 2**64 - 1


def integer_out_of_range(number: int) -> str:
    """Completes "X …" for an integer that cannot be stored exactly."""
    digits = str(number)
    shown = digits if len(digits) <= 40 else f"{digits[:20]}… ({len(digits)} digits)"
    return (
        f"holds the integer {shown}, beyond the 64-bit range that can be stored exactly "
        f"({INT_MIN} to {INT_MAX}); write it as a string"
    )


def _out_of_range(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and not INT_MIN <= value <= INT_MAX


def find_big_integer(document: Any) -> str | None:
    """The message for the first integer beyond 64 bits in a document parsed exactly (Python's json), naming
    where it is, or None."""
    if _out_of_range(document):
        return f"The JSON body {integer_out_of_range(document)}."
    # Named like a field's error ("answers.quality: …"), as the API names every other bad value.
    for keys, _, value, _ in _walk(document):
        if _out_of_range(value):
            return f"{json_path(keys)}: {integer_out_of_range(value)}."
    return None


def json_path(keys: list[str | int]) -> str:
    """E.g. ``answers.quality[2]``; a very long path keeps its start and its end."""
    text = ""
    for key in keys:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else key)
    if len(text) > MAX_PATH_SHOWN:
        text = f"{text[: MAX_PATH_SHOWN // 2]}…{text[-MAX_PATH_SHOWN // 2 :]}"
    return text


def _children(container: dict | list) -> Iterator[tuple[Any, Any]]:
    return iter(container.items()) if isinstance(container, dict) else enumerate(container)


def _walk(document: Any) -> Iterator[tuple[list[str | int], Any, Any, int]]:
    """Every key (or index) and value inside ``document``, depth first: the path's keys (a list the walk goes on
    changing: read it before the next step), the key, the value, and how many containers hold the value.

    The walk keeps its own stack rather than recursing, so a document of any depth cannot exhaust Python's stack
    (a recursive walk, or ``json.dumps``, raises RecursionError at about a thousand levels).
    """
    if not isinstance(document, (dict, list)):
        return
    frames = [_children(document)]
    keys: list[str | int] = [0]  # keys[i]: the key being visited in frames[i]
    while frames:
        for key, child in frames[-1]:
            keys[-1] = key
            yield keys, key, child, len(frames)
            if isinstance(child, (dict, list)):
                frames.append(_children(child))
                keys.append(0)
                break
        else:
            frames.pop()
            keys.pop()


def find_json_problem(document: Any, *, max_depth: int, check_text: bool = True) -> str | None:
    """What is wrong with a parsed JSON document, naming where: nesting deeper than ``max_depth`` containers or
    (unless ``check_text`` is false) a key or string value that the database cannot store. None if nothing is."""
    if isinstance(document, str):
        return unstorable_message("The JSON body", document) if check_text else None
    for keys, key, child, depth in _walk(document):
        if check_text and isinstance(key, str) and (message := unstorable_message(f"The key {key!r}", key)):
            return message
        if isinstance(child, str):
            if check_text and (message := unstorable_message(f"The value of {json_path(keys)}", child)):
                return message
        elif isinstance(child, (dict, list)) and depth >= max_depth:
            return f"JSON may be nested at most {max_depth} levels deep, and {json_path(keys)} is deeper."
    return None
