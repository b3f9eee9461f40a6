"""What the inspection statistics measure in one piece of text: its length in tokens (an estimate), the artefacts
left in it (special tokens, HTML, Markdown), its language, and for a prompt its opening words and its verb–object
pair. Pure functions, no Django.

**Tokens** are estimated, not counted with a model's vocabulary: tiktoken downloads its encodings on first use, and
Winnow runs offline. The estimate counts the pieces a GPT-style pre-tokenizer splits text into (the split that
comes before byte-pair merging in GPT-2/GPT-4 tokenizers), written with Python's ``re``: a word with its leading
space, a run of up to 3 digits, a run of punctuation, a run of whitespace; a run of letters longer than 8 counts as
one piece per 8 letters started (long and rare words are several tokens), and each Chinese, Japanese or Korean
character counts as one. It is meant for comparing fields and versions, not for budgeting a context window to
the token: a real tokenizer splits rare words, code and other scripts into more pieces.

**The verb–object pair** of a prompt is a heuristic in the spirit of Self-Instruct's diversity check, without a
parser (no model can be downloaded): the first word of the prompt's first 20 words that is in ``VERBS`` (common
instruction verbs: write, explain, list …), and the first word after it, within 6 words, that is not a
determiner, pronoun, number word or filler in ``SKIPPED`` (``Write me a short poem about cats`` → write · poem).
A second verb before the object takes the first one's place (``show me how to write a story``: write · story); a
preposition, conjunction or question word where the object should be means the verb was a noun (``the name of``),
and the search goes on after it.
"""

from __future__ import annotations

import re
from typing import Any

from curation.steps.clean import SPECIAL_TOKEN
from curation.steps.filter_text import detect_language
from curation.steps.markup import HTML_TAG, without_code
from curation.steps.records import fields_of

# --- tokens ----------------------------------------------------------------------------------------------------

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_PIECE = re.compile(
    r"'(?:[sdmt]|ll|ve|re)(?![^\W\d_])"  # English contractions
    rf"|[{_CJK}]"  # one piece per CJK, kana or hangul character
    rf"| ?[^\W\d_{_CJK}]{{1,8}}"  # a word with its leading space, every 8 letters
    r"| ?\d{1,3}"  # numbers in groups of up to 3 digits
    r"| ?(?:[^\s\w]|_)+[\r\n]*"  # punctuation and symbols
    r"|\s*[\r\n]+|\s+(?!\S)|\s+",  # whitespace
    re.I,
)
TOKENS = {
    "method": "pre-tokenizer pieces",
    "note": (
        "An estimate: the pieces a GPT-style pre-tokenizer splits the text into (words with their leading space, "
        "up to 3 digits, punctuation runs, whitespace runs; letter runs count one piece per 8 letters, each CJK "
        "character one). No model vocabulary is used (tiktoken needs a download); real tokenizers split rare "
        "words, code and other scripts into more pieces. Use it to compare fields and versions."
    ),
}


def token_estimate(text: str) -> int:
    """The estimated number of tokens of ``text`` (see the module's docstring)."""
    return len(_PIECE.findall(text)) if text else 0


def word_count(text: str) -> int:
    """Words split on whitespace, as the filters count them."""
    return len(text.split())


# --- artefacts -------------------------------------------------------------------------------------------------

