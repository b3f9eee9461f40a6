"""Markup to plain text: HTML (with selectolax's lexbor parser) and Markdown (with regular expressions), for the
clean step's ``strip_html`` and ``strip_markdown`` rules.

Both keep code: Markdown code (fenced blocks and inline spans) is set aside before either runs and put back
after, so an answer explaining ``<br>`` or ``**kwargs`` keeps it. Text holding the private-use characters these
functions use as markers (U+E000–U+E003) is returned unchanged rather than risk garbling it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from selectolax.lexbor import LexborHTMLParser

# Private-use characters: a paragraph break and a line break inserted around HTML blocks, and the brackets of the
# placeholders code is kept under while the markup around it is rewritten.
_PARAGRAPH, _LINE, _OPEN, _CLOSE = "\ue000", "\ue001", "\ue002", "\ue003"
_MARKERS = re.compile("[\ue000-\ue003]")

# --- code kept aside -------------------------------------------------------------------------------------------

# A fenced block runs from its opening fence to a closing fence of the same character, at least as long, or to the
# end of the text when it is never closed. A backtick fence's info string holds no backtick (CommonMark), so a line
# such as ```x``` is inline code, not a fence.
_FENCED_CODE = (
    r"^[ \t]{0,3}(?:(?P<ticks_fence>`{3,})[^`\n]*|(?P<tilde_fence>~{3,})[^\n]*)"
    r"(?:\n.*?^[ \t]{0,3}(?:(?P=ticks_fence)`*|(?P=tilde_fence)~*)[ \t]*$|.*\Z)"
)
_INLINE_CODE = r"(?<!`)(?P<ticks>`+)(?!`)(?P<code>[^\n]+?)(?<!`)(?P=ticks)(?!`)"
_CODE = re.compile(f"(?P<block>{_FENCED_CODE})|(?P<inline>{_INLINE_CODE})", re.M | re.S)
_PLACEHOLDER = re.compile(f"{_OPEN}(\\d+){_CLOSE}")


def _set_code_aside(text: str, inline_as_text: bool) -> tuple[str, list[str]]:
    """``text`` with each code block and span replaced by a numbered placeholder, and what each placeholder
    stands for: the code verbatim, or for inline spans with ``inline_as_text`` their text without the backticks."""
    kept: list[str] = []

    def keep(match: re.Match[str]) -> str:
        if match["inline"] and inline_as_text:
            code = match["code"]
            # CommonMark strips one space on each side of a span that has one on both (`` `` x `` ``).
            kept.append(code[1:-1] if len(code) > 2 and code[0] == code[-1] == " " else code)
        else:
            kept.append(match[0])
        return f"{_OPEN}{len(kept) - 1}{_CLOSE}"

    return _CODE.sub(keep, text), kept


def _put_code_back(text: str, kept: list[str]) -> str:
    return _PLACEHOLDER.sub(lambda m: kept[int(m[1])], text) if kept else text


def without_code(text: str) -> str:
    """``text`` with its Markdown code (fenced blocks and inline spans) blanked out: what is left is prose, where
    a ``#`` starts a heading rather than a comment (the inspection statistics count Markdown left in prose)."""
    if "`" not in text and "~~~" not in text:
        return text
    return _CODE.sub(" ", text)


def _outside_code(rewrite: Callable[[str], str], text: str, inline_as_text: bool) -> str:
    if "`" not in text and "~~~" not in text:
        return rewrite(text)
    protected, kept = _set_code_aside(text, inline_as_text)
    return _put_code_back(rewrite(protected), kept)


# --- HTML ------------------------------------------------------------------------------------------------------

