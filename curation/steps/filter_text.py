"""Filter rules that read the text of one field: emptiness, length, character ratios and language; and a response
that only repeats its prompt."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

from curation.steps.base import Record
from curation.steps.filter_spec import FIELD_OPTION, RECORD, RecordCheck, RuleSpec, ratio
from curation.steps.ngrams import normalized_words
from curation.steps.options import CHOICES, INT, NUMBER, Option
from curation.steps.records import fields_of

# --- emptiness and length --------------------------------------------------------------------------------------


def _empty(text: str, record: Record, options: dict[str, Any]) -> dict[str, Any] | None:
    return None if text.strip() else {"value": len(text)}


def _word_count(text: str) -> int:
    return len(text.split())


def _at_least(measure: Callable[[str], int], unit: str) -> RecordCheck:
    def check(text: str, record: Record, options: dict[str, Any]) -> dict[str, Any] | None:
        value = measure(text)
        return None if value >= options["value"] else {"value": value, "threshold": options["value"], "unit": unit}

    return check


def _at_most(measure: Callable[[str], int], unit: str) -> RecordCheck:
    def check(text: str, record: Record, options: dict[str, Any]) -> dict[str, Any] | None:
        value = measure(text)
        return None if value <= options["value"] else {"value": value, "threshold": options["value"], "unit": unit}

    return check


def _count_option(help: str) -> Option:
    return Option("value", INT, help, required=True, minimum=0)


# --- a response repeating its prompt ---------------------------------------------------------------------------

_SHINGLE = 5  # words per n-gram compared


def _responses(record: Record) -> list[tuple[str, str]]:
    """The responses a record gives to its prompt, by field: the response (instruction, chat), the chosen one
    (preference: a rejected response may well be a bad one), or each candidate."""
    content = record["content"]
    if "responses" in content:
        return [("responses", r) for r in content["responses"] if isinstance(r, str)]
    fields = fields_of(content)
    name = "chosen" if "chosen" in fields else "response"
    return [(name, fields[name])] if name in fields else []


def _shingles(words: list[str]) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + _SHINGLE]) for i in range(len(words) - _SHINGLE + 1)}


def _repeats_prompt(text: str, record: Record, options: dict[str, Any]) -> dict[str, Any] | None:
    prompt = normalized_words(fields_of(record["content"]).get("prompt", ""))
    if not prompt:
        return None
    prompt_shingles = _shingles(prompt)
    for field, response in _responses(record):
        words = normalized_words(response)
        if words == prompt:
            return {"field": field, "value": 1.0, "threshold": options["value"], "equal": True}
        if prompt_shingles and words:
            contained = len(prompt_shingles & _shingles(words)) / len(prompt_shingles)
            if contained >= options["value"]:
                return {"field": field, "value": ratio(contained), "threshold": options["value"], "equal": False}
    return None


# --- character ratios ------------------------------------------------------------------------------------------

_LETTERS_DIGITS_OR_SPACE = re.compile(r"[^\W_]+|\s+")
_NOT_A_DIGIT = re.compile(r"\D+")
_URL = re.compile(r"\b(?:https?|ftp)://\S+|\bwww\.[^\s/]+\.\S+", re.I)


def _non_alnum(text: str) -> int:
    """Characters that are neither letters, digits nor whitespace (punctuation, symbols, underscores)."""
    return len(_LETTERS_DIGITS_OR_SPACE.sub("", text))


def _digits(text: str) -> int:
    return len(_NOT_A_DIGIT.sub("", text))


def _url_chars(text: str) -> int:
    return sum(len(url) for url in _URL.findall(text)) if "://" in text or "www." in text else 0


def _whitespace(text: str) -> int:
    return len(text) - sum(map(len, text.split()))


_COUNTS = {
    "non_alnum_ratio": _non_alnum,
    "digit_ratio": _digits,
    "url_ratio": _url_chars,
    "whitespace_ratio": _whitespace,
}


def _ratio_check(count: Callable[[str], int]) -> RecordCheck:
    def check(text: str, record: Record, options: dict[str, Any]) -> dict[str, Any] | None:
        if not text:
            return None
        value = count(text) / len(text)
        return None if value <= options["value"] else {"value": ratio(value), "threshold": options["value"]}

    return check


def _ratio_rule(name: str, what: str, default: float) -> RuleSpec:
    return RuleSpec(
        name,
        RECORD,
        f"Drops a record when {what} make up more than a given share of its characters.",
        (
            FIELD_OPTION,
            Option("value", NUMBER, f"the largest share of {what} kept (0–1)", default=default, minimum=0, maximum=1),
        ),
        check=_ratio_check(_COUNTS[name]),
    )


# --- language --------------------------------------------------------------------------------------------------

# The languages py3langid 0.4's model knows: ISO 639-1 codes where there is one (en, fr, zh), ISO 639-3 otherwise
# (yue, arz), and zxx for text with no language. Checked against the model in the tests.
_LANGUAGE_CODES = (
    "ace af am an ar ary arz as az ba bcl be bg bn br bs ca crh cs cy da de dz el en eo es et eu ext fa fi fo fr "
    "fuv fy ga gcf gcr gd gl gom grc gu gug guw ha hbo he hi hr ht hu hy id ig is it ja jv ka kab kik kk km kn ko "
    "ku ky la lb lg lij ln lo lt ltg lv mg mk ml mn mr ms mt my ne nl nn no nso oc om or pa pcm pl ps pt qu ro ru "
    "rw sa sdh se si sk sl sn so sq sr st sv sw ta te tg th tk tl tr tt ug uk ur uz uzs vec vi vo wa wuu xh yo yue "
    "zh zu zxx"
)
LANGUAGES = tuple(_LANGUAGE_CODES.split())
# The characters the language is told from: plenty for the detector, and it costs time in proportion to them.
_LANGUAGE_SAMPLE = 2_000


@cache
def language_identifier() -> Any:
    """py3langid's identifier with normalised probabilities, loaded once per process (about 2 s)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier  # type: ignore[import-untyped]

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str) -> tuple[str | None, float]:
    """The language of ``text`` and its probability; ``(None, 0.0)`` for blank text."""
    if not text.strip():
        return None, 0.0
    language, probability = language_identifier().classify(text[:_LANGUAGE_SAMPLE])
    return str(language), float(probability)


