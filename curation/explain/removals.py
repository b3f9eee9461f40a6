"""Why an example was removed, in words: the facts of a Removal's detail as a page lists them.

Every step writes its own detail (``curation/steps``): dedup names the example kept (``duplicate_of``) and the
similarity; decontaminate the evaluation example and the shared n-gram; a filter rule the field it read, the value
it measured and its threshold, or what it matched. Known keys get a label and a readable value; anything else is
listed as it is, so a new rule's detail still shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DUPLICATE_RULES = ("dedup.exact", "dedup.minhash", "dedup.semantic")

_LABELS = {
    "field": "Field",
    "value": "Measured",
    "threshold": "Threshold",
    "check": "Failed check",
    "language": "Detected language",
    "probability": "Probability",
    "keep": "Languages kept",
    "pattern": "Pattern",
    "match": "Matched text",
    "keyword": "Keyword",
    "keywords": "Keywords looked for",
    "patterns": "Patterns looked for",
    "key": "Metadata key",
    "reason": "Reason",
    "test": "Test",
    "equals": "Kept value",
    "from": "From",
    "to": "To",
    "question": "Question",
    "label": "Label",
    "op": "Comparison",
    "agreement": "Agreement",
    "entities": "PII found",
    "prompt_group_size": "Records with this prompt",
    "distinct_responses": "Distinct responses",
    "response_group_size": "Records with this response",
    "distinct_prompts": "Distinct prompts",
    "kept": "Example kept",
    "line": "Line",
    "phrase": "Phrase",
    "equal": "Identical to the prompt",
    "similarity": "Similarity",
    "duplicate_of": "Duplicate of",
    "via": "Through",
    "via_similarity": "Similarity to it",
    "eval_example": "Evaluation example",
    "ngram": "Shared words",
    "overlap": "Shared n-grams",
}
_SKIPPED = {"unit", "matched"}  # folded into another fact


def rule_label(rule: str) -> str:
    """A rule as the pages name it: ``filter.min_words`` → ``min_words (filter)``, ``dedup.exact`` → ``exact
    duplicate``."""
    return {
        "dedup.exact": "exact duplicate",
        "dedup.minhash": "near-duplicate (MinHash)",
        "dedup.semantic": "semantic duplicate",
        "decontaminate": "overlaps the evaluation set",
        "pii": "holds PII",
    }.get(rule, rule.removeprefix("filter.") + " (filter)" if rule.startswith("filter.") else rule)


def detail_facts(rule: str, detail: Mapping[str, Any], names: Mapping[int, str] | None = None) -> list[tuple[str, str]]:
    """The detail as (label, value) pairs, in the order the step wrote them; ``names`` gives the external ids of
    the examples a detail refers to by id."""
    facts = []
    for key, value in detail.items():
        if key in _SKIPPED:
            continue
        facts.append((_LABELS.get(key, key.replace("_", " ").capitalize()), _value(key, value, detail, names or {})))
    if "matched" in detail and "pattern" not in detail and "keyword" not in detail:
        facts.append(("Matched", "none of them"))
    return facts


def _value(key: str, value: Any, detail: Mapping[str, Any], names: Mapping[int, str]) -> str:
    if key == "field":
        return "all text of the example" if value in (None, "all") else str(value)
    if key in ("value", "threshold") and detail.get("unit"):
        unit = str(detail["unit"])
        return f"{_number(value)} {unit.removesuffix('s') if value == 1 else unit}"
    if key == "entities" and isinstance(value, Mapping):
        return ", ".join(f"{name} × {count}" for name, count in value.items())
    if key in ("duplicate_of", "via", "eval_example", "kept"):
        if value is None:
            return "none"
        return f"{names[value]} (#{value})" if value in names else f"example #{value}"
    if key in ("equal",):
        return "yes" if value else "no (it repeats most of it)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_number(item) for item in value)
    return _number(value)


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def detail_sentence(rule: str, detail: Mapping[str, Any]) -> str:
    """The detail in one sentence, for a list of removals (the dry run)."""
    return "; ".join(f"{label}: {value}" for label, value in detail_facts(rule, detail)) or rule_label(rule)
