"""The clean step: rewrite every piece of text of each record, removing nothing.

``{"op": "clean", "rules": [...]}``. The rules always apply in this order, whatever order they are given in:

1. ``fix_unicode`` — mojibake and broken text repaired by ftfy (``fix_text``), except that curly quotes and
   full-width characters are left as they are: they are correct text (Chinese punctuation is full-width), and
   rewriting them would mark nearly every clean record as changed.
2. ``strip_special_tokens`` — stray chat-template and tokenizer tokens removed (``SPECIAL_TOKENS``; a header's
   role goes with it: ``<|start_header_id|>assistant<|end_header_id|>``). Before ``strip_html``, which would read
   ``<s>`` as a tag.
3. ``strip_html`` — text with HTML tags becomes the text of the HTML (``markup.strip_html``).
4. ``strip_markdown`` — Markdown becomes its text; code is kept (``markup.strip_markdown``).
5. ``normalize_whitespace`` — line breaks as ``\\n``, Unicode spaces as spaces, zero-width spaces removed, no
   trailing blanks on a line, at most one blank line in a row, no blank lines at the start or blanks at the end.
   Last, to tidy what the others leave.

Every string of the content is rewritten: system, prompt and response strings, each message's content (a tool
call's ``None`` content is left alone), each candidate. ``changed`` counts the records whose content changed;
``stats`` counts, per rule asked for, the records it changed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import ftfy

from curation.steps.base import Record, StepOutput
from curation.steps.markup import strip_html, strip_markdown
from curation.steps.options import CHOICES, Option, validate_options
from curation.steps.records import map_text

# --- special tokens --------------------------------------------------------------------------------------------

# Tokens of the common chat templates and tokenizers, removed wherever they appear. Any other ``<|name|>`` token
# (Llama 3's ``<|reserved_special_token_12|>``, …) and any DeepSeek ``<｜…｜>`` token goes too, by pattern.
SPECIAL_TOKENS = (
    # ChatML (OpenAI, Qwen, …) and GPT tokenizers
    "<|im_start|>",
    "<|im_end|>",
    "<|im_sep|>",
    "<|endoftext|>",
    "<|endofprompt|>",
    "<|fim_prefix|>",
    "<|fim_middle|>",
    "<|fim_suffix|>",
    # Llama 3
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eot_id|>",
    "<|eom_id|>",
    "<|python_tag|>",
    # Llama 2 and Mistral
    "[INST]",
    "[/INST]",
    "<<SYS>>",
    "<</SYS>>",
    "<s>",
    "</s>",
    "[AVAILABLE_TOOLS]",
    "[/AVAILABLE_TOOLS]",
    "[TOOL_CALLS]",
    "[TOOL_RESULTS]",
    "[/TOOL_RESULTS]",
    # Gemma
    "<start_of_turn>",
    "<end_of_turn>",
    "<bos>",
    "<eos>",
    # Phi-3
    "<|system|>",
    "<|user|>",
    "<|assistant|>",
    "<|end|>",
    # DeepSeek (full-width bars)
    "<｜begin▁of▁sentence｜>",
    "<｜end▁of▁sentence｜>",
    "<｜User｜>",
    "<｜Assistant｜>",
    # tokenizer placeholders
    "<unk>",
    "<pad>",
    "<mask>",
)
_ROLE = r"(?:system|user|assistant|model|tool|function|ipython|developer)"
SPECIAL_TOKEN = re.compile(
    "(?:"
    + "|".join(
        [
            # a turn opener takes its role and line break with it
            rf"<\|start_header_id\|>[ \t]*{_ROLE}?[ \t]*<\|end_header_id\|>\n*",
            rf"<\|im_start\|>(?:{_ROLE}\n?)?",
            rf"<start_of_turn>(?:{_ROLE}\n?)?",
            *(re.escape(token) for token in sorted(SPECIAL_TOKENS, key=len, reverse=True)),
            r"<\|[A-Za-z][A-Za-z0-9_]{0,63}\|>",
            r"<｜[^｜\n]{1,64}｜>",
        ]
    )
    + r")[ \t]*"
)


def strip_special_tokens(text: str) -> str:
    """``text`` without special tokens; a text that had some is also stripped of the blanks they leave at its
    ends."""
    stripped = SPECIAL_TOKEN.sub("", text)
    return stripped.strip() if len(stripped) != len(text) else text


# --- unicode and whitespace ------------------------------------------------------------------------------------

_FTFY_CONFIG = ftfy.TextFixerConfig(uncurl_quotes=False, fix_character_width=False, explain=False)


def fix_unicode(text: str) -> str:
    return ftfy.fix_text(text, _FTFY_CONFIG) if text else text


# Unicode spaces that are not U+0020 (no-break, figure, narrow no-break, en/em and the like; the ideographic space
# U+3000 is left, CJK text indents with it), and zero-width characters that are not joiners (ZWJ and ZWNJ shape
# emoji and Indic and Persian scripts).
_SPACES = str.maketrans(
    {
        **dict.fromkeys(
            map(ord, "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"), " "
        ),
        **dict.fromkeys(map(ord, "\u202f\u205f"), " "),
        **dict.fromkeys(map(ord, "\u200b\u2060\ufeff"), None),
    }
)
_LINE_BREAK = re.compile("\r\n?|[\u000b\u000c\u0085\u2028\u2029]")
_TRAILING_BLANKS = re.compile(r"[ \t]+$", re.M)
_BLANK_LINES = re.compile(r"\n{3,}")
_LEADING_BLANK_LINES = re.compile(r"\A(?:[ \t]*\n)+")


def normalize_whitespace(text: str) -> str:
    """``text`` with tidy whitespace. Leading spaces of the first line and indentation are kept (code, and a
    completion's leading space, depend on them); so are runs of spaces inside a line."""
    text = _LINE_BREAK.sub("\n", text).translate(_SPACES)
    text = _TRAILING_BLANKS.sub("", text)
    text = _BLANK_LINES.sub("\n\n", text)
    text = _LEADING_BLANK_LINES.sub("", text)
    return text.rstrip()


# --- the step --------------------------------------------------------------------------------------------------

# The rules in the order they apply.
RULES: dict[str, Callable[[str], str]] = {
    "fix_unicode": fix_unicode,
    "strip_special_tokens": strip_special_tokens,
    "strip_html": strip_html,
    "strip_markdown": strip_markdown,
    "normalize_whitespace": normalize_whitespace,
}

OPTIONS = (
    Option(
        "rules",
        CHOICES,
        "the cleaning rules to apply; they apply in a fixed order: " + ", ".join(RULES),
        required=True,
        choices=tuple(RULES),
    ),
)


def validate(options: dict[str, Any]) -> dict[str, Any]:
    """The clean step's options, normalised: ``rules`` in the order they apply, each once."""
    checked = validate_options(OPTIONS, options, owner="the clean step")
    checked["rules"] = [rule for rule in RULES if rule in checked["rules"]]
    return checked


def apply(records: list[Record], options: dict[str, Any], context: dict[str, Any]) -> StepOutput:
    rules = [(name, RULES[name]) for name in RULES if name in options["rules"]]
    stats = dict.fromkeys((name for name, _ in rules), 0)
    kept: list[Record] = []
    for record in records:
        content, changed_by = _clean(record["content"], rules)
        if changed_by:
            kept.append({**record, "content": content})
            for name in changed_by:
                stats[name] += 1
        else:
            kept.append(record)  # unchanged: the record itself, not a copy
    return StepOutput(
        kept=kept, changed=sum(1 for new, old in zip(kept, records, strict=True) if new is not old), stats=stats
    )


def _clean(content: dict[str, Any], rules: list[tuple[str, Callable[[str], str]]]) -> tuple[dict[str, Any], set[str]]:
    """A cleaned copy of ``content``, and the rules that changed some text of it (none if it came out the same)."""
    changed_by: set[str] = set()
    changed_text = False

    def rewrite(text: str) -> str:
        nonlocal changed_text
        original = text
        for name, rule in rules:
            cleaned = rule(text)
            if cleaned != text:
                changed_by.add(name)
                text = cleaned
        changed_text = changed_text or text != original
        return text

    cleaned = map_text(content, rewrite)
    return (cleaned, changed_by) if changed_text else (content, set())
