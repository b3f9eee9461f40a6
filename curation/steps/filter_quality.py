"""The quality heuristics of the large pretraining corpora, as filter rules:

* ``gopher_quality`` and ``gopher_repetition`` — Rae et al. 2021, "Scaling Language Models: Methods, Analysis &
  Insights from Training Gopher", appendix A.1.1 and table A1, with the paper's thresholds as defaults;
* ``c4_boilerplate`` — Raffel et al. 2020 (C4), the rules that remove web page boilerplate.

They were written for web documents of hundreds of words: on short finetuning responses most of them fail by
design (fewer than 50 words), so point them at a long field or lower the thresholds.

Words are split on whitespace, as in the paper; a "symbol word" has no letter or digit.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import numpy as np

from curation.steps.base import Record
from curation.steps.filter_spec import FIELD_OPTION, RECORD, RuleSpec, clip, ratio
from curation.steps.ngrams import normalized_words
from curation.steps.options import BOOL, INT, NUMBER, NUMBERS, Option

# --- gopher_quality --------------------------------------------------------------------------------------------

STOP_WORDS = frozenset({"the", "be", "to", "of", "and", "that", "have", "with"})
BULLETS = ("•", "●", "◦", "‣", "⁃", "-", "*")
# A word of punctuation and symbols only (the character class first lets the engine skip ahead in C).
_SYMBOL_WORD = re.compile(r"[^\w\s](?<![^\s][^\w\s])[^\w\s]*(?!\S)")
_NO_LETTER_WORD = re.compile(r"(?<!\S)(?:(?![^\W\d_])\S)+(?!\S)")  # a word without a letter ("42", "--")


def _gopher_quality(text: str, record: Record, options: dict[str, Any]) -> dict[str, Any] | None:
    words = text.split()
    symbol_words = _SYMBOL_WORD.findall(text)
    n_words = len(words) - len(symbol_words)
    if not options["min_words"] <= n_words <= options["max_words"]:
        return _failed("words", n_words, [options["min_words"], options["max_words"]])
    if not n_words:
        return None  # nothing to measure, and no minimum asked for
    mean_length = (sum(map(len, words)) - sum(map(len, symbol_words))) / n_words
    if not options["min_mean_word_length"] <= mean_length <= options["max_mean_word_length"]:
        return _failed(
            "mean_word_length", mean_length, [options["min_mean_word_length"], options["max_mean_word_length"]]
        )
    for symbol, count in (("#", text.count("#")), ("…", text.count("...") + text.count("…"))):
        if count / n_words > options["max_symbol_word_ratio"]:
            return _failed(f"symbol_word_ratio {symbol}", count / n_words, options["max_symbol_word_ratio"])
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    bullets = sum(line.startswith(BULLETS) for line in lines) / len(lines)
    if bullets > options["max_bullet_lines"]:
        return _failed("bullet_lines", bullets, options["max_bullet_lines"])
    ellipses = sum(line.endswith(("...", "…")) for line in lines) / len(lines)
    if ellipses > options["max_ellipsis_lines"]:
        return _failed("ellipsis_lines", ellipses, options["max_ellipsis_lines"])
    alphabetic = 1 - len(_NO_LETTER_WORD.findall(text)) / len(words)
    if alphabetic < options["min_alpha_words"]:
        return _failed("alpha_words", alphabetic, options["min_alpha_words"])
    stop_words = len(STOP_WORDS.intersection(normalized_words(text)))
    if stop_words < options["min_stop_words"]:
        return _failed("stop_words", stop_words, options["min_stop_words"])
    return None


def _failed(check: str, value: float, threshold: Any) -> dict[str, Any]:
    return {"check": check, "value": value if isinstance(value, int) else ratio(value), "threshold": threshold}


GOPHER_QUALITY = RuleSpec(
    "gopher_quality",
    RECORD,
    "Gopher's quality rules (Rae et al. 2021): word count, mean word length, # and ellipsis per word, bullet and "
    "ellipsis lines, words with a letter, English stop words. The detail names the first rule failed.",
    (
        FIELD_OPTION,
        Option("min_words", INT, "the fewest words (not counting symbol words)", default=50, minimum=0),
        Option("max_words", INT, "the most words (not counting symbol words)", default=100_000, minimum=1),
        Option("min_mean_word_length", NUMBER, "the shortest mean word length, in characters", default=3, minimum=0),
        Option("max_mean_word_length", NUMBER, "the longest mean word length, in characters", default=10, minimum=0),
        Option(
            "max_symbol_word_ratio",
            NUMBER,
            "the most '#' symbols, and separately the most ellipses ('...' or '…'), per word",
            default=0.1,
            minimum=0,
        ),
        Option(
            "max_bullet_lines",
            NUMBER,
            "the largest share of non-blank lines starting with a bullet (" + " ".join(BULLETS) + ")",
            default=0.9,
            minimum=0,
            maximum=1,
        ),
        Option(
            "max_ellipsis_lines",
            NUMBER,
            "the largest share of non-blank lines ending with an ellipsis",
            default=0.3,
            minimum=0,
            maximum=1,
        ),
        Option(
            "min_alpha_words",
            NUMBER,
            "the smallest share of words holding at least one letter",
            default=0.8,
            minimum=0,
            maximum=1,
        ),
        Option(
            "min_stop_words",
            INT,
            "how many of the words " + ", ".join(sorted(STOP_WORDS)) + " must appear at least once each",
            default=2,
            minimum=0,
            maximum=len(STOP_WORDS),
        ),
    ),
    check=_gopher_quality,
)

# --- gopher_repetition -----------------------------------------------------------------------------------------

_PARAGRAPH_BREAK = re.compile(r"\n{2,}")
_LINE_BREAKS = re.compile(r"\n+")
TOP_NGRAM_SIZES = (2, 3, 4)
_BASE = np.uint64(0x9E3779B97F4A7C15)
DUPLICATE_NGRAM_SIZES = (5, 6, 7, 8, 9, 10)


def _duplicates(pieces: list[str]) -> tuple[int, int]:
    """How many of ``pieces`` repeat an earlier one, and their characters."""
    seen: set[str] = set()
    count = chars = 0
    for piece in pieces:
        if piece in seen:
            count += 1
            chars += len(piece)
        else:
            seen.add(piece)
    return count, chars


def _gopher_repetition(text: str, record: Record, options: dict[str, Any]) -> dict[str, Any] | None:
    if not text.strip():
        return None
    for unit, pieces in (("paragraph", _PARAGRAPH_BREAK.split(text.strip())), ("line", _LINE_BREAKS.split(text))):
        count, chars = _duplicates(pieces)
        if count / len(pieces) > options[f"max_duplicate_{unit}s"]:
            return _failed(f"duplicate_{unit}s", count / len(pieces), options[f"max_duplicate_{unit}s"])
        if chars / len(text) > options[f"max_duplicate_{unit}_chars"]:
            return _failed(f"duplicate_{unit}_chars", chars / len(text), options[f"max_duplicate_{unit}_chars"])
    words = text.split()
    thresholds = dict(zip(TOP_NGRAM_SIZES, options["max_top_ngram_chars"], strict=True))
    thresholds |= dict(zip(DUPLICATE_NGRAM_SIZES, options["max_duplicate_ngram_chars"], strict=True))
    for n, share in _ngram_shares(words):
        if share > thresholds[n]:
            kind = "top" if n in TOP_NGRAM_SIZES else "duplicate"
            return _failed(f"{kind}_{n}gram_chars", share, thresholds[n])
    return None


def _ngram_shares(words: list[str]) -> Iterator[tuple[int, float]]:
    """For n = 2 to 10, in order, the share of the words' characters that n-grams repeat: for n ≤ 4, those of the
    most frequent n-gram times its count if it occurs more than once (a text of a few words is not repetitive for
    its only n-gram being its most frequent); for n ≥ 5, those of every word covered by an n-gram occurring more
    than once. Stops at the first n with no repeated n-gram: no longer one can repeat either.

    Each n-gram's hashes come from the (n-1)-gram's in one step; words are hashed with Python's ``hash``, which
    only has to agree with itself within this call."""
    if len(words) < 2:
        return
    ids = np.fromiter(map(hash, words), dtype=np.int64, count=len(words)).view(np.uint64)
    lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    chars_before = np.zeros(len(words) + 1, dtype=np.int64)
    np.cumsum(lengths, out=chars_before[1:])
    total = int(chars_before[-1])
    hashes = ids
    for n in range(2, DUPLICATE_NGRAM_SIZES[-1] + 1):
        hashes = hashes[:-1] * _BASE + ids[n - 1 :]  # wraps modulo 2^64
        if len(hashes) < 2:
            return
        order = np.argsort(hashes, kind="stable")  # equal hashes keep their order: a run starts at its first
        ordered = hashes[order]
        repeats = ordered[1:] == ordered[:-1]
        if not repeats.any():
            return
        if n in TOP_NGRAM_SIZES:
            run_starts = np.flatnonzero(np.concatenate(([True], ~repeats)))
            run_lengths = np.diff(np.append(run_starts, len(ordered)))
            top = int(np.argmax(run_lengths))
            first = int(order[run_starts[top]])
            yield n, (chars_before[first + n] - chars_before[first]) * int(run_lengths[top]) / total
            continue
        repeated_in_order = np.zeros(len(ordered), dtype=bool)
        repeated_in_order[1:] |= repeats
        repeated_in_order[:-1] |= repeats
        repeated = np.empty(len(ordered), dtype=np.int64)
        repeated[order] = repeated_in_order
        # each repeated n-gram covers its n words: +1 where it starts, -1 after it ends, summed along
        cover = np.zeros(len(words) + 1, dtype=np.int64)
        cover[: len(hashes)] += repeated
        cover[n : n + len(hashes)] -= repeated
        yield n, int(lengths[np.cumsum(cover[:-1]) > 0].sum()) / total


def _fraction(name: str, help: str, default: float) -> Option:
    return Option(name, NUMBER, help, default=default, minimum=0, maximum=1)


GOPHER_REPETITION = RuleSpec(
    "gopher_repetition",
    RECORD,
    "Gopher's repetition rules (Rae et al. 2021): duplicate lines and paragraphs, the most frequent 2–4-grams, "
    "and text covered by repeated 5–10-grams. The detail names the first rule failed.",
    (
        FIELD_OPTION,
        _fraction("max_duplicate_lines", "the largest share of lines repeating an earlier line", 0.3),
        _fraction("max_duplicate_paragraphs", "the largest share of paragraphs repeating an earlier one", 0.3),
        _fraction("max_duplicate_line_chars", "the largest share of characters in repeated lines", 0.2),
        _fraction("max_duplicate_paragraph_chars", "the largest share of characters in repeated paragraphs", 0.2),
        Option(
            "max_top_ngram_chars",
            NUMBERS,
            "for 2-, 3- and 4-grams: the largest share of word characters in the most frequent n-gram (if repeated)",
            default=(0.20, 0.18, 0.16),
            minimum=0,
            maximum=1,
            length=len(TOP_NGRAM_SIZES),
        ),
        Option(
            "max_duplicate_ngram_chars",
            NUMBERS,
            "for 5- to 10-grams: the largest share of word characters covered by n-grams that occur more than once",
            default=(0.15, 0.14, 0.13, 0.12, 0.11, 0.10),
            minimum=0,
            maximum=1,
            length=len(DUPLICATE_NGRAM_SIZES),
        ),
    ),
    check=_gopher_repetition,
)

# --- c4_boilerplate --------------------------------------------------------------------------------------------

_LINE_WITH = r"^[^\n]*{}[^\n]*"
_JAVASCRIPT_NOTICE = re.compile(
    _LINE_WITH.format(
        r"(?:\b(?:enable|enabling|activate|turn\s+on|switch\s+on)\s+(?:your\s+)?javascript\b"
        r"|\bjavascript\s+(?:is\s+|must\s+be\s+|needs\s+to\s+be\s+|should\s+be\s+)?"
        r"(?:enabled|disabled|required|turned\s+off|switched\s+off|not\s+enabled|not\s+available)\b"
        r"|\brequires?\s+javascript\b"
        r"|\b(?:does\s+not|doesn't|don't|do\s+not)\s+(?:support|have)\s+javascript\b)"
    ),
    re.I | re.M,
)
# C4's list (the TFDS implementation), matched on lowercased text.
POLICY_PHRASES = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies")


def _line_at(text: str, position: int) -> str:
    start = text.rfind("\n", 0, position) + 1
    end = text.find("\n", position)
    return text[start : end if end != -1 else len(text)].strip()


def _c4_boilerplate(text: str, record: Record, options: dict[str, Any]) -> dict[str, Any] | None:
    lowered = text.lower()
    if options["lorem_ipsum"] and "lorem ipsum" in lowered:
        return {"check": "lorem_ipsum", "line": clip(_line_at(text, lowered.index("lorem ipsum")))}
    if options["javascript"] and "javascript" in lowered:
        notice = _JAVASCRIPT_NOTICE.search(text)
        if notice:
            return {"check": "javascript", "line": clip(notice[0].strip())}
    if options["policy"]:
        for phrase in POLICY_PHRASES:
            at = lowered.find(phrase)
            if at != -1:
                return {"check": "policy", "phrase": phrase, "line": clip(_line_at(text, at))}
    if options["curly_braces"] and "{" in text:
        return {"check": "curly_braces", "line": clip(_line_at(text, text.index("{")))}
    return None


C4_BOILERPLATE = RuleSpec(
    "c4_boilerplate",
    RECORD,
    "C4's boilerplate rules (Raffel et al. 2020): placeholder text, 'JavaScript must be enabled' notices, "
    "cookie, privacy and terms-of-use notices, and optionally any curly brace.",
    (
        FIELD_OPTION,
        Option("lorem_ipsum", BOOL, "drop text holding 'lorem ipsum'", default=True),
        Option("javascript", BOOL, "drop text with a line asking to enable JavaScript", default=True),
        Option("policy", BOOL, "drop text mentioning " + ", ".join(f"'{p}'" for p in POLICY_PHRASES), default=True),
        Option(
            "curly_braces",
            BOOL,
            "drop text holding '{' (C4 did, to remove code; off by default, finetuning data is often code)",
            default=False,
        ),
    ),
    check=_c4_boilerplate,
)

RULES = (GOPHER_QUALITY, GOPHER_REPETITION, C4_BOILERPLATE)
