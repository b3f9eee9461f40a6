"""Example content as the pages show it: Markdown rendered and sanitised, code highlighted, tool calls and tool
results as labelled blocks. One renderer for the annotate, review and examples pages (the
``templates/annotate/_example_*.html`` partials call it through the filters in ``templatetags/winnow.py``).

Content comes from imported datasets, so everything in it is untrusted:
- raw HTML in a text is text to show, not markup: ``<script>`` appears as written, which is also what a reviewer of
  training data needs to see (the Markdown parser's HTML passes are switched off);
- the HTML Markdown produces is then sanitised by nh3 all the same (a short list of tags; links keep only http,
  https and mailto targets; classes only Pygments' own on ``span``);
- code is highlighted by Pygments server-side with CSS classes (``static/pygments.css``), never inline styles:
  the Content-Security-Policy refuses those.

A text longer than ``MARKDOWN_LIMIT`` is shown as plain text: Markdown's cost grows with the text, and a page of
examples must stay fast whatever a dataset holds.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

import markdown as md
import nh3
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from markdown.extensions import Extension
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import JsonLexer
from pygments.token import STANDARD_TYPES

from annotate.markdown import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, URL_SCHEMES

CODE_CLASS = "highlight"
MARKDOWN_LIMIT = 50_000
# Pygments' own token classes: the only classes a rendered text keeps.
TOKEN_CLASSES = {name for name in STANDARD_TYPES.values() if name}
EXTENSION_CONFIGS = {
    "codehilite": {"css_class": CODE_CLASS, "guess_lang": False, "wrapcode": True, "use_pygments": True},
    # A "# Heading" in content sits under the page's h1–h3 (the example, its blocks): it becomes an h4.
    "toc": {"baselevel": 4, "marker": ""},
}
_local = threading.local()


class _HtmlAsText(Extension):
    """Raw HTML in content is shown as text: without these two passes, Python-Markdown copies it into the page."""

    def extendMarkdown(self, md: md.Markdown) -> None:  # Python-Markdown names it so
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")


def _markdown() -> md.Markdown:
    """This thread's parser (building one loads every extension; a parser is not safe to share between threads)."""
    parser: md.Markdown | None = getattr(_local, "markdown", None)
    if parser is None:
        parser = md.Markdown(
            extensions=[_HtmlAsText(), "fenced_code", "codehilite", "tables", "sane_lists", "toc"],
            extension_configs=EXTENSION_CONFIGS,
            output_format="html",
        )
        _local.markdown = parser
    return parser


def sanitise(html: str) -> str:
    """The rendered HTML with nothing but formatting left in it."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS | {"div", "span"},
        clean_content_tags={"script", "style"},
        attributes={name: set(allowed) for name, allowed in ALLOWED_ATTRIBUTES.items()},
        allowed_classes={"div": {CODE_CLASS}, "span": TOKEN_CLASSES},
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        filter_style_properties={"text-align"},
    )


def render_text(text: Any) -> SafeString:
    """A text of an example (a prompt, a response, a message's content) as safe HTML: Markdown rendered and
    sanitised, fenced code highlighted; a very long text as plain text; anything that is not a string as JSON."""
    if text is None:
        return mark_safe("")
    if not isinstance(text, str):
        return render_json(text)
    if len(text) > MARKDOWN_LIMIT:
        return mark_safe(f'<div class="plain-text">{escape(text)}</div>')  # escaped just now
    parser = _markdown()
    try:
        html = parser.convert(text)
    finally:
        parser.reset()
    return mark_safe(sanitise(html))  # sanitised by nh3


def render_json(value: Any) -> SafeString:
    """A JSON value pretty-printed (indented, non-ASCII kept readable) and highlighted."""
    shown = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    return _highlighted_json(shown)


def _highlighted_json(text: str) -> SafeString:
    # Pygments escapes the text it formats; classes only, no inline styles.
    html: str = highlight(text, JsonLexer(), HtmlFormatter(cssclass=CODE_CLASS, wrapcode=True))
    return mark_safe(html)  # built by Pygments from escaped tokens


def stylesheet() -> str:
    """The CSS of the highlighted code's classes (static/pygments.css is this, written once: see tests)."""
    formatter = HtmlFormatter(style="default", cssclass=CODE_CLASS)
    scope = f".{CODE_CLASS}"
    # Only rules scoped to the highlighted blocks (get_style_defs would also restyle every pre on the page).
    rules = [*formatter.get_background_style_defs(scope), *formatter.get_token_style_defs(scope)]
    return (
        "/* Written by annotate.rendering.stylesheet() from Pygments' default style: do not edit. */\n"
        + "\n".join(rules)
        + "\n"
    )


# Tool calls and results ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ToolCall:
    """One call an assistant turn makes: the function's name, the call's id, and its arguments (pretty-printed
    JSON when they decode as JSON, else as given)."""

    name: str
    id: str
    arguments: SafeString


def _arguments(raw: Any) -> SafeString:
    if isinstance(raw, str):
        try:
            decoded = json.loads(raw)
        except ValueError:
            return mark_safe(f'<pre class="tool-arguments">{escape(raw)}</pre>')  # escaped just now
        return render_json(decoded)
    if raw is None:
        return mark_safe("")
    return render_json(raw)


def tool_calls(calls: Any) -> list[ToolCall]:
    """An assistant turn's ``tool_calls`` (OpenAI's shape, ``{"id", "type", "function": {"name", "arguments"}}``,
    or the flatter ``{"name", "arguments"}``) as blocks to show."""
    if not isinstance(calls, list):
        calls = [calls]
    shown = []
    for call in calls:
        if not isinstance(call, dict):
            shown.append(ToolCall(name="", id="", arguments=render_json(call)))
            continue
        nested = call.get("function")
        function: dict[str, Any] = nested if isinstance(nested, dict) else call
        name = function.get("name")
        shown.append(
            ToolCall(
                name=name if isinstance(name, str) else "",
                id=str(call.get("id") or ""),
                arguments=_arguments(function.get("arguments", function.get("parameters"))),
            )
        )
    return shown


def tool_result(content: Any) -> SafeString:
    """A tool turn's content: JSON (an object or a list, also when it arrives as a string) pretty-printed, other
    text as it is, preformatted (tool output is rarely Markdown)."""
    if isinstance(content, str):
        stripped = content.strip()
        if stripped[:1] in ("{", "["):
            try:
                return render_json(json.loads(stripped))
            except ValueError:
                pass
        return mark_safe(f'<pre class="tool-output">{escape(content)}</pre>')  # escaped just now
    return render_text(content)
