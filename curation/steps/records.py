"""The text of a record, by field, for every canonical shape; and rewriting every piece of text in a content.

Fields (what a filter's ``field`` and a dedup step's ``fields`` name):

=============  ==========================================================================================
shape          fields
=============  ==========================================================================================
text           ``text``
instruction    ``system`` (if any), ``prompt``, ``response``
chat           ``system`` (system turns), ``prompt`` (every turn before the last assistant turn, system
               turns excepted), ``response`` (the last assistant turn)
candidates     ``system`` (if any), ``prompt``, ``responses`` (the candidates, one per paragraph)
preference     ``system`` (if any), ``prompt``, ``chosen``, ``rejected``
=============  ==========================================================================================

"All text of the example" (a step's default) is every field joined with blank lines, in the order above.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

FIELDS = ("text", "system", "prompt", "response", "responses", "chosen", "rejected")
_JOIN = "\n\n"


def _turns_text(turns: list[dict[str, Any]]) -> str:
    return _JOIN.join(t["content"] for t in turns if isinstance(t.get("content"), str) and t["content"])


def _text_of(value: Any) -> str:
    """A string field, or a list of messages (TRL's conversational preference records), as text."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return _turns_text([m for m in value if isinstance(m, dict) and m.get("role") != "system"])
    return ""


def _system_of(value: Any) -> str:
    if isinstance(value, list):
        return _turns_text([m for m in value if isinstance(m, dict) and m.get("role") == "system"])
    return ""


def fields_of(content: dict[str, Any]) -> dict[str, str]:
    """Each field of a content as one string (see the module's table)."""
    if "messages" in content:
        messages = [m for m in content["messages"] if isinstance(m, dict)]
        system = [m for m in messages if m.get("role") == "system"]
        rest = [m for m in messages if m.get("role") != "system"]
        last = max((i for i, m in enumerate(rest) if m.get("role") == "assistant"), default=None)
        fields = {"system": _turns_text(system)} if system else {}
        if last is None:
            fields["prompt"] = _turns_text(rest)
            fields["response"] = ""
        else:
            fields["prompt"] = _turns_text(rest[:last])
            fields["response"] = _turns_text(rest[last : last + 1])
        return fields
    if "text" in content and "prompt" not in content:
        return {"text": content["text"] if isinstance(content["text"], str) else ""}
    fields = {}
    system_text = content["system"] if isinstance(content.get("system"), str) else _system_of(content.get("prompt"))
    if system_text:
        fields["system"] = system_text
    fields["prompt"] = _text_of(content.get("prompt"))
    if "responses" in content:
        fields["responses"] = _JOIN.join(r for r in content["responses"] if isinstance(r, str))
    elif "chosen" in content:
        fields["chosen"] = _text_of(content["chosen"])
        fields["rejected"] = _text_of(content["rejected"])
    else:
        fields["response"] = _text_of(content.get("response"))
    return fields


def text_of(content: dict[str, Any], fields: list[str] | tuple[str, ...] | None = None) -> str:
    """The text of the named fields (all of them by default) joined with blank lines; a field the shape lacks
    contributes nothing."""
    by_field = fields_of(content)
    names = fields if fields else FIELDS
    return _JOIN.join(by_field[name] for name in names if by_field.get(name))


def map_text(content: dict[str, Any], rewrite: Callable[[str], str]) -> dict[str, Any]:
    """A copy of ``content`` with ``rewrite`` applied to every piece of text in it (strings, message contents,
    candidate responses). Keys that are not text (roles, tool calls, tools) are kept as they are."""

    def message(m: Any) -> Any:
        if isinstance(m, dict) and isinstance(m.get("content"), str):
            return {**m, "content": rewrite(m["content"])}
        return m

    def value(v: Any) -> Any:
        if isinstance(v, str):
            return rewrite(v)
        if isinstance(v, list):
            return [message(m) if isinstance(m, dict) else value(m) for m in v]
        return v

    out = dict(content)
    for key in ("text", "system", "prompt", "response", "responses", "chosen", "rejected", "messages"):
        if key in out:
            out[key] = value(out[key])
    return out
