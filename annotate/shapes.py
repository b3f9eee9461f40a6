"""The canonical record shapes an Example's content takes (see API.md, "Examples and import").

Import converts every accepted alias (Alpaca, prompt/completion, ShareGPT, TRL) into one of these, so the rest of
Winnow only ever meets these keys.
"""

from __future__ import annotations

from typing import Any

SHAPES = ("text", "instruction", "chat", "candidates", "preference")
CHAT_ROLES = ("system", "user", "assistant", "tool")


def shape_of(content: dict[str, Any]) -> str:
    """Name the canonical shape of stored content."""
    if "messages" in content:
        return "chat"
    if "responses" in content:
        return "candidates"
    if "chosen" in content:
        return "preference"
    if "response" in content:
        return "instruction"
    return "text"
