"""The pieces of text in a record's content, each with a name a person reads (``Prompt``, ``Response B``,
``Message 3 · assistant``), so that two versions of one content can be compared piece by piece."""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any


def _letter(index: int) -> str:
    label = ""
    number = index + 1
    while number > 0:
        number, remainder = divmod(number - 1, 26)
        label = string.ascii_uppercase[remainder] + label
    return label


def _messages(name: str, messages: list[Any]) -> list[tuple[str, str]]:
    parts = []
    for number, message in enumerate(messages, 1):
        if isinstance(message, Mapping) and isinstance(message.get("content"), str):
            parts.append((f"{name} {number} · {message.get('role', '?')}", message["content"]))
    return parts


def text_parts(content: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every piece of text in ``content``, in reading order, named."""
    parts: list[tuple[str, str]] = []
    for key in ("text", "system", "prompt", "response", "chosen", "rejected"):
        value = content.get(key)
        if isinstance(value, str):
            parts.append((key.capitalize(), value))
        elif isinstance(value, list):
            parts += _messages(f"{key.capitalize()} · message", value)
    responses = content.get("responses")
    if isinstance(responses, list):
        parts += [(f"Response {_letter(i)}", text) for i, text in enumerate(responses) if isinstance(text, str)]
    messages = content.get("messages")
    if isinstance(messages, list):
        parts += _messages("Message", messages)
    return parts
