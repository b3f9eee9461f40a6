"""Small filters for showing stored records readably. Every filter returns plain text, so autoescaping still
applies to whatever it returns, except the content filters at the end, which return HTML that
annotate/rendering.py built from escaped or sanitised text."""

from __future__ import annotations

import json
import string
from typing import Any

from django import template
from django.utils.safestring import SafeString

from annotate import rendering

register = template.Library()


@register.filter
def pretty_json(value: Any) -> str:
    """Indented JSON for display (keys in their stored order, non-ASCII kept readable)."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


@register.filter
def as_text(value: Any) -> str:
    """A metadata value on one line: strings as they are, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


@register.filter
def is_list(value: Any) -> bool:
    return isinstance(value, list)


@register.filter
def letter(index: int) -> str:
    """1 → A, 2 → B, … 27 → AA: labels for candidate responses (takes ``forloop.counter``)."""
    label = ""
    number = int(index)
    while number > 0:
        number, remainder = divmod(number - 1, 26)
        label = string.ascii_uppercase[remainder] + label
    return label


@register.filter
def megabytes(size: int | None) -> str:
    """Bytes as decimal megabytes, with two decimals under 1 MB so small files still show movement."""
    if size is None:
        return "?"
    value = size / 1_000_000
    return f"{value:,.1f}" if value >= 1 else f"{value:.2f}"


@register.filter
def figure(value: Any) -> str:
    """A statistic as the quality pages show it: three decimals, or a dash where it is undefined."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


@register.filter
def seconds(milliseconds: Any) -> str:
    """Milliseconds as seconds with one decimal."""
    return f"{float(milliseconds) / 1000:.1f}"


# Example content (annotate/rendering.py): the same rendering on every page that shows an example ---------------


@register.filter
def rendered(text: Any) -> SafeString:
    """A text of an example: Markdown, sanitised, with highlighted code."""
    return rendering.render_text(text)


@register.filter
def json_block(value: Any) -> SafeString:
    """A JSON value, pretty-printed and highlighted."""
    return rendering.render_json(value)


@register.filter
def tool_calls(calls: Any) -> list[rendering.ToolCall]:
    """An assistant turn's tool calls, each with its function's name and pretty-printed arguments."""
    return rendering.tool_calls(calls)


@register.filter
def tool_result(content: Any) -> SafeString:
    """A tool turn's content: JSON pretty-printed, other output preformatted."""
    return rendering.tool_result(content)