# Tag names recognised as HTML. ``s`` is left out on purpose: ``<s>``/``</s>`` in training data are sentencepiece's
# sequence tokens (strip_special_tokens removes them), not strikethrough.
_TAG_NAMES = (
    "a abbr address area article aside audio b bdi bdo big blockquote body br button canvas caption center cite "
    "code col colgroup data datalist dd del details dfn dialog div dl dt em embed fieldset figcaption figure font "
    "footer form h1 h2 h3 h4 h5 h6 head header hr html i iframe img input ins kbd label legend li link main map "
    "mark meta meter nav noscript object ol optgroup option output p param picture pre progress q rp rt ruby samp "
    "script section select small source span strike strong style sub summary sup svg table tbody td template "
    "textarea tfoot th thead time title tr track tt u ul var video wbr"
)
_HTML_TAG_NAMES = _TAG_NAMES.split()
_ATTRIBUTE = r"""\s+[A-Za-z_:@][-\w:.@]*(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?"""
# A tag: a known name and attributes that look like attributes, so ``a<b && c>d`` and ``List<String>`` are not.
HTML_TAG = re.compile(
    rf"<(?:/?(?:{'|'.join(sorted(_HTML_TAG_NAMES, key=len, reverse=True))})\b(?:{_ATTRIBUTE})*\s*/?"
    r"|!--.*?--|![Dd][Oo][Cc][Tt][Yy][Pp][Ee][^<>]*)>",
    re.I | re.S,
)
_DROPPED_ELEMENTS = ["script", "style", "noscript", "template"]
_PARAGRAPH_ELEMENTS = (
    "p,h1,h2,h3,h4,h5,h6,pre,blockquote,table,ul,ol,dl,figure,hr,section,article,header,footer,aside,nav,main,"
    "details,form,address,fieldset"
)
_LINE_ELEMENTS = "div,li,tr,dt,dd,caption,summary,figcaption,legend,option"
# A run of whitespace holding at least one block marker (the blanks before it go with it; the run is only
# entered at its start, so a long run of spaces costs linear time).
_BREAK_RUN = re.compile(f"(?:(?<!\\s)\\s+)?[{_PARAGRAPH}{_LINE}][\\s{_PARAGRAPH}{_LINE}]*")


def strip_html(text: str) -> str:
    """The text of ``text``'s HTML: tags removed, entities decoded, ``script``/``style`` dropped with their
    content, paragraphs and blocks separated by a blank line, list items, rows and ``<br>`` by a line break, cells
    by a tab; ``<pre>`` keeps its line breaks. Text with no HTML tag is returned as it is, so ``a < b``, ``x<y``
    and ``&amp;`` in prose survive; so does Markdown code."""
    if "<" not in text or not HTML_TAG.search(text) or _MARKERS.search(text):
        return text
    return _outside_code(_html_to_text, text, inline_as_text=False)


def _html_to_text(text: str) -> str:
    if not HTML_TAG.search(text):
        return text
    tree = LexborHTMLParser(_escape_stray_brackets(text))
    tree.strip_tags(_DROPPED_ELEMENTS)
    for node in tree.css(_PARAGRAPH_ELEMENTS):
        node.insert_before(_PARAGRAPH)
        node.insert_after(_PARAGRAPH)
    for node in tree.css(_LINE_ELEMENTS):
        node.insert_before(_LINE)
        node.insert_after(_LINE)
    for node in tree.css("td,th"):
        node.insert_after("\t")
    for node in tree.css("br"):
        node.replace_with(_LINE)
    root = tree.root
    plain = root.text(deep=True, separator="") if root is not None else ""
    return _BREAK_RUN.sub(_break, plain).strip(f"\n{_PARAGRAPH}{_LINE}")


def _escape_stray_brackets(text: str) -> str:
    """Every ``<`` that does not open a recognised tag escaped, so the parser reads ``x<y`` as text instead of
    swallowing what follows as a tag."""
    pieces: list[str] = []
    last = 0
    for match in HTML_TAG.finditer(text):
        pieces.append(text[last : match.start()].replace("<", "&lt;"))
        pieces.append(match[0])
        last = match.end()
    pieces.append(text[last:].replace("<", "&lt;"))
    return "".join(pieces)


def _break(match: re.Match[str]) -> str:
    run = match[0]
    return "\n\n" if _PARAGRAPH in run or run.count("\n") >= 2 else "\n"


# --- Markdown --------------------------------------------------------------------------------------------------

