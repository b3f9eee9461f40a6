"""A pipeline's steps in words: what the version page, the job page and the versions list say each step did.

Steps are read as the runner stores them (normalised, defaults filled in), but anything missing is tolerated: a
summary must never fail a page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from curation.steps import filters

# What each option of the builder is called on the page, with one line of help.
CLEAN_RULES: dict[str, tuple[str, str]] = {
    "fix_unicode": ("Fix broken Unicode", "Repair mojibake (“cafÃ©” → “café”) with ftfy; curly quotes are kept."),
    "strip_special_tokens": (
        "Strip special tokens",
        "Remove stray chat-template and tokenizer tokens such as <|im_start|>, [INST] or <s>.",
    ),
    "strip_html": ("Strip HTML", "Keep the text of HTML, without its tags."),
    "strip_markdown": ("Strip Markdown", "Keep the text of Markdown, without its markup; code is kept."),
    "normalize_whitespace": (
        "Normalise whitespace",
        "Unify line breaks and spaces, drop trailing blanks and runs of blank lines.",
    ),
}
PII_ENTITIES: dict[str, str] = {
    "email": "E-mail addresses",
    "phone": "Phone numbers",
    "ip_address": "Public IP addresses",
    "credit_card": "Payment card numbers",
    "iban": "IBANs",
}
DEDUP_METHODS: dict[str, str] = {
    "exact": "Exact duplicates (same text once case and spacing are normalised)",
    "minhash": "Near-duplicates (MinHash, verified with exact Jaccard similarity)",
    "semantic": "Semantic duplicates (sentence embeddings; needs the optional extra)",
}
KEEP: dict[str, str] = {
    "first": "the earliest",
    "longest": "the longest",
    "best": "the best rated",
}


def clean_rule_label(name: str) -> str:
    return CLEAN_RULES.get(name, (name.replace("_", " ").capitalize(), ""))[0]


def step_name(step: Mapping[str, Any]) -> str:
    """The short name of a step, as the runner's stages name it: ``dedup minhash``, ``filter``."""
    op = str(step.get("op", "?"))
    return f"dedup {step.get('method', '?')}" if op == "dedup" else op


def pipeline_name(steps: list[Mapping[str, Any]]) -> str:
    """A pipeline in one line: ``clean → filter → dedup exact``; an empty one freezes its input."""
    return " → ".join(step_name(step) for step in steps) if steps else "no steps (a frozen copy of its input)"


def _fields(step: Mapping[str, Any]) -> str:
    fields = step.get("fields")
    return ", ".join(fields) if fields else "all text"


def step_summary(step: Mapping[str, Any], *, version_label: Callable[[int], str] | None = None) -> str:
    """A step in one sentence. ``version_label`` names the version a decontaminate step compares against."""
    op = step.get("op")
    if op == "clean":
        rules = [clean_rule_label(rule) for rule in step.get("rules") or []]
        return "Clean: " + (", ".join(rule[0].lower() + rule[1:] for rule in rules) or "no rules") + "."
    if op == "dedup":
        return _dedup_summary(step)
    if op == "filter":
        rules = [rule_summary(rule) for rule in step.get("rules") or [] if isinstance(rule, Mapping)]
        return "Filter: drop records failing " + ("; ".join(rules) or "no rules") + "."
    if op == "pii":
        entities = ", ".join(PII_ENTITIES.get(name, name).lower() for name in step.get("entities") or PII_ENTITIES)
        if step.get("action") == "drop":
            return f"PII: drop records holding {entities}."
        return f"PII: redact {entities} with placeholders."
    if op == "decontaminate":
        against = step.get("against")
        label = version_label(against) if version_label and isinstance(against, int) else f"version {against}"
        return (
            f"Decontaminate: drop records sharing a {step.get('ngram', 13)}-word sequence with {label} "
            f"(comparing {_fields(step)})."
        )
    return f"{op}: {step!r}"


def _dedup_summary(step: Mapping[str, Any]) -> str:
    method = step.get("method")
    keep = KEEP.get(str(step.get("keep", "first")), str(step.get("keep")))
    if step.get("keep") == "best":
        keep += f" by “{step.get('question')}”"
    if method == "exact":
        what = "Drop exact duplicates"
    elif method == "minhash":
        preset = f", {step['preset']} preset" if step.get("preset") else ""
        what = (
            f"Drop near-duplicates: Jaccard similarity ≥ {step.get('threshold')} on {step.get('ngram')}-word "
            f"shingles, {step.get('num_perm')} permutations{preset}"
        )
    else:
        what = f"Drop semantic duplicates: cosine similarity ≥ {step.get('threshold')}"
    return f"{what} (comparing {_fields(step)}), keeping {keep} of each group."


def rule_summary(rule: Mapping[str, Any]) -> str:
    """A filter rule with the options that differ from the catalog's defaults: ``min_words (response, 3)``."""
    name = str(rule.get("name", "?"))
    spec = filters.RULES_BY_NAME.get(name)
    defaults = {option.name: option.default for option in spec.options} if spec else {}
    shown = []
    for key, value in rule.items():
        if key == "name" or value is None:
            continue
        default = defaults.get(key)
        if isinstance(default, tuple):
            default = list(default)
        if key in defaults and value == default:
            continue
        shown.append(_option_text(key, value))
    return f"{name} ({', '.join(shown)})" if shown else name


def _option_text(key: str, value: Any) -> str:
    if isinstance(value, list):
        value = ", ".join(str(item) for item in value)
    if key == "field":
        return f"on {value}"
    if key == "value":
        return str(value)
    return f"{key} {value}"


def changes_content(step: Mapping[str, Any]) -> bool:
    """Whether the step rewrites the content it keeps (cleaning, redaction)."""
    return step.get("op") == "clean" or (step.get("op") == "pii" and step.get("action") == "redact")