# Each kind: a quick test that the text may hold one (a character it needs), and the pattern of one occurrence.
# Markdown is looked for in prose only (code blanked out: a "#" comment is not a heading).
_ARTEFACTS: dict[str, tuple[str, re.Pattern[str], bool]] = {
    "special_tokens": ("<[", SPECIAL_TOKEN, False),
    "html_tags": ("<", HTML_TAG, False),
    "html_entities": ("&", re.compile(r"&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});"), False),
    "markdown_headings": ("#", re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+\S", re.M), True),
    "markdown_bold": (
        "*_",
        re.compile(
            r"(?<![\w*])\*\*(?=[^\s*])[^*\n]+?(?<=[^\s*])\*\*(?![\w*])|(?<![\w_])__(?=[^\s_])[^_\n]*\s[^_\n]*?(?<=[^\s_])__(?![\w_])"
        ),
        True,
    ),
    "markdown_links": ("]", re.compile(r"!?\[[^\]\n]+\]\([^)\s]+\)"), True),
}
ARTEFACT_KINDS = tuple(_ARTEFACTS)
ARTEFACT_LABELS = {
    "special_tokens": "special tokens (<|im_start|>, [INST], </s> …)",
    "html_tags": "HTML tags",
    "html_entities": "HTML entities (&nbsp;, &#39; …)",
    "markdown_headings": "Markdown headings (###)",
    "markdown_bold": "Markdown bold (**…**)",
    "markdown_links": "Markdown links ([…](…))",
}


def artefacts(text: str) -> dict[str, int]:
    """How many of each kind of artefact ``text`` holds (kinds with none are left out)."""
    found: dict[str, int] = {}
    prose: str | None = None
    for kind, (needs, pattern, in_prose) in _ARTEFACTS.items():
        if not any(character in text for character in needs):
            continue
        if in_prose:
            prose = without_code(text) if prose is None else prose
        count = len(pattern.findall(prose if in_prose and prose is not None else text))
        if count:
            found[kind] = count
    return found


# --- language --------------------------------------------------------------------------------------------------

# The characters the language is told from: the detector's time grows with them, and a few sentences suffice.
LANGUAGE_CHARS = 300
LANGUAGE = {
    "method": "py3langid",
    "note": f"py3langid (the model in the package) on the first {LANGUAGE_CHARS} characters of all text of the "
    "example; (none) for an example without text.",
}
NO_LANGUAGE = "(none)"


def language(text: str) -> str:
    return detect_language(text[:LANGUAGE_CHARS])[0] or NO_LANGUAGE


# --- prompts ---------------------------------------------------------------------------------------------------


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
_PROMPT_WORDS = 20
_OBJECT_WINDOW = 6
VERBS = _word_set(
    """
    add analyse analyze answer argue arrange assess brainstorm build calculate categorise categorize check choose
    classify code compare compile complete compose compute condense construct continue convert correct count create
    critique debug decide define derive describe design detect determine develop devise discuss draft draw edit
    elaborate enumerate estimate evaluate examine expand explain express extract find finish fix format formulate
    generate give guess identify illustrate imagine implement improve infer insert interpret invent justify list
    make merge modify name optimise optimize organise organize outline paraphrase pick plan predict prepare produce
    program proofread propose prove provide rank rate recommend refactor reformulate remove rephrase replace
    research resolve restate review revise rewrite say select shorten show simplify sketch solve sort specify split
    suggest summarise summarize tell transform translate update use verify write
    """
)
SKIPPED = _word_set(
    """
    a an the this that these those some any each every all both either my your our his her their its me us him
    them you it i one two three four five six seven eight nine ten few several many more most another other
    following given new short brief simple quick detailed good great nice small big long little full complete
    please just also then now again briefly carefully
    """
)
# Words that cannot be an object: the verb was most likely a noun ("the name of", "a list with").
_NOT_OBJECTS = _word_set(
    """
    of to in on for with by about from at as into onto over under between through and or but if so than is are was
    were be been being do does did not no can could would should will shall may might must what which who whom
    whose when where why how there here
    """
)


def prompt_text(content: dict[str, Any]) -> str:
    """The text a prompt opens with: a chat's first user turn, else the prompt, else the text."""
    messages = content.get("messages")
    if isinstance(messages, list):
        for message in messages:
            if isinstance(message, dict) and message.get("role") == "user" and isinstance(message.get("content"), str):
                return str(message["content"])
        return ""
    fields = fields_of(content)
    return fields.get("prompt") or fields.get("text") or ""


def opening_words(text: str, count: int = _PROMPT_WORDS) -> list[str]:
    """The first ``count`` words of ``text``, lower-cased, letters only (numbers and punctuation skipped)."""
    words: list[str] = []
    for match in _WORD.finditer(text[: count * 20]):
        words.append(match[0].lower().replace("’", "'"))
        if len(words) == count:
            break
    return words


def verb_object(words: list[str]) -> tuple[str, str] | None:
    """The verb–object pair of a prompt's opening words (see the module's docstring), or None."""
    verb = None
    seen_since_verb = 0
    for word in words:
        if verb is None:
            if word in VERBS:
                verb = word
            continue
        seen_since_verb += 1
        if seen_since_verb > _OBJECT_WINDOW:
            return None
        if word in SKIPPED:
            continue
        if word in VERBS:
            verb, seen_since_verb = word, 0
            continue
        if word in _NOT_OBJECTS:
            verb = None
            continue
        return verb, word
    return None