def _language(text: str, record: Record, options: dict[str, Any]) -> dict[str, Any] | None:
    language, probability = detect_language(text)
    if language in options["value"] and probability >= options["threshold"]:
        return None
    return {
        "language": language,
        "probability": ratio(probability),
        "keep": options["value"],
        "threshold": options["threshold"],
    }


# --- the rules -------------------------------------------------------------------------------------------------

RULES = (
    RuleSpec("empty", RECORD, "Drops a record whose text is empty or only whitespace.", (FIELD_OPTION,), check=_empty),
    RuleSpec(
        "min_words",
        RECORD,
        "Drops a record with fewer words (split on whitespace) than a minimum.",
        (FIELD_OPTION, _count_option("the fewest words kept")),
        check=_at_least(_word_count, "words"),
    ),
    RuleSpec(
        "max_words",
        RECORD,
        "Drops a record with more words (split on whitespace) than a maximum.",
        (FIELD_OPTION, _count_option("the most words kept")),
        check=_at_most(_word_count, "words"),
    ),
    RuleSpec(
        "min_chars",
        RECORD,
        "Drops a record with fewer characters than a minimum.",
        (FIELD_OPTION, _count_option("the fewest characters kept")),
        check=_at_least(len, "chars"),
    ),
    RuleSpec(
        "max_chars",
        RECORD,
        "Drops a record with more characters than a maximum.",
        (FIELD_OPTION, _count_option("the most characters kept")),
        check=_at_most(len, "chars"),
    ),
    RuleSpec(
        "response_repeats_prompt",
        RECORD,
        "Drops a record whose response (the chosen one of a preference, any candidate) only repeats its prompt: "
        "equal once normalised, or holding most of the prompt's word 5-grams.",
        (
            Option(
                "value",
                NUMBER,
                "the share of the prompt's distinct word 5-grams found in the response from which it is dropped",
                default=0.8,
                minimum=0.01,
                maximum=1,
            ),
        ),
        check=_repeats_prompt,
        reads_text=False,
    ),
    _ratio_rule("non_alnum_ratio", "characters other than letters, digits and whitespace", 0.3),
    _ratio_rule("digit_ratio", "digits", 0.3),
    _ratio_rule("url_ratio", "URLs (http://, https://, ftp://, www.)", 0.3),
    _ratio_rule("whitespace_ratio", "whitespace characters", 0.5),
    RuleSpec(
        "language",
        RECORD,
        "Keeps a record only if its text is in one of the given languages, detected by py3langid with at least "
        "the given probability.",
        (
            FIELD_OPTION,
            Option(
                "value", CHOICES, "the languages kept (ISO 639-1 codes: en, fr, zh …)", required=True, choices=LANGUAGES
            ),
            Option(
                "threshold",
                NUMBER,
                "the lowest probability of the detected language kept (0–1)",
                default=0.5,
                minimum=0,
                maximum=1,
            ),
        ),
        check=_language,
    ),
)
