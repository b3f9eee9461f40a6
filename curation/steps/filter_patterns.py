"""Filter rules that look for patterns in the text of a field: regular expressions and keywords, to deny or to
require."""

from __future__ import annotations

import re
from typing import Any

from curation.steps.base import Record, StepOptionError
from curation.steps.filter_spec import FIELD_OPTION, RECORD, RuleSpec, clip
from curation.steps.ngrams import normalized_words
from curation.steps.options import BOOL, STRINGS, Option

# --- regular expressions ---------------------------------------------------------------------------------------

MAX_PATTERNS = 50
MAX_PATTERN_LENGTH = 500
# Character classes and escapes, which may hold "(", "+" or "*" as plain characters.
_CLASS_OR_ESCAPE = re.compile(r"\[\^?\]?(?:[^\]\\]|\\.)*\]|\\.")
# Possessive quantifiers (a++, a*+, a{2,}+) cannot backtrack: they are set aside first.
_POSSESSIVE = re.compile(r"(?:[*+?]|\{\d*,?\d*\})\+")
# A group without groups inside (not atomic), and the quantifier after it.
_INNER_GROUP = re.compile(r"\((?!\?>)([^()]*)\)([*+]|\{\d*,\d*\})?")
_UNBOUNDED = re.compile(r"[*+]|\{\d*,\}")


def _nested_quantifier(pattern: str) -> bool:
    """Whether ``pattern`` repeats a group that itself repeats without bound (``(a+)+``, ``(\\w*\\s?)*``), the
    usual shape of catastrophic backtracking. A guard, not a proof: possessive quantifiers (``a++``) and atomic
    groups (``(?>…)``), which cannot backtrack, are allowed."""
    flat = _POSSESSIVE.sub("", _CLASS_OR_ESCAPE.sub("x", pattern))
    while True:
        match = _INNER_GROUP.search(flat)
        if match is None:
            return False
        body, quantifier = match.groups()
        if quantifier and _UNBOUNDED.search(body):
            return True
        # a group that repeats without bound stays a quantified atom for the group around it
        flat = flat[: match.start()] + ("x+" if _UNBOUNDED.search(body) else "x") + flat[match.end() :]


def _check_patterns(options: dict[str, Any], prefix: str) -> dict[str, Any]:
    patterns = options["value"]
    if len(patterns) > MAX_PATTERNS:
        raise StepOptionError(f"{prefix}value", f"has {len(patterns)} patterns; at most {MAX_PATTERNS} are allowed")
    for i, pattern in enumerate(patterns):
        name = f"{prefix}value[{i}]"
        if len(pattern) > MAX_PATTERN_LENGTH:
            raise StepOptionError(name, f"is longer than {MAX_PATTERN_LENGTH} characters")
        try:
            re.compile(pattern)
        except re.error as error:
            raise StepOptionError(name, f"is not a valid regular expression: {error}") from None
        if _nested_quantifier(pattern):
            raise StepOptionError(
                name,
                "repeats a group that itself repeats (such as (a+)+), which can take forever on some texts; "
                "rewrite it, or make the inner repeat possessive (a++) or the group atomic ((?>…))",
            )
    return options


def _compile_patterns(options: dict[str, Any]) -> dict[str, Any]:
    flags = re.IGNORECASE if options["ignore_case"] else 0
    return {**options, "compiled": [re.compile(pattern, flags) for pattern in options["value"]]}


def _regex_deny(text: str, record: Record, options: dict[str, Any]) -> dict[str, Any] | None:
    for pattern in options["compiled"]:
        match = pattern.search(text)
        if match:
            return {"pattern": pattern.pattern, "match": clip(match[0], 80)}
    return None


def _regex_allow(text: str, record: Record, options: dict[str, Any]) -> dict[str, Any] | None:
    if any(pattern.search(text) for pattern in options["compiled"]):
        return None
    return {"matched": 0, "patterns": len(options["compiled"])}


def _regex_rule(name: str, description: str) -> RuleSpec:
    return RuleSpec(
        name,
        RECORD,
        description,
        (
            FIELD_OPTION,
            Option(
                "value",
                STRINGS,
                f"regular expressions (Python syntax; at most {MAX_PATTERNS}, each at most {MAX_PATTERN_LENGTH} "
                "characters), searched anywhere in the text",
                required=True,
            ),
            Option("ignore_case", BOOL, "match regardless of case", default=False),
        ),
        check=_regex_deny if name == "regex_deny" else _regex_allow,
        check_options=_check_patterns,
        prepare=_compile_patterns,
    )


# --- keywords --------------------------------------------------------------------------------------------------


def _check_keywords(options: dict[str, Any], prefix: str) -> dict[str, Any]:
    for i, keyword in enumerate(options["value"]):
        if not normalized_words(keyword):
            raise StepOptionError(f"{prefix}value[{i}]", "has no letters or digits to match")
    return options


def _index_keywords(options: dict[str, Any]) -> dict[str, Any]:
    """Keywords by their normalised words: a text is then looked up word by word, whatever the number of
    keywords, and only where a keyword could start."""
    phrases: dict[tuple[str, ...], str] = {}
    for keyword in options["value"]:
        phrases.setdefault(tuple(normalized_words(keyword)), keyword)
    lengths: dict[str, set[int]] = {}
    for words in phrases:
        lengths.setdefault(words[0], set()).add(len(words))
    return {**options, "phrases": phrases, "lengths": {first: sorted(n) for first, n in lengths.items()}}


def _first_keyword(text: str, options: dict[str, Any]) -> str | None:
    words = normalized_words(text)
    lengths: dict[str, list[int]] = options["lengths"]
    if lengths.keys().isdisjoint(words):
        return None
    phrases: dict[tuple[str, ...], str] = options["phrases"]
    for start, word in enumerate(words):
        for length in lengths.get(word, ()):
            keyword = phrases.get(tuple(words[start : start + length]))
            if keyword is not None:
                return keyword
    return None


def _keyword_deny(text: str, record: Record, options: dict[str, Any]) -> dict[str, Any] | None:
    keyword = _first_keyword(text, options)
    return None if keyword is None else {"keyword": keyword}


def _keyword_allow(text: str, record: Record, options: dict[str, Any]) -> dict[str, Any] | None:
    return None if _first_keyword(text, options) is not None else {"matched": 0, "keywords": len(options["phrases"])}


def _keyword_rule(name: str, description: str) -> RuleSpec:
    return RuleSpec(
        name,
        RECORD,
        description,
        (
            FIELD_OPTION,
            Option(
                "value",
                STRINGS,
                "words or phrases, matched as whole words regardless of case and punctuation ('e-mail' matches "
                "'E-Mail' and 'e mail')",
                required=True,
            ),
        ),
        check=_keyword_deny if name == "keyword_deny" else _keyword_allow,
        check_options=_check_keywords,
        prepare=_index_keywords,
    )


RULES = (
    _regex_rule("regex_deny", "Drops a record whose text matches any of the regular expressions."),
    _regex_rule("regex_allow", "Drops a record whose text matches none of the regular expressions."),
    _keyword_rule("keyword_deny", "Drops a record whose text holds any of the keywords."),
    _keyword_rule("keyword_allow", "Drops a record whose text holds none of the keywords."),
)