_MARKDOWN_REWRITES: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    # reference definitions ("[1]: https://…") go, with their line
    (re.compile(r"^ {0,3}\[[^\]\n]+\]:[ \t]*\S+[^\n]*\n?", re.M), ""),
    # images and links become their text
    (re.compile(r"!\[([^\]\n]*)\]\((?:[^()\s]|\([^()\s]*\))*(?:\s+\"[^\"\n]*\")?\)"), r"\1"),
    (re.compile(r"!\[([^\]\n]*)\]\[[^\]\n]*\]"), r"\1"),
    (re.compile(r"\[([^\]\n]+)\]\((?:[^()\s]|\([^()\s]*\))*(?:\s+\"[^\"\n]*\")?\)"), r"\1"),
    (re.compile(r"\[([^\]\n]+)\]\[[^\]\n]*\]"), r"\1"),
    (re.compile(r"<((?:https?|ftp)://[^\s<>]+|mailto:[^\s<>]+)>"), r"\1"),
    # ATX headings ("## Title ##") become their text
    (re.compile(r"^ {0,3}#{1,6}(?:[ \t]+(.*?))??(?:[ \t]+#+)?[ \t]*$", re.M), lambda m: m[1] or ""),
    # thematic breaks and setext underlines go
    (re.compile(r"^ {0,3}(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,}|=+[ \t]*)$\n?", re.M), ""),
    # block quotes lose their ">"
    (re.compile(r"^[ \t]{0,3}(?:>[ \t]?)+", re.M), ""),
    # bullets (and task boxes) go; ordered lists keep their numbers, which carry the order of steps
    (re.compile(r"^[ \t]*[-*+][ \t]+(?:\[[ xX]\][ \t]+)?", re.M), ""),
    # tables: delimiter rows go, cells are separated by tabs
    (re.compile(r"^[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)+\|?[ \t]*$\n?", re.M), ""),
    (re.compile(r"^[ \t]*\|(.*)\|[ \t]*$", re.M), lambda m: "\t".join(c.strip() for c in m[1].split("|"))),
    # emphasis becomes its text. Inner text holds no delimiter character, so each opening delimiter looks no
    # further than the next one and a long line with many stray "*" costs linear time, not quadratic; italics go
    # first so that bold text containing italics is caught.
    (re.compile(r"(?<![\w*])\*\*\*(?=[^\s*])([^*\n]+?)(?<=[^\s*])\*\*\*(?![\w*])"), r"\1"),
    (re.compile(r"(?<![\w*])\*(?=[^\s*])([^*\n]+?)(?<=[^\s*])\*(?![\w*])"), r"\1"),
    (re.compile(r"(?<![\w*])\*\*(?=[^\s*])([^*\n]+?)(?<=[^\s*])\*\*(?![\w*])"), r"\1"),
    (re.compile(r"(?<![\w_])_(?=[^\s_])([^_\n]+?)(?<=[^\s_])_(?![\w_])"), r"\1"),
    # "__" only around several words, so Python's __init__ survives
    (re.compile(r"(?<![\w_])__(?=[^\s_])([^_\n]+?)(?<=[^\s_])__(?![\w_])"), lambda m: m[1] if " " in m[1] else m[0]),
    (re.compile(r"~~(?=\S)([^~\n]+?)(?<=\S)~~"), r"\1"),
)


def strip_markdown(text: str) -> str:
    """The text of ``text``'s Markdown: headings, emphasis, links and images become their text, bullets become
    plain lines (ordered lists keep their numbers), block quotes and thematic breaks go, table rows become
    tab-separated cells. Fenced code blocks are kept verbatim, fences included (the code and where it starts and
    ends is the content); inline code keeps its text without the backticks. HTML and backslash escapes are left
    alone (``\\(`` is LaTeX at least as often as an escape)."""
    if _MARKERS.search(text):
        return text
    return _outside_code(_markdown_to_text, text, inline_as_text=True)


def _markdown_to_text(text: str) -> str:
    for pattern, replacement in _MARKDOWN_REWRITES:
        text = pattern.sub(replacement, text)
    return text
